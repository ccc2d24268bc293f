"""The backtest: reading any dated point file, hit rate, PAI, and the method against baselines.

Acceptance (issue #6): on the demo data and on real data (City of London, data.police.uk)
with rolling splits of 12 months of training and the next tertial as test,
``trygghetskartan backtest`` gives ``priority`` a PAI at 5 % of the area at least as
high as ``prior_counts`` and at least 1.15 × ``kde``, on every split, in the same run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from layers.analysis.backtest import (
    METHODS,
    BacktestError,
    hit_rate,
    metric_crs,
    parse_span,
    read_points,
    run_backtest,
    wall_times,
)
from mapapp.cli import cli

LONDON = Path(__file__).parent / "data" / "city_of_london.csv"
#: 12 months of training, the next tertial as test.
SPLITS = (("2024-01..2024-12", "2025-T1"), ("2024-05..2025-04", "2025-T2"),
          ("2024-09..2025-08", "2025-T3"))


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory) -> Path:
    """The demo incidents as a CSV file (as ``trygghetskartan export`` writes it)."""
    from geodata.demo import generate_demo
    from layers.io.exporters import frame_to_csv_text

    incidents = generate_demo().incidents
    path = tmp_path_factory.mktemp("demo-csv") / "demo_incidents.csv"
    path.write_text(frame_to_csv_text(incidents), encoding="utf-8")
    return path


def _backtest_json(path: Path, train: str, test: str, *extra: str) -> dict:
    result = CliRunner().invoke(cli, ["backtest", str(path), "--train", train, "--test", test,
                                      "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _pai(data: dict, method: str, share: float = 0.05) -> float:
    [row] = [r for r in data["results"] if r["method"] == method and r["area_share"] == share]
    return row["pai"]


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["demo", "london"])
def test_priority_keeps_up_with_prior_counts_and_beats_kde(dataset, demo_csv):
    """Acceptance 1: every split, in the same run of the backtest."""
    path = demo_csv if dataset == "demo" else LONDON
    for train, test in SPLITS:
        data = _backtest_json(path, train, test)
        priority, prior, kde = (_pai(data, m) for m in ("priority", "prior_counts", "kde"))
        assert priority >= prior, (dataset, train, test, priority, prior)
        assert priority >= 1.15 * kde, (dataset, train, test, priority, kde)
        assert _pai(data, "random") == pytest.approx(1.0, abs=0.2)


def test_json_output_is_exactly_the_contract():
    data = _backtest_json(LONDON, *SPLITS[0])
    assert list(data) == ["cell_size_m", "n_cells", "n_train", "n_test", "results"]
    assert data["cell_size_m"] == 50.0                     # ~41 m from density, at least 50
    assert data["n_train"] == 9028 and data["n_test"] == 2613
    assert len(data["results"]) == 4 * 4
    assert {r["method"] for r in data["results"]} == set(METHODS)
    assert sorted({r["area_share"] for r in data["results"]}) == [0.01, 0.025, 0.05, 0.1]
    for row in data["results"]:
        assert list(row) == ["method", "area_share", "hit_rate", "pai"]
        assert 0 <= row["hit_rate"] <= 1


def test_table_output_and_cell_size_option():
    result = CliRunner().invoke(cli, ["backtest", str(LONDON), "--train", "2024",
                                      "--test", "2025-T1", "--cell-size", "100"])
    assert result.exit_code == 0, result.output
    assert "Rutor om 100 m" in result.output
    assert "EPSG:32630" in result.output                   # UTM zone 30N for London
    for method in METHODS:
        assert method in result.output


def test_default_periods_are_the_last_tertial_and_the_year_before():
    result = CliRunner().invoke(cli, ["backtest", str(LONDON), "--format", "table"])
    assert result.exit_code == 0, result.output
    assert "Träning 2024-09-01..2025-08-31" in result.output
    assert "test 2025-T3" in result.output


def test_bad_input_exit_codes(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(cli, ["backtest", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1 and "finns inte" in missing.output
    empty = runner.invoke(cli, ["backtest", str(LONDON), "--train", "2020", "--test", "2021"])
    assert empty.exit_code == 1 and "Inga händelser under träningsperioden" in empty.output
    bad = runner.invoke(cli, ["backtest", str(LONDON), "--train", "2024-T7", "--test", "2025"])
    assert bad.exit_code == 2 and "tertial" in bad.output
    no_xy = tmp_path / "no_xy.csv"
    no_xy.write_text("datum;kategori\n2024-01-01;rån\n", encoding="utf-8")
    assert runner.invoke(cli, ["backtest", str(no_xy)]).exit_code == 1


# --- reading ---------------------------------------------------------------------------------


def test_swedish_excel_csv_with_x_y(tmp_path):
    text = ("Datum;Kategori;x;y\n"
            "2024-03-01 21.30;rån;153000,5;6580000,25\n"
            "2024-03-02;Stöld;153100;6580100\n"
            ";stöld;153100;6580100\n")
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(BacktestError, match="--crs"):
        read_points(path)
    points = read_points(path, crs=3011)
    assert points.crs == "EPSG:3011" and len(points.x) == 2 and points.skipped == 1
    assert points.x[0] == 153000.5 and points.y[0] == 6580000.25
    assert str(points.t[0]) == "2024-03-01T21:30:00.000000000"
    assert list(points.category) == ["rån", "Stöld"]


def test_times_are_local_wall_clock():
    values = pd.Series(["2024-05-01 00:30", "2024-05-01T00:30:00+02:00",
                        "2024-04-30T22:30:00Z", "2024-05-01"])
    t = wall_times(values)
    assert [str(v)[:16] for v in t] == ["2024-05-01T00:30", "2024-05-01T00:30",
                                        "2024-04-30T22:30", "2024-05-01T00:00"]


def test_geopackage_in_its_own_projected_crs(tmp_path):
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"occurred_at": ["2024-01-05", "2024-06-05", "2025-01-05"],
         "category": ["ran", "stold", "okänd"]},
        geometry=shapely.points([530000, 530100, 530000], [180000, 180000, 180000]),
        crs=27700)
    path = tmp_path / "points.gpkg"
    frame.to_file(path, driver="GPKG")
    points = read_points(path)
    assert points.crs == "EPSG:27700" and len(points.x) == 3


def test_precision_column_keeps_only_points_placed_to_the_street(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("occurred_at,category,precision,lon,lat\n"
                    "2024-01-01,ran,exact,18.06,59.33\n2024-01-01,ran,stadsdel,18.06,59.33\n"
                    "2024-01-01,ran,street,18.06,59.33\n", encoding="utf-8")
    points = read_points(path)
    assert len(points.x) == 2 and points.skipped == 1 and points.crs == "EPSG:3011"


def test_metric_crs_by_place():
    assert metric_crs(np.array([18.06]), np.array([59.33])) == 3011     # Stockholm
    assert metric_crs(np.array([13.0]), np.array([55.6])) == 3006       # Malmö
    assert metric_crs(np.array([-0.09]), np.array([51.5])) == 32630     # London
    assert metric_crs(np.array([151.2]), np.array([-33.9])) == 32756    # Sydney


def test_period_spans():
    assert parse_span("2024-01..2024-12").code == "2024"
    assert parse_span("2024-05..2025-04").code == "2024-05-01..2025-04-30"
    assert parse_span("2024-T2").code == "2024-T2"
    assert parse_span("2024-01-01..2024-04-30").code == "2024-T1"


# --- measuring -------------------------------------------------------------------------------


def test_hit_rate_shares_ties_at_the_cut_off():
    score = np.array([5.0, 3.0, 3.0, 3.0, 1.0])
    test = np.array([10.0, 6.0, 0.0, 0.0, 4.0])
    # two cells: the 5 and one of three tied 3s (expected 6/3 = 2 hits)
    assert hit_rate(score, test, 2) == pytest.approx((10 + 2) / 20)
    assert hit_rate(score, test, 5) == 1.0


def test_a_known_hot_spot_is_found(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    hot = rng.random(n) < 0.3
    lon = np.where(hot, 18.07 + rng.normal(0, 0.0003, n), rng.uniform(17.95, 18.15, n))
    lat = np.where(hot, 59.33 + rng.normal(0, 0.0002, n), rng.uniform(59.28, 59.38, n))
    days = rng.integers(0, 730, n)
    dates = (pd.Timestamp("2024-01-01") + pd.to_timedelta(days, "D")).strftime("%Y-%m-%d")
    path = tmp_path / "hot.csv"
    pd.DataFrame({"occurred_at": dates, "category": "stöld", "lon": lon, "lat": lat}) \
        .to_csv(path, index=False)
    result = run_backtest(read_points(path), parse_span("2024"), parse_span("2025"))
    assert result.value("priority", 0.01) > 10
    assert result.value("priority", 0.01, "hit_rate") > 0.25
    assert result.value("random", 0.05) == pytest.approx(1.0, abs=0.25)
