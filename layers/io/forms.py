"""One row typed into a web form, validated like a row of an imported file.

A form is "row 1" of a one-row table: :func:`validate_form` runs it through
:func:`layers.io.validate.validate`, so a form, a file and the JSON API give the same
Swedish message for the same mistake ("värde saknas (datum är obligatoriskt)").
Geometries drawn on a map arrive as GeoJSON in WGS 84: :func:`geometry_from_geojson`
reads them and names what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from layers.core.errors import RowError
from layers.core.schema import STORE_EPSG, WEB_EPSG, LayerSchema
from layers.io.readers import SWEDEN_BOUNDS, RawTable
from layers.io.validate import Validated, validate

#: The id namespace of rows typed into the web app.
FORM_SOURCE = "webb"

#: Geometry kinds a drawn shape may have, by what is drawn.
_KINDS = {
    "polygon": ("Polygon", "MultiPolygon"),
    "line": ("LineString", "MultiLineString"),
}
_KIND_LABELS = {"polygon": "en yta (polygon)", "line": "en linje"}


def validate_form(schema: LayerSchema, values: Mapping[str, object],
                  geometry: BaseGeometry | None = None, *,
                  source: str = FORM_SOURCE) -> Validated:
    """Validate one form's values (and geometry in EPSG:3011) against ``schema``.

    Blank strings count as missing. Returns the one-row frame (empty when invalid)
    and the errors, each on row 1.
    """
    clean = {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in values.items()}
    frame = pd.DataFrame([clean], dtype=object)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([geometry], crs=STORE_EPSG),
                           crs=STORE_EPSG)
    return validate(RawTable(gdf, np.array([1]), "form", STORE_EPSG), schema, source=source)


def geometry_from_geojson(text: str | None, kind: str, field: str = "geometri",
                          *, required: bool = True) -> tuple[BaseGeometry | None,
                                                             list[RowError]]:
    """Read a drawn shape (GeoJSON geometry, Feature or FeatureCollection in WGS 84).

    ``kind`` is ``polygon`` or ``line``; several drawn parts become one multi
    geometry. Returns the geometry in EPSG:3011 (polygons as MultiPolygon, lines as
    MultiLineString) or None, and the errors on row 1.
    """
    if not text or not str(text).strip():
        if required:
            return None, [RowError(1, field, f"rita {_KIND_LABELS[kind]} på kartan")]
        return None, []
    try:
        data = json.loads(text)
        parts = _geometries(data)
        geoms = [shapely.from_geojson(json.dumps(p)) for p in parts]
    except (ValueError, TypeError, shapely.errors.GEOSException):
        return None, [RowError(1, field, "formen från kartan kunde inte läsas (ogiltig GeoJSON)")]
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        if required:
            return None, [RowError(1, field, f"rita {_KIND_LABELS[kind]} på kartan")]
        return None, []
    wrong = [g.geom_type for g in geoms if g.geom_type not in _KINDS[kind]]
    if wrong:
        return None, [RowError(1, field, f"formen är en {wrong[0]}, men här ska det vara "
                                         f"{_KIND_LABELS[kind]}")]
    merged = shapely.union_all(geoms) if kind == "polygon" else \
        shapely.MultiLineString([line for g in geoms for line in getattr(g, "geoms", [g])])
    minx, miny, maxx, maxy = merged.bounds
    w, s, e, n = SWEDEN_BOUNDS
    if not (w <= minx and maxx <= e and s <= miny and maxy <= n):
        return None, [RowError(1, field, "formen ligger utanför Sverige")]
    projected = gpd.GeoSeries([merged], crs=WEB_EPSG).to_crs(STORE_EPSG).iloc[0]
    if kind == "polygon":
        if not projected.is_valid:
            return None, [RowError(1, field, "polygonen korsar sig själv; rita om den")]
        if projected.geom_type == "Polygon":
            projected = shapely.MultiPolygon([projected])
    return projected, []


def _geometries(data: object) -> list[dict]:
    """The geometry objects in a GeoJSON geometry, Feature or FeatureCollection."""
    if not isinstance(data, dict):
        raise ValueError("not a GeoJSON object")
    kind = data.get("type")
    if kind == "FeatureCollection":
        return [g for f in data.get("features") or [] for g in _geometries(f)]
    if kind == "Feature":
        return [] if data.get("geometry") is None else _geometries(data["geometry"])
    if kind == "GeometryCollection":
        return [g for part in data.get("geometries") or [] for g in _geometries(part)]
    if kind in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                "MultiPolygon"):
        return [data]
    raise ValueError(f"unknown GeoJSON type {kind!r}")


def errors_by_field(errors: list[RowError]) -> dict[str, str]:
    """The first message per field, for showing errors next to form fields."""
    out: dict[str, str] = {}
    for e in errors:
        out.setdefault(e.field or "", e.message)
    return out
