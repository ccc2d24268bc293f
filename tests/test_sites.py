"""Platssamverkan sites in the core (layers.domain.sites): before/after figures, registry, log.

Acceptance 4 of issue #8: the before/after figures of a site equal numbers computed
independently here on a fixture (site, ring, start date, incidents on both sides of
the start, in the site, in the ring, outside it, on the boundary and imprecise), and
the ring excludes the site itself.
"""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from dateutil.relativedelta import relativedelta
from pyproj import Transformer

from layers.core.schema import LOCAL_TZ, STORE_EPSG
from layers.domain import sites as core

START = dt.date(2024, 6, 1)
RING = 300.0
#: Husby torg (WGS 84) in SWEREF 99 18 00
_X, _Y = Transformer.from_crs(4326, STORE_EPSG, always_xy=True).transform(17.9280, 59.4105)
SITE = shapely.MultiPolygon([shapely.box(_X - 60, _Y - 40, _X + 60, _Y + 40)])


def _incidents() -> gpd.GeoDataFrame:
    """Incidents around the site: every place kind, at times on both sides of START."""
    rng = np.random.default_rng(8)
    rows, geoms = [], []
    kinds = {
        "site": lambda: shapely.Point(_X + rng.uniform(-55, 55), _Y + rng.uniform(-35, 35)),
        "ring": lambda: shapely.Point(_X + rng.choice([-1, 1]) * rng.uniform(80, 300),
                                      _Y + rng.uniform(-30, 30)),
        "far": lambda: shapely.Point(_X + rng.uniform(500, 900), _Y + rng.uniform(-300, 300)),
        "edge": lambda: shapely.Point(_X + 60, _Y + rng.uniform(-40, 40)),
    }
    days = pd.date_range("2022-01-01", "2026-06-30", freq="D")
    for i in range(900):
        kind = list(kinds)[i % 4]
        when = days[int(rng.integers(len(days)))] + pd.Timedelta(minutes=int(rng.integers(1440)))
        rows.append({"id": f"t:{i}", "occurred_at": when.tz_localize(LOCAL_TZ),
                     "category": ["ran", "stold", "skadegorelse", "misshandel"][i % 4],
                     "precision": "exact", "source": "test"})
        geoms.append(kinds[kind]())
    # imprecise incidents inside the site never count
    for i in range(20):
        rows.append({"id": f"t:imprecise-{i}",
                     "occurred_at": pd.Timestamp("2024-06-15 12:00", tz=LOCAL_TZ),
                     "category": "stold", "precision": "stadsdel", "source": "test"})
        geoms.append(shapely.Point(_X, _Y))
    # the exact start and the last instant before it
    for name, when in (("at-start", "2024-06-01 00:00"), ("just-before", "2024-05-31 23:59")):
        rows.append({"id": f"t:{name}", "occurred_at": pd.Timestamp(when, tz=LOCAL_TZ),
                     "category": "ran", "precision": "street", "source": "test"})
        geoms.append(shapely.Point(_X, _Y))
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=STORE_EPSG)


@pytest.fixture
def site_store(store):
    store.write({"incidents": _incidents(), "sites": gpd.GeoDataFrame(
        pd.DataFrame([{"id": "test:site", "name": "Testtorget", "start_date": START,
                       "status": "aktiv"}]), geometry=[SITE], crs=STORE_EPSG)})
    return store


def independent_counts(frame: gpd.GeoDataFrame, months: int = 12) -> dict[str, int]:
    """The four figures, computed without layers.domain.sites."""
    start = pd.Timestamp(START).tz_localize(LOCAL_TZ)
    after_end = pd.Timestamp(START + relativedelta(months=months)).tz_localize(LOCAL_TZ)
    days = (after_end.date() - START).days
    before_start = pd.Timestamp(START - dt.timedelta(days=days)).tz_localize(LOCAL_TZ)
    outer = SITE.buffer(RING)
    out = dict.fromkeys(("site_before", "site_after", "ring_before", "ring_after"), 0)
    for row in frame.itertuples(index=False):
        if row.precision not in ("exact", "street"):
            continue
        inside = SITE.covers(row.geometry)
        ring = outer.covers(row.geometry) and not inside
        t = row.occurred_at
        side = "before" if before_start <= t < start else "after" if start <= t < after_end \
            else None
        if side and inside:
            out[f"site_{side}"] += 1
        elif side and ring:
            out[f"ring_{side}"] += 1
    return out


