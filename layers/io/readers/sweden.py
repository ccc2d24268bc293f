"""The check that every read place lies in Sweden (else a row error: usually a wrong CRS)."""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from layers.core.errors import RowError
from layers.core.schema import WEB_EPSG
from layers.io.readers.table import SWEDEN_BOUNDS, RawTable


def _crs_label(crs: int | str | None) -> str:
    if crs is None:
        return "okänt"
    if isinstance(crs, int):
        return f"EPSG:{crs}"
    try:
        return CRS.from_user_input(crs).name
    except Exception:  # pyproj raises CRSError
        return "filens eget"


@lru_cache(maxsize=8)
def _inside_sweden_box(crs_wkt: str) -> tuple[float, float, float, float]:
    """A rectangle in ``crs_wkt`` that lies inside SWEDEN_BOUNDS (WGS 84), 1 m inwards.

    The edges of SWEDEN_BOUNDS are sampled every 1/2000 of their length (the curves
    bend by centimetres between samples, less than the metre of margin).
    """
    w, s, e, n = SWEDEN_BOUNDS
    t = np.linspace(0, 1, 2001)
    edges = {
        "west": np.column_stack([np.full_like(t, w), s + t * (n - s)]),
        "east": np.column_stack([np.full_like(t, e), s + t * (n - s)]),
        "south": np.column_stack([w + t * (e - w), np.full_like(t, s)]),
        "north": np.column_stack([w + t * (e - w), np.full_like(t, n)]),
    }
    out = {}
    for side, lonlat in edges.items():
        pts = gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs=WEB_EPSG)
        out[side] = shapely.get_coordinates(pts.to_crs(crs_wkt).to_numpy())
    margin = 1.0
    return (out["west"][:, 0].max() + margin, out["south"][:, 1].max() + margin,
            out["east"][:, 0].min() - margin, out["north"][:, 1].min() - margin)


def check_in_sweden(table: RawTable) -> None:
    """Report rows whose place lies outside Sweden and blank their geometry.

    Places inside a rectangle (in the frame's projected CRS) that lies surely inside
    SWEDEN_BOUNDS are not reprojected; the others are checked in WGS 84.
    """
    geoms = table.frame.geometry
    present = (~(geoms.isna() | geoms.is_empty)).to_numpy()
    if present.any() and geoms.crs is not None and geoms.crs.is_projected:
        x0, y0, x1, y1 = _inside_sweden_box(geoms.crs.to_wkt())
        b = shapely.bounds(geoms.to_numpy())
        with np.errstate(invalid="ignore"):
            surely = present & (b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 1] >= y0) & \
                (b[:, 3] <= y1)
        if surely.sum() == present.sum():
            return
        if surely.any():
            # check only the others; the "all outside" note cannot apply any more
            rest = table.frame.iloc[~surely]
            sub = RawTable(rest, table.rows[~surely], table.fmt, table.source_crs, [])
            _check_in_sweden_wgs84(sub)
            problems = [p for p in sub.problems if p.row is not None]
            table.problems.extend(problems)
            if problems:
                blanked = geoms.to_numpy().copy()
                blanked[~surely] = sub.frame.geometry.to_numpy()
                table.frame = table.frame.set_geometry(
                    gpd.GeoSeries(blanked, crs=geoms.crs, index=geoms.index))
            return
    _check_in_sweden_wgs84(table)


def _check_in_sweden_wgs84(table: RawTable) -> None:
    """Report rows whose place lies outside Sweden and blank their geometry (in WGS 84)."""
    geoms = table.frame.geometry
    present = (~(geoms.isna() | geoms.is_empty)).to_numpy()
    if not present.any():
        return
    positions = np.flatnonzero(present)
    projected = geoms.iloc[positions]
    finite = np.isfinite(projected.bounds.to_numpy()).all(axis=1)
    wgs = projected.to_crs(WEB_EPSG)
    b = wgs.bounds
    w, s, e, n = SWEDEN_BOUNDS
    outside = ~finite | ((b.minx < w) | (b.maxx > e) | (b.miny < s) | (b.maxy > n)).to_numpy()
    crs = _crs_label(table.source_crs)
    for k in np.flatnonzero(outside):
        pos = int(positions[k])
        if not finite[k]:
            msg = (f"koordinaterna kunde inte räknas om från koordinatsystemet {crs} — "
                   "kontrollera koordinaterna och koordinatsystemet (--crs)")
        else:
            c = wgs.iloc[k].centroid
            msg = (f"platsen ({c.y:.5f}, {c.x:.5f} i WGS 84) ligger utanför Sverige — "
                   "kontrollera koordinaterna och koordinatsystemet")
        table.problems.append(RowError(int(table.rows[pos]), "geometri", msg))
    if outside.all():
        table.problems.append(RowError(
            None, "geometri",
            f"alla platser i filen ({int(outside.sum())}) ligger utanför Sverige: filen har "
            "troligen ett "
            f"annat koordinatsystem än {crs} (ange rätt med --crs 3006, 3011 eller 4326)"))
    if outside.any():
        blanked = geoms.to_numpy().copy()
        blanked[positions[outside]] = None
        table.frame = table.frame.set_geometry(
            gpd.GeoSeries(blanked, crs=geoms.crs, index=geoms.index))
