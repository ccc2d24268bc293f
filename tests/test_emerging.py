"""Emerging hot spots (issue 14, acceptance 4): every ArcGIS pattern planted in a
synthetic space-time cube comes back, and the Mann-Kendall test is right."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from layers.analysis.emerging import (
    NO_PATTERN,
    PATTERNS,
    EmergingConfig,
    classify,
    cube_months,
    emerging_hot_spots,
    mann_kendall,
)
from layers.analysis.grid import Grid, pack
from layers.analysis.place_text import PATTERN_WORDS
from layers.core.periods import Period

MONTHS = 20
#: the known background: a checkerboard of 9 and 11 incidents per cell and month
BACKGROUND = (9, 11)
HOT, COLD, OFF = 30, 0, 10


def _schedule() -> dict[str, list[float]]:
    """The count of each planted block per month (20 months, oldest first)."""
    t = np.arange(MONTHS)

    def on(level: float, months: list[int] | range, off: float = OFF) -> list[float]:
        return [level if m in set(months) else off for m in t]

    plan = {
        "new_hot": on(HOT, [19]),
        "consecutive_hot": on(HOT, range(16, 20)),
        # the rising and the falling block mirror each other, so the month's mean
        # and spread stay symmetric in time and the steady blocks show no trend
        "intensifying_hot": list(20.0 + t),
        "diminishing_hot": list(39.0 - t),
        "persistent_hot": on(HOT, range(MONTHS)),
        "sporadic_hot": on(HOT, [3, 8, 12, 19]),
        "oscillating_hot": [COLD if m in (5, 6) else HOT if m in (10, 19) else OFF
                            for m in t],
        "historical_hot": on(HOT, range(19)),
        "new_cold": on(COLD, [19]),
        "consecutive_cold": on(COLD, range(16, 20)),
        "intensifying_cold": list(5.0 - t // 4),
        "diminishing_cold": list(1.0 + t // 4),
        "persistent_cold": on(COLD, range(MONTHS)),
        "sporadic_cold": on(COLD, [3, 8, 12, 19]),
        "oscillating_cold": [HOT if m in (5, 6) else COLD if m in (10, 19) else OFF
                             for m in t],
        "historical_cold": on(COLD, range(19)),
    }
    # ballast blocks switch on when fewer planted blocks are hot (cold) that month, so
    # every month holds as many hot and as many cold blocks: Gi* compares each month
    # with its own mean and spread, which then do not drift with the schedule
    for level in (HOT, COLD):
        per_month = np.array([sum(v[m] == level for v in plan.values()) for m in t])
        deficit = per_month.max() - per_month
        for i in range(int(deficit.max())):
            plan[f"ballast_{level}_{i}"] = [level if deficit[m] > i else OFF for m in t]
    return plan


def _cube() -> tuple[Grid, np.ndarray, np.ndarray, dict[str, int]]:
    """A 60 × 60 lattice of 100 m cells: each block 3 × 3 cells, 4 cells apart, on the
    checkerboard background. Returns grid, keys, counts and the centre cell of each
    planted block (its row in ``keys``)."""
    grid = Grid(100.0)
    side = 60
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    keys = pack(ii.ravel(), jj.ravel())
    order = np.argsort(keys)
    keys, ii, jj = keys[order], ii.ravel()[order], jj.ravel()[order]
    counts = np.where((ii + jj) % 2 == 0, BACKGROUND[0], BACKGROUND[1])[:, None] \
        * np.ones((1, MONTHS))
    centres = {}
    for n, (name, series) in enumerate(_schedule().items()):
        ci, cj = 4 + (n % 8) * 7, 4 + (n // 8) * 7
        block = (np.abs(ii - ci) <= 1) & (np.abs(jj - cj) <= 1)
        counts[block] = np.asarray(series, dtype=float)
        centres[name] = int(np.flatnonzero((ii == ci) & (jj == cj))[0])
    return grid, keys, counts, centres


def _months() -> list[Period]:
    return cube_months(Period.month(2025, 8), MONTHS, None)


def test_every_planted_pattern_comes_back():
    """Acceptance 4: the classification gets each planted category back, the far
    background has no pattern, and every pattern of ArcGIS's table is planted."""
    grid, keys, counts, centres = _cube()
    result = emerging_hot_spots(grid, keys, counts, _months())
    assert result.complete and len(result.months) == MONTHS
    planted = {name: cell for name, cell in centres.items() if not name.startswith("ballast")}
    assert set(planted) == {p.code for p in PATTERNS}
    found = {name: result.codes[cell] for name, cell in planted.items()}
    assert found == {name: name for name in planted}
    # the background far from every block (the columns right of them) has none
    far = np.flatnonzero(np.isin(keys, pack(np.repeat(np.arange(60), 20),
                                            np.tile(np.arange(40, 60), 60))))
    assert len(far) == 1200 and set(result.codes[far]) == {NO_PATTERN.code}


