"""Priority places: cells, Gi* against esda, FDR, merging, names, scores and explanations.

Acceptance (issue #6):

* a hand-built fixture with a known cluster in a known cell ranks that place first,
  with every part of its score; shuffling the input does not change the ranking; an
  empty period gives an empty list with a Swedish message, not an error;
* our Gi* equals ``esda.G_Local(star=True)`` to 1e-6 (and BH q-values equal scipy's).
"""

from __future__ import annotations

import json
import tomllib
import warnings

import numpy as np
import pandas as pd
import pytest
import shapely

from layers.analysis.grid import NICE_SIZES, Grid, auto_cell_size, pack, unpack
from layers.analysis.hotspots import fdr_bh, gi_star
from layers.analysis.priority import (
    CONFIG_FILE,
    Observations,
    PriorityConfig,
    combine,
    load_config,
    merge_places,
    place_names_in,
    rank_places,
    study_area,
)
from layers.core.periods import Period
from layers.core.schema import INCIDENT_CATEGORIES, STORE_EPSG

# --- cells ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_every_point_lies_in_the_cell_its_key_names(shape):
    grid = Grid(100, shape)
    rng = np.random.default_rng(1)
    x = rng.uniform(150_000, 160_000, 2000)
    y = rng.uniform(6_570_000, 6_580_000, 2000)
    keys = grid.keys_of(x, y)
    polygons = grid.polygons(keys)
    assert shapely.covers(polygons, shapely.points(x, y)).all()
    assert np.allclose(shapely.area(polygons), grid.cell_area)
    i, j = unpack(keys)
    assert np.array_equal(pack(i, j), keys)


@pytest.mark.parametrize(("shape", "neighbours"), [("square", 8), ("hex", 6)])
def test_neighbours_are_the_cells_that_touch(shape, neighbours):
    grid = Grid(50, shape)
    keys = grid.covering(shapely.box(0, 0, 1000, 1000))
    adjacency = grid.adjacency(keys)
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    assert degree.max() == neighbours
    polys = grid.polygons(keys)
    rows, cols = adjacency.nonzero()
    # every neighbour pair shares at least a corner, and nothing else does
    assert shapely.intersects(polys[rows], polys[cols]).all()
    star = grid.adjacency(keys, self_weight=True)
    assert (star.diagonal() == 1).all()


def test_auto_cell_size_follows_density():
    assert auto_cell_size(29_000, 188e6) == 150      # the demo city: ~160 m
    assert auto_cell_size(8_600, 3.7e6) == 50        # City of London: ~41 m -> at least 50
    assert auto_cell_size(1_000, 188e6) in NICE_SIZES
    assert auto_cell_size(1_000, 188e6) > auto_cell_size(100_000, 188e6)


