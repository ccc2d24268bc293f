"""The demo platssamverkan sites, trygghetsvandringar and their findings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

import geodata
from geodata.demo.geography import Geography, project
from geodata.demo.rates import FINDING_SHARE, FINDING_TEXTS, OWNER_P, SEVERITY_P
from geodata.demo.specs import HOUSING, LPO, REFERENCE_DATE, SDF, SITE_SPECS, WALK_SPECS
from layers.core.schema import (
    FINDINGS,
    LOCAL_TZ,
    SITE_ACTIVITIES,
    SITES,
    STORE_EPSG,
    WALKS,
)


def _site_polygon(rng: np.random.Generator, x: float, y: float, size: float,
                  within: BaseGeometry) -> MultiPolygon:
    """An irregular polygon about ``size`` metres across around (x, y), inside ``within``."""
    n = 14
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    ratio = rng.uniform(0.55, 1.0)
    turn = rng.uniform(0, np.pi)
    a, b = size / 2, size / 2 * ratio
    radius = (a * b) / np.sqrt((b * np.cos(angles)) ** 2 + (a * np.sin(angles)) ** 2)
    radius *= rng.uniform(0.85, 1.1, n)
    px = radius * np.cos(angles + turn)
    py = radius * np.sin(angles + turn)
    poly = Polygon(np.column_stack([np.round(x + px, 1), np.round(y + py, 1)]))
    clipped = shapely.intersection(shapely.make_valid(poly), within)
    parts = [g for g in getattr(clipped, "geoms", [clipped])
             if isinstance(g, Polygon) and g.area > 1]
    return MultiPolygon(parts)


def make_sites(rng: np.random.Generator, geo: Geography) -> gpd.GeoDataFrame:
    """The platssamverkan sites of :data:`SITE_SPECS`."""
    rows = []
    geoms = []
    for i, spec in enumerate(SITE_SPECS, start=1):
        s = geo.stadsdel_index(spec.stadsdel)
        x, y = project(spec.lat, spec.lon)
        if not shapely.contains_xy(geo.land[geo.n_areas + s], x, y):
            raise ValueError(f"demo site {spec.name} is not in stadsdel {spec.stadsdel}")
        area = geo.area_codes[geo.sd_area[s]]
        inner = shapely.intersection(geo.land[geo.n_areas + s], geo.full[geo.n_areas + s])
        geoms.append(_site_polygon(rng, x, y, spec.size, inner.buffer(-2)))
        partners = ["fastighetsägare", "näringsidkare", f"lokalpolisområde {LPO[area]}",
                    HOUSING[area] if spec.kind == "suburb" else "SL", SDF[area]]
        rows.append({
            "id": f"demo:site-{i:02d}",
            "name": spec.name,
            "partners": ", ".join(partners),
            "start_date": spec.start_date,
            "status": spec.status,
            "contact": f"platssamverkan.{geodata.slugify(spec.name)}@exempel.se",
            "activities": ", ".join(SITE_ACTIVITIES[a] for a in spec.activities),
        })
    frame = pd.DataFrame(rows, columns=[f.name for f in SITES.input_fields])
    frame["start_date"] = frame["start_date"].astype(object)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=STORE_EPSG)


def make_walks(rng: np.random.Generator, geo: Geography) -> pd.DataFrame:
    """The walks of :data:`WALK_SPECS`."""
    rows = []
    for i, spec in enumerate(WALK_SPECS, start=1):
        x, y = project(spec.lat, spec.lon)
        s = geo.locate(np.array([x]), np.array([y]))[0]
        if s < 0:
            raise ValueError(f"demo walk {spec.area} lies outside the city's stadsdelar")
        area = geo.area_codes[geo.sd_area[s]]
        organisers = [SDF[area], f"lokalpolisområde {LPO[area]}", HOUSING[area]]
        if rng.random() < 0.4:
            organisers.append("trafikkontoret")
        rows.append({
            "id": f"demo:walk-{i:02d}",
            "date": spec.date,
            "start_time": spec.start_time,
            "end_time": spec.end_time,
            "area": spec.area,
            "sdo_code": area,
            "participants": int(rng.integers(8, 36)),
            "organisers": ", ".join(organisers),
        })
    walks = pd.DataFrame(rows, columns=[f.name for f in WALKS.input_fields])
    walks["date"] = walks["date"].astype(object)
    walks["participants"] = walks["participants"].astype("int64")
    return walks


def make_findings(rng: np.random.Generator, geo: Geography,
                   walks: pd.DataFrame) -> gpd.GeoDataFrame:
    """The findings of the walks, near each walk's place."""
    cats = tuple(FINDING_SHARE)
    share = np.array([FINDING_SHARE[c] for c in cats])
    share = share / share.sum()
    rows = []
    cx, cy, target = [], [], []
    for spec, walk in zip(WALK_SPECS, walks.itertuples(index=False), strict=True):
        k = int(rng.integers(10, 20))
        x, y = project(spec.lat, spec.lon)
        found_at = pd.Timestamp(f"{walk.date.isoformat()} {walk.start_time}", tz=LOCAL_TZ)
        age = (REFERENCE_DATE - walk.date).days
        p_fixed = float(np.clip(0.05 + 0.75 * age / 700, 0.05, 0.75))
        p_rejected = 0.06
        open_ = 1 - p_fixed - p_rejected
        p_new = open_ * (0.6 if age < 120 else 0.25)
        status_p = [p_new, open_ - p_new, p_fixed, p_rejected]
        for _ in range(k):
            c = cats[rng.choice(len(cats), p=share)]
            owners = OWNER_P[c]
            owner = list(owners)[rng.choice(len(owners), p=list(owners.values()))]
            templates = FINDING_TEXTS[c]
            text = templates[int(rng.integers(len(templates)))].format(
                street=spec.streets[int(rng.integers(len(spec.streets)))], place=spec.place)
            rows.append({
                "found_at": found_at,
                "category": c,
                "severity": int(rng.choice(3, p=SEVERITY_P[c])) + 1,
                "description": text,
                "owner": owner,
                "status": ("ny", "tilldelad", "atgardad", "avvisad")[
                    int(rng.choice(4, p=status_p))],
                "walk_id": walk.id,
                "photo": None,
            })
            cx.append(x)
            cy.append(y)
            target.append(geo.area_codes.index(walk.sdo_code))
    n = len(rows)
    px, py = geo.sample(rng, np.array(cx), np.array(cy), np.full(n, 180.0), np.array(target))
    frame = pd.DataFrame(rows)
    frame.insert(0, "id", [f"demo:find-{i:04d}" for i in range(1, n + 1)])
    frame["found_at"] = frame["found_at"].dt.as_unit("ns")
    frame["severity"] = frame["severity"].astype("int64")
    frame["photo"] = pd.Series([None] * n, dtype=object)
    frame = frame[[f.name for f in FINDINGS.input_fields]]
    return gpd.GeoDataFrame(frame, geometry=shapely.points(px, py), crs=STORE_EPSG)
