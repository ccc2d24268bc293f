"""Tests of the deterministic demo data generator, :mod:`geodata.demo`.

Runtime note (not asserted): ``generate_demo()`` with 60 000 incidents takes about
0.3–0.5 s on a laptop-class machine, most of it in point-in-polygon tests.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

import geodata
from geodata.demo import (
    DEFAULT_SEED,
    HUBS,
    SITE_SPECS,
    WALK_SPECS,
    DemoData,
    generate_demo,
)
from layers.core.schema import (
    FINDING_CATEGORIES,
    FINDING_STATUSES,
    FINDINGS,
    INCIDENT_CATEGORIES,
    INCIDENTS,
    OWNERS,
    PRECISIONS,
    SENSITIVE_CODES,
    SITE_ACTIVITIES,
    SITE_STATUSES,
    SITES,
    STORE_EPSG,
    STRATEGIC_CODES,
    VICTIM_GENDERS,
    WALKS,
)

LAYERS = ("incidents", "findings", "sites", "walks")
VIOLENCE = {c.code for c in INCIDENT_CATEGORIES if c.group == "vald"}

#: Where each demo site must lie, written out independently of the generator's table.
SITE_STADSDEL = {
    "Kista torg": "kista",
    "Husby centrum": "husby",
    "Rinkeby torg": "rinkeby",
    "Tensta centrum": "tensta",
    "Hjulsta": "tensta",
    "Vällingby centrum": "vallingby",
    "Farsta centrum": "farsta",
    "Hagsätra torg": "hagsatra",
    "Rågsveds torg": "ragsved",
    "Skärholmens centrum": "skarholmen",
    "Medborgarplatsen": "sodermalm",
    "Sergels torg": "norrmalm",
    "Fridhemsplan": "kungsholmen",
    "Bagarmossens centrum": "bagarmossen",
    "Hässelby torg": "hasselby-gard",
}


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate_demo()


@pytest.fixture(scope="module")
def stadsdelar():
    return geodata.stadsdelar(crs=STORE_EPSG)


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    """Every value, dtype and geometry of a frame as bytes."""
    plain = pd.DataFrame(frame).copy()
    if "geometry" in plain.columns:
        plain["geometry"] = shapely.to_wkb(np.asarray(frame.geometry.values), hex=True)
    dtypes = ";".join(f"{c}:{t}" for c, t in plain.dtypes.items())
    return (dtypes + "\n" + plain.to_csv(index=False)).encode("utf-8")


_TO_STORE = Transformer.from_crs(4326, STORE_EPSG, always_xy=True)


def _near(frame, lat: float, lon: float, radius: float) -> np.ndarray:
    """Which rows of a point frame lie within ``radius`` metres of a WGS 84 place."""
    cx, cy = _TO_STORE.transform(lon, lat)
    return np.hypot(frame.geometry.x.to_numpy() - cx, frame.geometry.y.to_numpy() - cy) < radius


# --- determinism ----------------------------------------------------------------------


def test_same_seed_gives_byte_identical_frames(demo: DemoData) -> None:
    again = generate_demo(DEFAULT_SEED)
    for name in LAYERS:
        assert _frame_bytes(getattr(demo, name)) == _frame_bytes(getattr(again, name)), name


def test_different_seed_gives_different_data(demo: DemoData) -> None:
    other = generate_demo(seed=DEFAULT_SEED + 1)
    for name in ("incidents", "findings", "sites"):
        assert _frame_bytes(getattr(demo, name)) != _frame_bytes(getattr(other, name)), name
    assert not np.array_equal(demo.incidents.geometry.x, other.incidents.geometry.x)


def test_n_incidents_is_honoured() -> None:
    small = generate_demo(n_incidents=2_000)
    assert len(small.incidents) == 2_000
    assert small.incidents["id"].is_unique


# --- shape and codes --------------------------------------------------------------------


def test_columns_follow_the_schema(demo: DemoData) -> None:
    for frame, schema in ((demo.incidents, INCIDENTS), (demo.findings, FINDINGS),
                          (demo.sites, SITES)):
        assert list(frame.columns) == [f.name for f in schema.input_fields] + ["geometry"]
        assert frame.crs.to_epsg() == STORE_EPSG
    assert list(demo.walks.columns) == [f.name for f in WALKS.input_fields]


def test_counts_in_range(demo: DemoData) -> None:
    assert len(demo.incidents) == 60_000
    assert 250 <= len(demo.findings) <= 350
    assert len(demo.sites) == 15
    assert 18 <= len(demo.walks) <= 24
    per_walk = demo.findings["walk_id"].value_counts()
    assert set(per_walk.index) == set(demo.walks["id"])
    assert per_walk.min() >= 5


def test_ids_and_source_mark_demo_data(demo: DemoData) -> None:
    for name in LAYERS:
        ids = getattr(demo, name)["id"]
        assert ids.is_unique, name
        assert ids.str.startswith("demo:").all(), name
    assert (demo.incidents["source"] == "demo").all()
    assert demo.findings["walk_id"].str.startswith("demo:").all()


def test_incident_codes_are_valid(demo: DemoData) -> None:
    inc = demo.incidents
    assert set(inc["category"]) <= {c.code for c in INCIDENT_CATEGORIES}
    assert set(inc["precision"]) <= set(PRECISIONS)
    genders = set(inc["victim_gender"].dropna())
    assert genders <= set(VICTIM_GENDERS)
    assert inc.loc[~inc["category"].isin(VIOLENCE), "victim_gender"].isna().all()


def test_finding_and_site_codes_are_valid(demo: DemoData) -> None:
    f = demo.findings
    assert set(f["category"]) <= {c.code for c in FINDING_CATEGORIES}
    assert set(f["status"]) == set(FINDING_STATUSES)
    assert set(f["owner"]) <= set(OWNERS)
    assert f["severity"].between(1, 3).all()
    assert f["photo"].isna().all()
    assert set(f["walk_id"]) <= set(demo.walks["id"])
    s = demo.sites
    assert set(s["status"]) <= set(SITE_STATUSES)
    assert (s["status"] == "aktiv").sum() >= 12
    labels = set(SITE_ACTIVITIES.values())
    for activities in s["activities"]:
        assert {a.strip() for a in activities.split(",")} <= labels
    assert all(dt.date(2021, 1, 1) <= d <= dt.date(2025, 12, 31) for d in s["start_date"])
    assert s["contact"].str.endswith("@exempel.se").all()
    assert (s.geom_type == "MultiPolygon").all()
    assert set(demo.walks["sdo_code"]) <= set(geodata.reported_crimes()["sdo_code"])


# --- incidents: mix, place and time ----------------------------------------------------


def test_category_mix_is_plausible(demo: DemoData) -> None:
    share = demo.incidents["category"].value_counts(normalize=True)
    top = set(share.index[:5])
    assert top == {"stold", "skadegorelse", "misshandel", "klotter", "inbrott"}
    for code in (*STRATEGIC_CODES, *SENSITIVE_CODES):
        assert share.get(code, 0) > 0, code
    assert share[list(SENSITIVE_CODES)].sum() < 0.05
    for code in ("brand", "trafikolycka", "fallolycka"):
        assert 0.01 <= share[code] <= 0.05, code


def test_precision_and_victim_gender_shares(demo: DemoData) -> None:
    p = demo.incidents["precision"].value_counts(normalize=True)
    assert 0.87 <= p["exact"] <= 0.93
    assert 0.05 <= p["street"] <= 0.09
    assert 0.02 <= p["stadsdel"] <= 0.04
    violent = demo.incidents[demo.incidents["category"].isin(VIOLENCE)]
    g = violent["victim_gender"].value_counts(normalize=True, dropna=False)
    assert 0.50 <= g["man"] <= 0.60
    assert 0.35 <= g["kvinna"] <= 0.45


def test_stadsdel_precision_sits_on_a_stadsdel_point(demo: DemoData) -> None:
    land = geodata.stadsdelar(crs=STORE_EPSG, land=True)
    reps = shapely.get_coordinates(shapely.point_on_surface(land.geometry.values))
    allowed = {(float(x), float(y)) for x, y in np.round(reps)}
    coarse = demo.incidents[demo.incidents["precision"] == "stadsdel"]
    assert len(coarse) > 0
    assert {(x, y) for x, y in zip(coarse.geometry.x, coarse.geometry.y, strict=True)} <= allowed


def test_all_incidents_inside_the_stadsdelar(demo: DemoData, stadsdelar) -> None:
    city = shapely.union_all(stadsdelar.geometry.values)
    shapely.prepare(city)
    inside = shapely.intersects_xy(city, demo.incidents.geometry.x, demo.incidents.geometry.y)
    assert inside.all(), f"{(~inside).sum()} incidents outside the city"
    assert shapely.intersects_xy(city, demo.findings.geometry.x, demo.findings.geometry.y).all()


def test_area_shares_follow_reported_crimes(demo: DemoData, stadsdelar) -> None:
    tree = shapely.STRtree(stadsdelar.geometry.values)
    pts, polys = tree.query(demo.incidents.geometry.values, predicate="intersects")
    first = pd.Series(polys).groupby(pts).first()
    assert len(first) == len(demo.incidents)
    area = stadsdelar["sdo_2023"].to_numpy()[first.to_numpy()]
    share = pd.Series(area).value_counts(normalize=True)
    crimes = geodata.reported_crimes().set_index("sdo_code")["reported_crimes"]
    expected = crimes / crimes.sum()
    assert set(share.index) == set(expected.index)
    for code, value in expected.items():
        assert abs(share[code] / value - 1) <= 0.15, code


def test_times_cover_2024_and_2025_in_stockholm_time(demo: DemoData) -> None:
    t = demo.incidents["occurred_at"]
    assert str(t.dt.tz) == "Europe/Stockholm"
    assert t.min() >= pd.Timestamp("2024-01-01", tz="Europe/Stockholm")
    assert t.max() < pd.Timestamp("2026-01-01", tz="Europe/Stockholm")
    years = t.dt.year.value_counts(normalize=True)
    assert 0.4 <= years[2024] <= 0.6


def test_violence_peaks_at_night_theft_by_day(demo: DemoData) -> None:
    inc = demo.incidents
    hour = inc["occurred_at"].dt.hour
    violent = inc["category"].isin(VIOLENCE)
    night = hour.isin([22, 23, 0, 1])
    morning = hour.isin([6, 7, 8, 9])
    assert violent[night].mean() > violent[morning].mean() * 1.5
    theft = inc["category"] == "stold"
    day = hour.between(10, 17)
    assert theft[day].mean() > theft[night].mean()


def test_weekend_nights_at_stureplan(demo: DemoData) -> None:
    stureplan = next(h for h in HUBS if h.name == "Stureplan")
    near = _near(demo.incidents, stureplan.lat, stureplan.lon, 150)
    inc = demo.incidents[near & demo.incidents["category"].isin(VIOLENCE)]
    t = inc["occurred_at"]
    weekend_night = ((t.dt.day_of_week.isin([4, 5]) & (t.dt.hour >= 22))
                     | (t.dt.day_of_week.isin([5, 6]) & (t.dt.hour <= 3)))
    # Friday and Saturday 22-24 plus Saturday and Sunday 00-04 are 12 of 168 hours (7 %).
    assert weekend_night.mean() > 0.3


def test_summer_violence_and_winter_falls(demo: DemoData) -> None:
    inc = demo.incidents
    month = inc["occurred_at"].dt.month
    misshandel = inc[inc["category"] == "misshandel"]
    m = misshandel["occurred_at"].dt.month
    assert m.isin([6, 7, 8]).sum() > m.isin([1, 2, 3]).sum() * 1.2
    falls = inc["category"] == "fallolycka"
    assert falls[month.isin([12, 1, 2])].sum() > falls[month.isin([6, 7, 8])].sum() * 1.8


def test_hot_spots_grow_and_site_areas_decline(demo: DemoData) -> None:
    inc = demo.incidents
    year = inc["occurred_at"].dt.year
    for hub in (h for h in HUBS if h.grows):
        near = _near(inc, hub.lat, hub.lon, 150)
        assert (near & (year == 2025)).sum() > 1.25 * (near & (year == 2024)).sum(), hub.name
    declining = [s for s in SITE_SPECS if s.declines]
    assert declining
    for site in declining:
        near = _near(inc, site.lat, site.lon, 150)
        start = pd.Timestamp(site.start_date, tz="Europe/Stockholm")
        before = near & (inc["occurred_at"] < start)
        after = near & (inc["occurred_at"] >= start + pd.Timedelta(days=180))
        days_before = (start - pd.Timestamp("2024-01-01", tz="Europe/Stockholm")).days
        days_after = (pd.Timestamp("2026-01-01", tz="Europe/Stockholm")
                      - start - pd.Timedelta(days=180)).days
        assert after.sum() / days_after < 0.8 * before.sum() / days_before, site.name


# --- sites, walks, findings -------------------------------------------------------------


def test_every_site_lies_in_its_stadsdel(demo: DemoData, stadsdelar) -> None:
    by_code = stadsdelar.set_index("code").geometry
    assert set(demo.sites["name"]) == set(SITE_STADSDEL)
    for name, geom in zip(demo.sites["name"], demo.sites.geometry, strict=True):
        home = by_code[SITE_STADSDEL[name]]
        assert home.contains(geom.representative_point()), name
        assert geom.intersection(home).area / geom.area > 0.999, name
        minx, miny, maxx, maxy = geom.bounds
        assert 60 <= max(maxx - minx, maxy - miny) <= 300, name


def test_walks_and_findings_are_consistent(demo: DemoData, stadsdelar) -> None:
    walks = demo.walks.set_index("id")
    assert all(isinstance(d, dt.date) for d in walks["date"])
    assert all(dt.date(2024, 1, 1) <= d <= dt.date(2025, 12, 31) for d in walks["date"])
    autumn = sum(d.month in (9, 10, 11) for d in walks["date"])
    assert autumn >= len(walks) / 2
    assert walks["participants"].between(1, 200).all()
    assert walks["sdo_code"].nunique() >= 8
    f = demo.findings
    area_of = stadsdelar.set_index("code")["sdo_2023"]
    codes = stadsdelar["code"].to_numpy()
    tree = shapely.STRtree(stadsdelar.geometry.values)
    pts, polys = tree.query(f.geometry.values, predicate="intersects")
    home = pd.Series(codes[polys]).groupby(pts).first().map(area_of)
    assert (home.to_numpy() == f["walk_id"].map(walks["sdo_code"]).to_numpy()).all()
    for i, spec in enumerate(WALK_SPECS, start=1):
        mine = f[f["walk_id"] == f"demo:walk-{i:02d}"]
        assert np.median(_near(mine, spec.lat, spec.lon, 400)) == 1, spec.area
    for row in f.itertuples():
        walk = walks.loc[row.walk_id]
        expected = pd.Timestamp(f"{walk['date'].isoformat()} {walk['start_time']}",
                                tz="Europe/Stockholm")
        assert row.found_at == expected
    top = f["category"].value_counts().index[:2]
    assert set(top) == {"belysning", "vegetation"}
    lights = f[f["category"] == "belysning"]["owner"].value_counts(normalize=True)
    assert lights.index[0] == "trafikkontoret"
    # Findings of the older walks are more often fixed than those of the latest ones.
    date = f["walk_id"].map(walks["date"])
    older = f[date < dt.date(2025, 1, 1)]
    newer = f[date >= dt.date(2025, 9, 1)]
    assert (older["status"] == "atgardad").mean() > (newer["status"] == "atgardad").mean()