@pytest.mark.parametrize("months", [12, 6, 24])
def test_before_after_equal_independent_counts(site_store, months):
    site = core.get_site(site_store, "test:site")
    figures = core.site_figures(site_store, site, ring_m=RING, months=months)
    expected = independent_counts(_incidents(), months)
    got = figures.total
    assert {"site_before": got.site_before, "site_after": got.site_after,
            "ring_before": got.ring_before, "ring_after": got.ring_after} == expected
    assert all(v > 10 for v in expected.values())  # the fixture has data on every side
    assert figures.windows.note is None
    before, after = figures.windows.before, figures.windows.after
    assert before.end == after.start == pd.Timestamp(START).tz_localize(LOCAL_TZ)
    assert before.days == after.days  # equal length


def test_ring_excludes_the_site(site_store):
    ring = core.ring_of(SITE, RING)
    assert ring.intersection(SITE).area == pytest.approx(0, abs=1e-6)
    assert ring.union(SITE).area == pytest.approx(SITE.buffer(RING).area, rel=1e-9)
    # an incident in the site's middle counts in the site only
    frame = _incidents()
    centre = frame[frame["id"] == "t:at-start"]
    in_site, in_ring = core.classify(centre.geometry.to_numpy(), SITE, RING)
    assert in_site.tolist() == [True] and in_ring.tolist() == [False]
    # a point on the boundary belongs to the site
    in_site, in_ring = core.classify(np.array([shapely.Point(_X + 60, _Y)]), SITE, RING)
    assert in_site.tolist() == [True] and in_ring.tolist() == [False]


def test_groups_add_up_to_the_total(site_store):
    figures = core.site_figures(site_store, core.get_site(site_store, "test:site"))
    for key in ("site_before", "site_after", "ring_before", "ring_after"):
        assert sum(getattr(c, key) for c in figures.groups.values()) == \
            getattr(figures.total, key)


def test_tertials_cover_the_data_and_mark_the_start(site_store):
    figures = core.site_figures(site_store, core.get_site(site_store, "test:site"),
                                tertials=True)
    codes = [t.period.code for t in figures.tertials]
    assert len(codes) == core.MAX_TERTIALS
    start = next(t for t in figures.tertials if t.side == "start")
    assert start.period.code == "2024-T2"
    assert all(t.side == "före" for t in figures.tertials[:codes.index("2024-T2")])
    assert all(t.side == "efter" for t in figures.tertials[codes.index("2024-T2") + 1:])


def test_windows_are_cut_to_the_data_and_stay_equal():
    span = (pd.Timestamp("2024-01-01 08:00", tz=LOCAL_TZ),
            pd.Timestamp("2024-09-30 22:00", tz=LOCAL_TZ))
    w = core.compare_windows(START, 12, span)
    assert w.before.days == w.after.days == (dt.date(2024, 10, 1) - START).days
    assert "122 dagar" in w.note
    early = core.compare_windows(dt.date(2023, 5, 1), 12, span)
    assert early.before is None and "före den första" in early.note
    late = core.compare_windows(dt.date(2025, 5, 1), 12, span)
    assert late.after is None and "efter den senaste" in late.note
    # across the change to summer time a day is still a day
    spring = core.compare_windows(dt.date(2024, 4, 1), 1)
    assert spring.before.start == pd.Timestamp("2024-03-02", tz=LOCAL_TZ)  # 30 days
    assert spring.after.end == pd.Timestamp("2024-05-01", tz=LOCAL_TZ)
    assert spring.before.days == spring.after.days == 30