# --- Gi* and FDR (acceptance 3) -------------------------------------------------------------


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_gi_star_equals_esda(shape):
    """Our sparse Gi* against esda.G_Local(star=True) on irregular cells (holes, edges)."""
    import esda
    import geopandas as gpd
    import libpysal

    grid = Grid(100, shape)
    area = shapely.box(0, 0, 1500, 1200).difference(shapely.box(400, 300, 700, 600))
    keys = grid.covering(area)
    rng = np.random.default_rng(7)
    y = rng.poisson(1.5, len(keys)).astype(float) * rng.choice([0.5, 1, 2], len(keys))
    y[len(keys) // 3] += 25
    ours = gi_star(y, grid.adjacency(keys, self_weight=True))
    frame = gpd.GeoDataFrame(geometry=grid.polygons(keys))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = libpysal.weights.Queen.from_dataframe(frame, use_index=False) \
            if shape == "square" else libpysal.weights.Rook.from_dataframe(frame,
                                                                            use_index=False)
        theirs = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    assert np.max(np.abs(ours.z - theirs.Zs)) < 1e-6
    assert np.max(np.abs(ours.g - theirs.Gs)) < 1e-6
    assert np.max(np.abs(ours.p - 2 * theirs.p_norm)) < 1e-6


def test_gi_star_with_permutations_uses_esdas_test():
    grid = Grid(100)
    keys = grid.covering(shapely.box(0, 0, 1000, 1000))
    y = np.zeros(len(keys))
    y[40] = 30
    result = gi_star(y, grid.adjacency(keys, self_weight=True), permutations=99, seed=1)
    assert result.p[40] <= 0.02
    assert result.z[40] > 3


def test_gi_star_of_constant_values_is_zero():
    grid = Grid(100)
    keys = grid.covering(shapely.box(0, 0, 500, 500))
    result = gi_star(np.full(len(keys), 3.0), grid.adjacency(keys, self_weight=True))
    assert (result.z == 0).all() and (result.p == 1).all()


def test_benjamini_hochberg_matches_the_definition():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    q = fdr_bh(p)
    # q_(i) = min_{j>=i} p_(j) * n / j
    n = len(p)
    expected = np.minimum.accumulate((p * n / np.arange(1, n + 1))[::-1])[::-1]
    assert np.allclose(q, np.minimum(expected, 1))
    assert (q <= 0.05).sum() == 2
    assert len(fdr_bh(np.array([]))) == 0


# --- configuration -------------------------------------------------------------------------


def test_config_file_documents_every_category_weight():
    with open(CONFIG_FILE, "rb") as fh:
        data = tomllib.load(fh)
    assert set(data["incident_weights"]) == {c.code for c in INCIDENT_CATEGORIES}
    for c in INCIDENT_CATEGORIES:
        assert data["incident_weights"][c.code] == c.weight, c.code


def test_weights_by_code_name_or_alias_and_unknown_weigh_one(tmp_path):
    config = load_config()
    assert list(config.weights_of(["ran", "rån", "Personrån", "Theft", None, "klotter"])) == \
        [3.0, 3.0, 3.0, 1.0, 1.0, 0.5]
    override = tmp_path / "w.toml"
    override.write_text('[incident_weights]\nklotter = 2.0\n[score]\nfindings_bonus = 0\n',
                        encoding="utf-8")
    changed = load_config(override)
    assert changed.weights_of(["klotter"])[0] == 2.0
    assert changed.findings_bonus == 0 and changed.weights_of(["ran"])[0] == 3.0


def test_score_parts_add_up():
    config = PriorityConfig(significance_bonus=0.1, findings_bonus=0.2, findings_full=10,
                            trend_bonus=0.1, site_bonus=-0.05)
    parts = combine(np.array([100.0, 50.0]), np.array([1.0, 0.0]), np.array([20.0, 5.0]),
                    np.array([0.4, 3.0]), np.array([0.0, 1.0]), config)
    assert np.allclose(parts.significance, [10.0, 0.0])
    assert np.allclose(parts.findings, [20.0, 5.0])          # capped at full, then half
    assert np.allclose(parts.trend, [4.0, 5.0])              # rise capped at +100 %
    assert np.allclose(parts.site, [0.0, -2.5])
    assert np.allclose(parts.score, parts.base + parts.significance + parts.findings
                       + parts.trend + parts.site)


# --- places and names ----------------------------------------------------------------------


def test_merge_places_splits_separate_clusters_and_far_cells():
    grid = Grid(100)
    keys = grid.covering(shapely.box(0, 0, 2000, 300))
    cx, _ = grid.centres(keys)
    z = np.exp(-((cx - 350) / 150) ** 2) * 5 + np.exp(-((cx - 1550) / 150) ** 2) * 4
    significant = z > 1
    labels = merge_places(grid, keys, z, significant, np.zeros(len(keys), bool))
    peaks = set(labels[significant])
    assert len(peaks) == 2
    radius = merge_places(grid, keys, z, significant, np.zeros(len(keys), bool),
                          max_radius=100)
    assert len(set(radius[significant])) > 2


def test_place_names_in_texts():
    assert place_names_in("Klotter på fasaden vid Tensta centrum") == ["Tensta centrum"]
    assert place_names_in("Igenvuxen häck längs Tensta allé skapar gömställen") == \
        ["Tensta allé"]
    assert place_names_in("Belysningen på Farstagången fungerar inte") == ["Farstagången"]
    assert place_names_in("Butiksstöld i Gamla stan") == []
    assert place_names_in("Tensta centrum och gångvägarna mot Hjulsta", leading=True) == \
        ["Tensta centrum", "Hjulsta"]


# --- the hand-built fixture (acceptance 2) ---------------------------------------------------

#: A known 150 m cell in Tensta (EPSG:3011), far from every demo hot spot.
CLUSTER_X, CLUSTER_Y = 144_225.0, 6_586_575.0
PERIOD = Period.tertial(2025, 2)


def _fixture(seed: int = 3) -> Observations:
    """40 incidents in one known cell, 600 scattered over the city, a site elsewhere."""
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    city = study_area(None).land
    minx, miny, maxx, maxy = city.bounds
    bx = rng.uniform(minx, maxx, 4000)
    by = rng.uniform(miny, maxy, 4000)
    on_land = shapely.contains_xy(city, bx, by)
    bx, by = bx[on_land][:600], by[on_land][:600]
    cx = CLUSTER_X + rng.uniform(-60, 60, 40)
    cy = CLUSTER_Y + rng.uniform(-60, 60, 40)
    x = np.concatenate([cx, bx])
    y = np.concatenate([cy, by])
    category = np.array(["ran"] * 10 + ["stold"] * 30 + ["klotter"] * len(bx), dtype=object)
    findings = gpd.GeoDataFrame(
        {"severity": [3, 3, 2], "category": ["belysning", "belysning", "klotter"],
         "description": ["Trasig belysning vid Testtorget", "Mörkt vid Testtorget",
                         "Klotter på Testtorget"],
         "walk_id": [None, None, None], "status": ["ny", "ny", "tilldelad"]},
        geometry=shapely.points([CLUSTER_X, CLUSTER_X + 10, CLUSTER_X - 10],
                                [CLUSTER_Y, CLUSTER_Y + 10, CLUSTER_Y - 10]), crs=STORE_EPSG)
    return Observations(x, y, category, previous_x=cx[:20], previous_y=cy[:20],
                        findings=findings)


def test_known_cluster_ranks_first_with_its_parts():
    config = load_config()
    result = rank_places(_fixture(), PERIOD, config=config, cell_size=150)
    first = result.places[0]
    cell = Grid(150).keys_of(np.array([CLUSTER_X]), np.array([CLUSTER_Y]))[0]
    assert cell in first.cells
    assert first.name == "Testtorget" and first.name_source == "finding"
    assert first.incidents >= 40 and first.significant and first.z_max > 5
    assert first.open_findings == 3 and first.severe_findings == 2
    assert first.severe_categories == ["belysning"]
    assert first.previous == 20 and first.rise == pytest.approx(first.incidents / 20 - 1)
    parts = first.parts
    assert set(parts) == {"weighted_incidents", "significance", "findings", "trend", "site"}
    assert first.score == pytest.approx(sum(parts.values()))
    assert parts["weighted_incidents"] >= 10 * 3.0 + 30 * 1.0
    assert parts["significance"] > 0 and parts["findings"] > 0 and parts["trend"] > 0
    assert first.text.startswith("Nr 1, Testtorget: ")
    # plain words first (layers/analysis/place_text.py), the statistics after "Statistik:"
    assert first.first_sentence == "42 händelser under tertial 2 2025 (maj–augusti), " \
        "främst stöld (30)."
    plain, _, statistics = first.text.partition(" Statistik: ")
    for words in ("110 % fler händelser än samma tertial förra året",
                  "gånger så många händelser per ytenhet som i stadsdelsområdet",
                  "3 öppna fynd från trygghetsvandringar här (belysning och klotter), "
                  "varav 2 allvarliga", "Ingen platssamverkan här ännu"):
        assert words in plain
    assert "Gi*" not in plain and "FDR" not in plain
    for words in ("Gi*): z = ", "signifikant efter FDR"):
        assert words in statistics
    assert statistics == first.statistics
    assert first.stadsdel_name == "Tensta" and first.sdo_name == "Järva"
    # JSON is plain data
    json.dumps(result.to_dict())
    json.dumps(result.to_geojson())


def test_shuffled_input_gives_the_same_ranking():
    obs = _fixture()
    one = rank_places(obs, PERIOD, cell_size=150)
    order = np.random.default_rng(99).permutation(len(obs.x))
    shuffled = Observations(obs.x[order], obs.y[order], obs.category[order],
                            obs.previous_x[::-1], obs.previous_y[::-1],
                            obs.findings.iloc[::-1])
    two = rank_places(shuffled, PERIOD, cell_size=150)
    assert [(p.name, round(p.score, 9)) for p in one.places] == \
        [(p.name, round(p.score, 9)) for p in two.places]


def test_district_ranking_only_lists_its_own_places():
    result = rank_places(_fixture(), PERIOD, sdn="jarva", cell_size=150)
    assert result.area_name == "Järva"
    assert result.places[0].name == "Testtorget"
    assert {p.sdo_code for p in result.places} == {"jarva"}


def test_empty_period_gives_an_empty_list_and_a_swedish_message():
    empty = Observations(np.array([]), np.array([]), np.array([], dtype=object))
    result = rank_places(empty, Period.year(2019), cell_size=150)
    assert result.places == []
    assert result.message.startswith("Inga händelser med känd plats")
    assert "2019" in result.message
    assert result.to_dict()["places"] == []


def test_sensitive_categories_are_only_counted():
    obs = _fixture()
    obs.category[:5] = "sexualbrott"
    result = rank_places(obs, PERIOD, cell_size=150)
    data = result.to_dict()["places"][0]
    assert "sexualbrott" not in data["categories"]
    assert data["sensitive_incidents"] == 5
    obs.category[:5] = np.array(["sexualbrott"] * 2 + ["ran"] * 3, dtype=object)
    data = rank_places(obs, PERIOD, cell_size=150).to_dict()["places"][0]
    assert data["sensitive_incidents"] == "<5"


# --- on the demo store ----------------------------------------------------------------------


@pytest.mark.both_stores
def test_demo_ranking_from_the_store(demo_location):
    from layers.analysis.priority import priority_for_store
    from layers.store import open_store

    store = open_store(demo_location)
    try:
        result = priority_for_store(store, sdn="Järva", period="2025-T3")
    finally:
        store.close()
    assert result.period.code == "2025-T3" and result.cell_size in NICE_SIZES
    names = [p.name for p in result.places]
    assert len(names) == len(set(names)) >= 3
    assert {"Kista torg", "Tensta centrum", "Rinkeby torg"} <= set(names)
    scores = [p.score for p in result.places]
    assert scores == sorted(scores, reverse=True)
    assert all(p.text.startswith(f"Nr {p.rank}, {p.name}: ") for p in result.places)
    assert result.previous_known


def test_open_findings_at_the_end_of_the_period():
    from layers.analysis.priority.from_store import _open_at

    frame = pd.DataFrame({
        "found_at": pd.to_datetime(["2025-01-10", "2025-01-10", "2025-01-10", "2025-06-01"],
                                   utc=True),
        "status": ["ny", "atgardad", "atgardad", "ny"],
        "fixed_at": pd.to_datetime([None, "2025-03-01", "2025-08-01", None], utc=True),
    })
    end = pd.Timestamp("2025-05-01", tz="UTC")
    open_then = _open_at(frame, end)
    assert list(open_then.index) == [0, 2]
