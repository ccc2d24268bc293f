"""The GIS formats through pyogrio/GDAL: GeoJSON, GeoPackage, zipped Shapefile, KML, GPX."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from layers.core.errors import FileRejected, RowError
from layers.core.schema import STORE_EPSG, WEB_EPSG, LayerSchema
from layers.io.readers.checks import check_crs_allowed, gdal_path
from layers.io.readers.table import (
    DBF_NAME_LENGTH,
    FORMAT_LABELS,
    RawTable,
    canonical_columns,
    file_headers,
)
from layers.io.readers.waypoints import waypoint_rules


def _pick_layers(source: str, name: str, fmt: str) -> list[str]:
    try:
        with warnings.catch_warnings():
            # GDAL's complaints about a damaged file ("bad application_id") are warnings
            # raised from its error callback; the file is judged by what it can read
            warnings.simplefilter("ignore", RuntimeWarning)
            layers = [str(row[0]) for row in pyogrio.list_layers(source)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise FileRejected(f"Filen {name} kunde inte läsas som {FORMAT_LABELS[fmt]}: "
                           f"{_short(exc)}") from exc
    if fmt == "gpx":
        if "waypoints" not in layers:
            raise FileRejected(f"Filen {name} har inga waypoints (<wpt>); spår och rutter "
                               "läses inte.")
        return ["waypoints"]
    if fmt in ("kml", "kmz"):
        return layers
    return layers[:1]


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]


def _geojson_declares_crs(path: Path) -> bool:
    """Tell whether a GeoJSON file has a ``crs`` member (GDAL assumes WGS 84 otherwise)."""
    with path.open("rb") as fh:
        return any(re.search(rb'"crs"\s*:', block) for block in _blocks(fh))


def _blocks(fh, size: int = 1 << 20):
    """Overlapping blocks of a file, so that a short pattern is never cut in two."""
    tail = b""
    while block := fh.read(size):
        yield tail + block
        tail = block[-16:]


def read_gis(path: Path, name: str, fmt: str, schema: LayerSchema,
              crs: int | None) -> RawTable:
    """Read a GIS file (GeoJSON, GeoPackage, zipped Shapefile, KML, GPX) for ``schema``."""
    if fmt == "geojson":
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"[") and b'"datetime"' in head:
            raise FileRejected(f"Filen {name} ser ut som polisens händelser (en JSON-lista), "
                               "inte GeoJSON. Läs in den med --source polisen.")
    source = gdal_path(path, name, fmt)
    frames = []
    for layer in _pick_layers(source, name, fmt):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # times as text: GDAL would read naive local times as UTC when a
                # column mixes them with times that have an offset
                frames.append(pyogrio.read_dataframe(source, layer=layer,
                                                     datetime_as_string=True))
        except Exception as exc:
            raise FileRejected(f"Filen {name} kunde inte läsas som {FORMAT_LABELS[fmt]}: "
                               f"{_short(exc)}") from exc
    frames = [f for f in frames if len(f)]
    if not frames:
        raise FileRejected(f"Filen {name} innehåller inga objekt.")
    # a table without a geometry column (a plain SQLite or JSON table) reads as a
    # DataFrame: it has no places
    frames = [f for f in frames if isinstance(f, gpd.GeoDataFrame)]
    if not frames:
        raise FileRejected(f"Filen {name} har ingen geometri: objekten saknar plats.")
    file_crs = frames[0].crs
    if fmt == "geojson" and not _geojson_declares_crs(path):
        file_crs = None
    gdf = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    gdf = _lists_as_text(gdf)
    geoms = gpd.GeoSeries(gdf.geometry.to_numpy(), index=gdf.index, crs=file_crs)
    gdf = gpd.GeoDataFrame(pd.DataFrame(gdf.drop(columns="geometry")), geometry=geoms,
                           crs=file_crs)
    source_crs = _resolve_crs(gdf, crs, name)
    gdf = gdf.set_crs(source_crs, allow_override=True).to_crs(STORE_EPSG)
    notes: list[str] = []
    if fmt in ("kml", "kmz", "gpx"):
        gdf = _drop_empty_columns(gdf)
    truncated = DBF_NAME_LENGTH if fmt == "shapefile" else None
    mapping = canonical_columns([c for c in gdf.columns if c != "geometry"], schema,
                                 truncated=truncated, name=name,
                                 strict=fmt not in ("kml", "kmz", "gpx"))
    gdf = gdf.rename(columns=mapping)
    if fmt in ("kml", "kmz", "gpx"):
        gdf = waypoint_rules(gdf, schema, fmt, notes)
    rows = np.arange(len(gdf)) + 1
    problems = [RowError(int(rows[i]), "geometri", "objektet saknar geometri")
                for i in np.flatnonzero(gdf.geometry.isna().to_numpy()
                                        | gdf.geometry.is_empty.to_numpy())]
    gdf = _flatten(gdf)
    return RawTable(gdf, rows, fmt, source_crs, problems, notes, file_headers(mapping))


def _lists_as_text(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cells GDAL read as lists (a JSON array property) as text, so validation can
    name them as wrong values instead of failing on an array."""
    for column in gdf.columns:
        if column == gdf.geometry.name or gdf[column].dtype != object:
            continue
        values = gdf[column]
        listed = values.map(lambda v: isinstance(v, (list, tuple, np.ndarray)))
        if listed.any():
            gdf[column] = values.where(~listed, values[listed].map(
                lambda v: str(list(v.tolist() if isinstance(v, np.ndarray) else v))))
    return gdf


def _resolve_crs(gdf: gpd.GeoDataFrame, crs: int | None, name: str) -> int | str:
    """Decide the CRS of a GIS file: what it declares, else --crs, else refuse."""
    if gdf.crs is not None:
        epsg = gdf.crs.to_epsg(min_confidence=70)
        if crs is not None and epsg is not None and epsg != crs:
            raise FileRejected(f"Filen {name} anger koordinatsystemet EPSG:{epsg}, men --crs "
                               f"{crs} angavs. Ta bort --crs eller rätta filen.")
        # any declared CRS is reprojected; keep the full definition when it has no code
        return epsg if epsg is not None else gdf.crs.to_wkt()
    if crs is not None:
        check_crs_allowed(crs, name)
        return crs
    minx, miny, maxx, maxy = gdf.total_bounds
    if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        return WEB_EPSG
    raise FileRejected(
        f"Filen {name} anger inget koordinatsystem och koordinaterna är inte grader (WGS 84). "
        "Ange --crs 3006 (SWEREF 99 TM) eller --crs 3011 (SWEREF 99 18 00).")


def _drop_empty_columns(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop the columns a KML/GPX driver always lists but the file leaves empty."""
    empty = []
    for col in gdf.columns:
        if col == "geometry":
            continue
        values = gdf[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            blank = values.isna() | (values.astype("string").str.strip() == "")
        else:
            blank = values.isna()
        if blank.all():
            empty.append(col)
    return gdf.drop(columns=empty)


def _flatten(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop Z/M and turn single-part multi points into points."""
    geoms = gdf.geometry.to_numpy()
    present = ~shapely.is_missing(geoms)
    if shapely.has_z(geoms[present]).any():
        geoms[present] = shapely.force_2d(geoms[present])
    is_multi = present & (shapely.get_type_id(geoms) == 4)
    if is_multi.any():
        single = is_multi & (shapely.get_num_geometries(geoms) == 1)
        geoms[single] = shapely.get_geometry(geoms[single], 0)
    return gdf.set_geometry(gpd.GeoSeries(geoms, crs=gdf.crs, index=gdf.index))