def test_the_pattern_of_a_place_is_what_most_of_its_cells_show():
    grid, keys, counts, centres = _cube()
    result = emerging_hot_spots(grid, keys, counts, _months())
    centre = keys[centres["intensifying_hot"]]
    i, j = (centre >> 26) - (1 << 24), (centre & ((1 << 26) - 1)) - (1 << 24)
    block = pack(np.repeat(np.arange(i - 1, i + 2), 3), np.tile(np.arange(j - 1, j + 2), 3))
    assert result.code_of(block) == "intensifying_hot"
    assert result.code_of(keys[-5:]) == NO_PATTERN.code


def test_too_few_months_give_no_pattern_and_say_why():
    grid, keys, counts, _ = _cube()
    result = emerging_hot_spots(grid, keys, counts[:, -9:], _months()[-9:])
    assert not result.complete and set(result.codes) == {NO_PATTERN.code}
    assert "minst 10" in result.message and result.code_of(keys[:3]) is None


def test_the_layer_holds_patterns_and_no_counts():
    grid, keys, counts, _ = _cube()
    collection = emerging_hot_spots(grid, keys, counts, _months()).to_geojson()
    codes = [f["properties"]["pattern"] for f in collection["features"]]
    assert set(codes) == {p.code for p in PATTERNS} and len(codes) == len(set(codes))
    for feature in collection["features"]:
        assert set(feature["properties"]) == {"pattern", "label", "phrase", "colour", "cells"}
    meta = collection["metadata"]
    assert meta["months"] == MONTHS and meta["from"] == "2024-01" and meta["to"] == "2025-08"
    # the whole cube's trend: the total per month is the same every month
    assert meta["overall_trend"]["significant"] is False


def test_rules_on_single_series():
    """The rules one by one on hand-made bins (z sign and significance per month)."""
    def code(hot: str, trend: float = 0.0) -> str:
        z = np.array([[3.0 if c == "H" else -3.0 if c == "C" else 0.0 for c in hot]])
        q = np.where(z != 0, 0.001, 0.9)
        s = np.array([trend])
        mk = mann_kendall(np.zeros((1, len(hot))))
        mk = type(mk)(s, mk.variance, mk.z, np.array([0.001 if trend else 0.9]), mk.tau)
        return str(classify(z, q, mk)[0])

    assert code("..........H") == "new_hot"
    assert code("........HHH") == "consecutive_hot"
    assert code("..H.....HHH") == "sporadic_hot"       # hot before the final run
    assert code("..C.....HHH") == "oscillating_hot"    # cold before: oscillating wins
    assert code(".HHHHHHHHHH") == "persistent_hot"     # 10 of 11 ≥ 90 %
    assert code(".HHHHHHHHHH", 1) == "intensifying_hot"
    assert code(".HHHHHHHHHH", -1) == "diminishing_hot"
    assert code("..HHHHHHHHH") == "consecutive_hot"    # 9 of 11 < 90 %
    assert code("HHHHHHHHHH.") == "historical_hot"
    assert code("HHHHHHHHHHC") == "oscillating_cold"   # the final bin decides
    assert code("..........C") == "new_cold"
    assert code("CCCCCCCCCC.") == "historical_cold"
    assert code(".CCCCCCCCCC", -1) == "intensifying_cold"
    assert code(".CCCCCCCCCC", 1) == "diminishing_cold"
    assert code("H.........C") == "oscillating_cold"
    assert code("H.H.H.H.H..") == NO_PATTERN.code      # not hot now, < 90 % before


def _brute_mann_kendall(x: np.ndarray) -> tuple[float, float]:
    n = len(x)
    s = sum(np.sign(x[j] - x[i]) for i, j in itertools.combinations(range(n), 2))
    _, ties = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties)) / 18
    return float(s), float(var)