def test_small_counts_are_hidden_for_the_public():
    counts = core.Counts(site_before=3, site_after=0, ring_before=12, ring_after=6)
    shown = core.display_counts(counts, 5)
    assert shown["site_before"] == "<5" and shown["site_after"] == "0"
    assert shown["site_change"] == ".."
    # below CHANGE_MIN_COUNT the two counts, never a per cent (the indicators' rule)
    assert shown["ring_change"] == "12\u00a0→\u00a06"
    exact = core.display_counts(counts, None)
    assert exact["site_before"] == "3" and exact["site_change"] == "3\u00a0→\u00a00"
    large = core.display_counts(core.Counts(40, 20, 0, 0), 5)
    assert large["site_change"] == "\u221250\u00a0%"
    none = core.display_counts(core.Counts(None, None, None, None), 5)
    assert set(none.values()) == {"–"}


def test_site_without_start_or_data_has_no_comparison(store):
    row = pd.Series({"id": "x", "start_date": None, "geometry": SITE})
    assert core.site_figures(store, row).windows.note == "Platsen saknar startdatum."
    row["start_date"] = START
    assert core.site_figures(store, row).windows.note == "Inga händelser i databasen."


def _drawn(geom=SITE) -> str:
    wgs = gpd.GeoSeries([geom], crs=STORE_EPSG).to_crs(4326).iloc[0]
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": wgs.__geo_interface__}]})


def test_site_form_validates_and_joins_the_area(store):
    frame, errors = core.site_from_form(store, {"name": "", "start_date": "2024-13-01"},
                                        "")
    messages = {e.field: e.message for e in errors}
    assert messages["geometri"].startswith("rita en yta")
    assert "obligatoriskt" in messages["name"]
    assert "datum" in messages["start_date"]
    frame, errors = core.site_from_form(store, {"name": "Husby torg", "start_date": "2024-06-01",
                                                "status": "aktiv", "partners": "SL"}, _drawn())
    assert errors == []
    assert frame["sdo_code"].iloc[0] == "jarva"
    assert frame.geometry.iloc[0].geom_type == "MultiPolygon"
    site_id = core.create_site(store, frame)
    stored = core.get_site(store, site_id)
    assert stored["name"] == "Husby torg" and stored.geometry.equals_exact(SITE, 0.01)
    moved = shapely.affinity.translate(SITE, 100, 0)
    frame, errors = core.site_from_form(store, {"name": "Husby torg 2"}, _drawn(moved),
                                        site_id=site_id)
    assert errors == [] and core.update_site(store, site_id, frame)
    assert core.get_site(store, site_id).geometry.equals_exact(moved, 0.01)
    _, errors = core.site_from_form(store, {"name": "x"}, '{"type": "Point", '
                                                          '"coordinates": [18, 59.3]}')
    assert "polygon" in errors[0].message


def test_measures_and_log(site_store):
    errors = core.add_measure(site_store, "test:site", {"measure": "", "owner": "SL"},
                              user="hanna")
    assert errors and errors[0].field == "measure"
    assert site_store.count("site_measures") == 0
    assert core.add_measure(site_store, "test:site", {"measure": "Byt armaturer",
                                                      "owner": "trafikkontoret",
                                                      "due_date": "2025-03-01"},
                            user="hanna") == []
    measures = core.measures_of(site_store, "test:site")
    assert measures["measure"].tolist() == ["Byt armaturer"]
    assert measures["status"].iloc[0] == "planerad"
    mid = measures["id"].iloc[0]
    assert core.set_measure_status(site_store, "test:site", mid, "klar")
    assert not core.set_measure_status(site_store, "other", mid, "pagar")
    assert not core.set_measure_status(site_store, "test:site", mid, "okänd")
    errors = core.add_log_entry(site_store, "test:site", {"date": "2025-01-10",
                                                          "kind": "kaffe"}, user="hanna")
    assert errors and errors[0].field == "kind"
    assert core.add_log_entry(site_store, "test:site", {"date": "2025-01-10", "kind": "möte",
                                                        "note": "Samverkansmöte"},
                              user="hanna") == []
    log = core.activity_log_of(site_store, "test:site")
    assert log["kind"].tolist() == ["mote"] and log["created_by"].tolist() == ["hanna"]
    assert core.delete_site(site_store, "test:site")
    assert site_store.count("site_measures") == 0 and site_store.count("site_activity_log") == 0


