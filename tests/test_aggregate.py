"""The incident grid: counts per cell and category, trend, suppression, classes, cache."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.analysis import aggregate
from layers.core.schema import LOCAL_TZ, SENSITIVE_CODES, STORE_EPSG, STRATEGIC_CODES
from layers.io.filters import parse_filter

# every test here that uses a store runs on GeoPackage and on PostGIS
pytestmark = pytest.mark.both_stores

# cells of 250 m: A = (612, 26320), B = (613, 26320), C = (614, 26320)
A, B, C = (153_100.0, 6_580_100.0), (153_350.0, 6_580_100.0), (153_600.0, 6_580_100.0)


def incidents(rows: list[tuple]) -> gpd.GeoDataFrame:
    """Rows of (id, when, category, point, precision) as an incident frame."""
    ids, when, category, xy, precision = zip(*rows, strict=True)
    return gpd.GeoDataFrame({
        "id": list(ids),
        "occurred_at": pd.to_datetime(list(when)).tz_localize(LOCAL_TZ),
        "category": list(category),
        "precision": list(precision),
        "source": "test",
        "strategic": [c in STRATEGIC_CODES for c in category],
        "sensitive": [c in SENSITIVE_CODES for c in category],
        "sdo_code": "sodermalm",
    }, geometry=gpd.points_from_xy(*zip(*xy, strict=True)), crs=STORE_EPSG)


@pytest.fixture
def grid_store(store):
    rows = [(f"a{i}", "2025-03-01 12:00", "stold", A, "exact") for i in range(5)]
    rows += [(f"s{i}", "2025-06-01 22:00", "sexualbrott", A, "street") for i in range(2)]
    rows += [(f"p{i}", "2024-06-01 22:00", "stold", A, "exact") for i in range(2)]
    rows += [(f"b{i}", "2025-10-01 03:00", "ran", B, "exact") for i in range(3)]
    rows += [(f"c{i}", "2025-10-01 03:00", "misshandel", C, "stadsdel") for i in range(2)]
    rows += [("later", "2026-01-01 00:30", "stold", A, "exact")]
    store.write({"incidents": incidents(rows)})
    aggregate.clear_cache()
    return store


def test_counts_per_cell_category_and_period(grid_store):
    result = aggregate.incident_grid(grid_store, parse_filter({"period": "2025"}), 250)
    assert len(result.keys) == 2
    totals = dict(zip(result.keys.tolist(), result.totals.tolist(), strict=True))
    key_a, key_b = (int(k) for k in result.grid.keys_of(*np.array([A, B]).T))
    assert totals == {key_a: 7, key_b: 3}
    assert dict(zip(result.keys.tolist(), result.previous_totals.tolist(), strict=True)) == \
        {key_a: 2, key_b: 0}
    # placed only at the stadsdel: counted, but never in a cell
    assert result.imprecise == 2
    assert result.previous_period.code == "2024"


def test_geojson_suppresses_small_counts_for_the_public(grid_store):
    result = aggregate.incident_grid(grid_store, parse_filter({"period": "2025"}), 250)
    public = aggregate.grid_geojson(result, None, 5)
    by_count = {f["properties"]["count"]: f["properties"] for f in public["features"]}
    assert set(by_count) == {7, "<5"}
    a, b = by_count[7], by_count["<5"]
    assert a["by_category"] == {"stold": 5, "sexualbrott": "<5"}
    assert a["previous"] == "<5" and a["trend"] is None
    assert "För få" in a["trend_text"]
    assert b["class"] == 0 and public["legend"][0]["label"] == "<5"
    assert b["strategic"] == "<5"
    assert public["total"] == 10 and public["imprecise"] == "<5"
    exact = aggregate.grid_geojson(result, None, None)
    counts = sorted(f["properties"]["count"] for f in exact["features"])
    assert counts == [3, 7]
    ring = exact["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and 18.0 < ring[0][0] < 18.2 and 59.2 < ring[0][1] < 59.4


def test_bbox_slices_cells_and_totals(grid_store):
    result = aggregate.incident_grid(grid_store, parse_filter({"period": "2025"}), 250)
    only_a = (A[0] - 10, A[1] - 10, A[0] + 10, A[1] + 10)
    collection = aggregate.grid_geojson(result, only_a, None)
    assert [f["properties"]["count"] for f in collection["features"]] == [7]
    assert collection["total"] == 7


def test_category_filter_and_trend(grid_store):
    flt = parse_filter({"period": "2025", "category": "strategiska"})
    result = aggregate.incident_grid(grid_store, flt, 250)
    assert result.totals.tolist() == [3]
    collection = aggregate.grid_geojson(result, None, None)
    props = collection["features"][0]["properties"]
    assert props["trend"] == "ny" and props["trend_text"].startswith("Nytt: 3 händelser")
    assert props["strategic"] == 3


def test_cache_follows_new_data(grid_store):
    flt = parse_filter({"period": "2025"})
    first = aggregate.incident_grid(grid_store, flt, 250)
    assert aggregate.incident_grid(grid_store, flt, 250) is first
    grid_store.write({"incidents": incidents([("new", "2025-12-01 12:00", "stold", B, "exact")])})
    assert aggregate.incident_grid(grid_store, flt, 250).totals.sum() == 11


def test_generic_store_path_reads_the_same_points(grid_store):
    class Plain:
        """A store that only has read(): the fallback path."""

        kind = "plain"

        def read(self, layer, query=None):
            return grid_store.read(layer, query)

    query = parse_filter({"period": "2025"}).incident_query()
    fast = aggregate.read_points(grid_store, query)
    slow = aggregate.read_points(Plain(), query)
    for name in ("x", "y", "category", "precise"):
        assert list(getattr(fast, name)) == list(getattr(slow, name)), name
    assert len(fast) == 12 and fast.precise.sum() == 10


def test_class_breaks_and_legend():
    assert aggregate.class_breaks(np.array([1, 2, 3]), 5) == [1, 5]
    breaks = aggregate.class_breaks(np.arange(1, 200), 5)
    assert breaks[:2] == [1, 5] and breaks == sorted(set(breaks)) and len(breaks) == 5
    assert aggregate.class_breaks(np.arange(1, 200), None)[0] == 1
    legend = aggregate.legend([1, 5, 10, 20], 5)
    assert [e["label"] for e in legend] == ["<5", "5–9", "10–19", "20 eller fler"]
    assert len({e["colour"] for e in legend}) == 4


@pytest.mark.parametrize(("count", "previous", "direction", "start"), [
    (12, 10, "upp", "+20 % mot 2024 (10 → 12)"),
    (8, 10, "ned", "−20 % mot 2024 (10 → 8)"),
    (10, 10, "oförändrad", "±0 %"),
    (10, 0, "ny", "Nytt: 10"),
    (0, 0, None, "Inga händelser"),
    (3, 10, None, "För få för att visa förändring (<5 mot 10"),
])
def test_trend_sentences(count, previous, direction, start):
    got, text = aggregate.trend(count, previous, 5, "2024")
    assert got == direction and text.startswith(start)


def test_unknown_cell_size(grid_store):
    with pytest.raises(ValueError, match="cell size"):
        aggregate.incident_grid(grid_store, parse_filter({"period": "2025"}), 333)


def test_cells_are_squares_of_the_shared_lattice(grid_store):
    result = aggregate.incident_grid(grid_store, parse_filter({"period": "2025"}), 100)
    polygons = result.grid.polygons(result.keys)
    assert np.allclose(shapely.area(polygons), 100 * 100)
    assert all(p.covers(shapely.Point(A)) or p.covers(shapely.Point(B)) for p in polygons)