def test_mann_kendall_against_the_definition_and_scipy():
    rng = np.random.default_rng(7)
    series = np.vstack([rng.integers(0, 4, 15), rng.normal(size=15), np.arange(15.0),
                        np.full(15, 2.0), np.arange(15.0)[::-1] + rng.normal(0, 3, 15)])
    mk = mann_kendall(series)
    for row, x in enumerate(series):
        s, var = _brute_mann_kendall(x)
        assert mk.s[row] == s and mk.variance[row] == pytest.approx(var)
        if var > 0:
            z = (s - np.sign(s)) / np.sqrt(var)
            assert mk.z[row] == pytest.approx(z)
            assert mk.p[row] == pytest.approx(2 * stats.norm.sf(abs(z)))
    # without ties Kendall's tau against time is S over the number of pairs
    tau = stats.kendalltau(np.arange(15), series[1]).statistic
    assert mk.tau[1] == pytest.approx(tau)
    assert mk.s[3] == 0 and mk.p[3] == 1.0
    assert mk.p[2] < 1e-5 and mk.s[2] == 105


def test_cube_months_stop_where_the_data_begin():
    months = cube_months(Period.tertial(2024, 2), 24, Period.month(2024, 1).start)
    assert [m.code for m in months] == [f"2024-{m:02d}" for m in range(1, 9)]
    assert len(cube_months(Period.tertial(2025, 3), 24, None)) == 24
    assert EmergingConfig().min_periods == 10


def test_priority_places_say_their_pattern_in_plain_swedish(demo_app):
    """Each priority place's reasons name its pattern as a phrase ("ihållande hot
    spot", …); the API gives the code and label; the layer and the ranking share one
    computation per data version."""
    from layers.analysis import emerging
    from layers.analysis.priority import priority_for_store
    from mapapp.store_ import get_store

    with demo_app.app_context():
        store = get_store()
        result = priority_for_store(store, period="2025-T3")
        cube = emerging.emerging_for_store(store, period=Period.tertial(2025, 3))
        assert emerging.emerging_for_store(store, period=Period.tertial(2025, 3)) is cube
        assert result.places
        for place in result.places:
            assert place.trend_class == cube.code_of(place.cells)
            pattern = emerging.BY_CODE[place.trend_class]
            # plain words first (layers/analysis/place_text.py), the pattern's name under Statistik
            words = PATTERN_WORDS[place.trend_class]
            assert f"de senaste 24 månaderna: {words}" in " ".join(place.plain)
            assert "över 24 månader" in place.statistics
            assert place.statistics.endswith(f": {pattern.label}.") or \
                f": {pattern.label}. " in place.statistics
        assert {p.trend_class for p in result.places} - {"none"}
        # eight months: no pattern and no phrase
        early = priority_for_store(store, period="2024-T2")
        assert all(p.trend_class is None and "månader:" not in p.text for p in early.places)
    answer = demo_app.test_client().get("/api/priority?period=2025-T3").get_json()
    first = answer["places"][0]
    assert first["trend_class"] == result.places[0].trend_class
    assert first["trend_label"] == emerging.BY_CODE[first["trend_class"]].label


def test_the_cube_counts_no_sensitive_category(demo_app, monkeypatch):
    """Privacy: the cube counts the categories counted_categories gives for "all"
    (never sexualbrott or våld i nära relation), for every role."""
    import layers.analysis.aggregate
    from layers.analysis.aggregate import Points
    from layers.analysis.emerging import _read_cube

    xs = np.array([150.0, 150.0, 250.0])
    points = {"sexualbrott": Points(xs, xs, np.array(["sexualbrott"] * 3, dtype=object),
                                    np.ones(3, bool)),
              "stold": Points(xs, xs, np.array(["stold", "sexualbrott", "stold"],
                                               dtype=object), np.ones(3, bool))}
    which = iter(["sexualbrott", "stold"])
    monkeypatch.setattr(layers.analysis.aggregate, "read_points",
                        lambda store, query: points[next(which)])
    from layers.core.privacy import counted_categories

    grid = Grid(100.0)
    keys = np.sort(grid.keys_of(np.array([150.0, 250.0]), np.array([150.0, 250.0])))
    counts = _read_cube(None, grid, keys, [Period.month(2025, 1), Period.month(2025, 2)],
                        counted_categories(None, None).codes)
    assert counts.tolist() == [[0.0, 1.0], [0.0, 1.0]]