def test_open_findings_inside_the_site(site_store):
    inside, outside = shapely.Point(_X, _Y), shapely.Point(_X + 200, _Y)
    frame = gpd.GeoDataFrame(pd.DataFrame([
        {"id": "f:1", "found_at": pd.Timestamp("2025-01-01", tz=LOCAL_TZ),
         "category": "belysning", "severity": 3, "status": "ny"},
        {"id": "f:2", "found_at": pd.Timestamp("2025-01-01", tz=LOCAL_TZ),
         "category": "klotter", "severity": 1, "status": "atgardad"},
        {"id": "f:3", "found_at": pd.Timestamp("2025-01-01", tz=LOCAL_TZ),
         "category": "klotter", "severity": 1, "status": "tilldelad"},
    ]), geometry=[inside, inside, outside], crs=STORE_EPSG)
    site_store.write({"findings": frame})
    assert core.open_findings_in(site_store, SITE)["id"].tolist() == ["f:1"]


def test_list_filters(site_store):
    assert core.list_sites(site_store, status=["aktiv"])["id"].tolist() == ["test:site"]
    assert core.list_sites(site_store, status=["planerad"]).empty
    assert len(core.list_sites(site_store, text="testtor")) == 1
    assert core.list_sites(site_store, text="nothing").empty


@pytest.mark.postgis
def test_figures_measures_and_walks_on_postgis(postgis_schema_url):
    """The same answers from the PostGIS store (only the Store interface is used)."""
    from layers.domain import walks
    from layers.store import open_store

    store = open_store(postgis_schema_url)
    try:
        store.initialize()
        store.write({"incidents": _incidents(), "sites": gpd.GeoDataFrame(
            pd.DataFrame([{"id": "test:site", "name": "Testtorget", "start_date": START,
                           "status": "aktiv"}]), geometry=[SITE], crs=STORE_EPSG)})
        figures = core.site_figures(store, core.get_site(store, "test:site"))
        got = figures.total
        assert {"site_before": got.site_before, "site_after": got.site_after,
                "ring_before": got.ring_before, "ring_after": got.ring_after} == \
            independent_counts(_incidents())
        assert core.add_measure(store, "test:site", {"measure": "Belysning", "owner": "TK"},
                                user="hanna") == []
        mid = core.measures_of(store, "test:site")["id"].iloc[0]
        assert core.set_measure_status(store, "test:site", mid, "pagar")
        assert core.add_log_entry(store, "test:site", {"date": "2025-01-10", "kind": "mote"},
                                  user="hanna") == []
        walk, errors = walks.walk_from_form(store, {"date": "2024-12-10", "start_time": "18:00",
                                                    "area": "Husby", "sdo_code": "jarva"},
                                            "", {"boende": "4"})
        assert errors == [] and walks.save_new_walk(store, walk)
        assert walks.load_walk(store, walk.id).participants == {"boende": 4}
        changed, _ = walks.walk_from_form(store, {"date": "2024-12-10", "area": "Husby",
                                                  "sdo_code": "jarva"}, "", {"polis": "2"},
                                          walk_id=walk.id)
        assert walks.update_walk(store, walk.id, changed)
        assert walks.load_walk(store, walk.id).participants == {"polis": 2}
    finally:
        store.close()
