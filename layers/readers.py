"""Readers: turn any input file into a frame with our column names and geometry.

Formats: CSV (what Swedish Excel writes too: Windows-1252, ``;``, decimal commas),
GeoJSON, GeoPackage, zipped Shapefile, KML and GPX (through pyogrio/GDAL). Every
reader returns a :class:`RawTable` in the store CRS (EPSG:3011) with the row
numbers the user sees, so validation can name "rad 7, fält 'datum'". Problems
with the file as a whole raise :class:`~layers.errors.FileRejected`.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from layers.errors import FileRejected, RowError
from layers.schema import ACCEPTED_EPSG, STORE_EPSG, WEB_EPSG, LayerSchema

LOGGER = logging.getLogger(__name__)

#: Files larger than this are refused before anything is parsed.
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
#: A zip may expand to at most this many bytes, and this many times its own size.
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024
MAX_ZIP_RATIO = 100

#: Sweden's extent in WGS 84, with a margin: points outside are refused.
SWEDEN_BOUNDS = (10.0, 55.0, 24.5, 69.2)

FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv",
    ".geojson": "geojson", ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shapefile",
    ".kml": "kml", ".kmz": "kmz",
    ".gpx": "gpx",
}
FORMAT_LABELS = {
    "csv": "CSV", "geojson": "GeoJSON", "gpkg": "GeoPackage", "shapefile": "zippad Shapefile",
    "kml": "KML", "kmz": "KMZ", "gpx": "GPX",
}

LON_NAMES = ("lon", "long", "longitude", "lng", "längdgrad", "langdgrad")
LAT_NAMES = ("lat", "latitude", "breddgrad")
X_NAMES = ("x", "e", "easting", "öst", "ost", "e_koordinat", "x_koordinat")
Y_NAMES = ("y", "n", "northing", "nord", "n_koordinat", "y_koordinat")


@dataclass
class RawTable:
    """A file read into our column names, not yet validated.

    ``frame`` holds the attribute columns (strings for CSV, typed for GIS formats)
    and a geometry in EPSG:3011; ``rows`` the row number the user sees for each
    row; ``problems`` the rows whose place could not be read.
    """

    frame: gpd.GeoDataFrame
    rows: np.ndarray
    fmt: str
    source_crs: int | None
    problems: list[RowError] = field(default_factory=list)


def detect_format(path: Path) -> str:
    """Tell the format from the file name, or refuse the file."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(set(FORMATS)))
        raise FileRejected(f"Filen {path.name}: okänt filformat '{path.suffix}'. "
                           f"Tillåtna filändelser: {known}.")
    return fmt


def read_table(path: str | Path, schema: LayerSchema, *, crs: int | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, display_name: str | None = None) -> RawTable:
    """Read a file of any supported format for the layer ``schema``."""
    path = Path(path)
    name = display_name or path.name
    if not path.is_file():
        raise FileRejected(f"Filen {name} finns inte.")
    size = path.stat().st_size
    if size == 0:
        raise FileRejected(f"Filen {name} är tom.")
    if size > max_bytes:
        raise FileRejected(f"Filen {name} är för stor ({size / 1e6:.1f} MB); "
                           f"högst {max_bytes / 1e6:.0f} MB tas emot.")
    fmt = detect_format(Path(name))
    if fmt == "csv":
        table = _read_csv(path, name, schema, crs)
    else:
        table = _read_gis(path, name, fmt, schema, crs)
    _check_in_sweden(table)
    return table


# --- CSV -------------------------------------------------------------------------------


def decode_text(data: bytes, name: str) -> str:
    """Decode a text file: UTF-8 (with or without BOM), else Windows-1252."""
    head = data[:8192]
    if b"\x00" in head:
        raise FileRejected(f"Filen {name} är inte en textfil (den innehåller binära data). "
                           "Spara den som CSV (semikolon- eller kommaseparerad).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        LOGGER.info("%s is not UTF-8, reading it as Windows-1252", name)
        text = data.decode("cp1252", errors="replace")
        if text.count("\ufffd") > max(3, len(text) // 100):
            raise FileRejected(f"Filen {name} har en teckenkodning som inte kan läsas "
                               "(varken UTF-8 eller Windows-1252).") from None
        return text


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        header = text.splitlines()[0] if text else ""
        return max(";,\t", key=header.count)


def _canonical_columns(columns: list[str], schema: LayerSchema) -> dict[str, str]:
    """Map file headers to our field names (case and surrounding space ignored)."""
    lookup: dict[str, str] = {}
    for f in schema.input_fields:
        for key in (f.name, f.label, *f.aliases):
            lookup.setdefault(key.strip().lower(), f.name)
    for names, target in ((LON_NAMES, "lon"), (LAT_NAMES, "lat"), (X_NAMES, "x"),
                          (Y_NAMES, "y")):
        for key in names:
            lookup.setdefault(key, target)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        target = lookup.get(str(col).strip().lower())
        if target and target not in taken:
            mapping[col] = target
            taken.add(target)
    return mapping


def parse_number(values: pd.Series) -> pd.Series:
    """Parse numbers written the Swedish way too ("59,3293", "6 580 000")."""
    text = values.astype("string").str.strip()
    text = text.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    text = text.str.replace("\u2212", "-", regex=False).str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce")


def _read_csv(path: Path, name: str, schema: LayerSchema, crs: int | None) -> RawTable:
    text = decode_text(path.read_bytes(), name)
    if not text.strip():
        raise FileRejected(f"Filen {name} är tom.")
    delimiter = _sniff_delimiter(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            skip_blank_lines=True, on_bad_lines="error", engine="python")
    except (pd.errors.ParserError, csv.Error) as exc:
        raise FileRejected(f"Filen {name} kunde inte läsas som CSV: {exc}") from exc
    if frame.empty:
        raise FileRejected(f"Filen {name} har rubriker men inga rader.")
    frame = frame.rename(columns=_canonical_columns(list(frame.columns), schema))
    # Excel row numbers: the header is row 1
    rows = np.arange(len(frame)) + 2
    problems: list[RowError] = []
    if {"lon", "lat"} <= set(frame.columns):
        xcol, ycol, labels = "lon", "lat", ("lon", "lat")
        if crs not in (None, WEB_EPSG):
            raise FileRejected(f"Filen {name} har kolumnerna lon/lat (WGS 84) men --crs "
                               f"{crs} angavs. Använd x/y för SWEREF-koordinater.")
        crs = WEB_EPSG
    elif {"x", "y"} <= set(frame.columns):
        xcol, ycol, labels = "x", "y", ("x", "y")
        if crs is None:
            raise FileRejected(
                f"Filen {name} har koordinaterna x/y men inget koordinatsystem. Ange det med "
                "--crs 3006 (SWEREF 99 TM) eller --crs 3011 (SWEREF 99 18 00), eller använd "
                "kolumnerna lon/lat i WGS 84.")
    else:
        raise FileRejected(
            f"Filen {name} saknar koordinatkolumner: ange 'lon' och 'lat' (WGS 84) eller "
            f"'x' och 'y' (SWEREF 99) med --crs. Kolumner i filen: {', '.join(frame.columns)}.")
    _check_crs_allowed(crs, name)
    xs, ys = parse_number(frame[xcol]), parse_number(frame[ycol])
    for col, values, label in ((xcol, xs, labels[0]), (ycol, ys, labels[1])):
        bad = values.isna().to_numpy()
        for i in np.flatnonzero(bad):
            raw = frame[col].iloc[i]
            msg = "värde saknas" if not str(raw).strip() else f"'{raw}' är inte ett tal"
            problems.append(RowError(int(rows[i]), label, msg))
    geoms = shapely.points(xs.to_numpy(dtype=float), ys.to_numpy(dtype=float))
    geoms[np.isnan(xs.to_numpy(dtype=float)) | np.isnan(ys.to_numpy(dtype=float))] = None
    frame = frame.drop(columns=[xcol, ycol])
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    return RawTable(gdf.to_crs(STORE_EPSG), rows, "csv", crs, problems)


# --- GIS formats ---------------------------------------------------------------------------


def _check_crs_allowed(crs: int | None, name: str) -> None:
    if crs is not None and crs not in ACCEPTED_EPSG:
        try:
            CRS.from_epsg(crs)
        except Exception as exc:  # pyproj raises CRSError
            raise FileRejected(f"Filen {name}: okänt koordinatsystem EPSG:{crs}.") from exc


def _check_xml(path: Path, name: str) -> None:
    """Refuse XML with a DTD: entity expansion ("billion laughs") is an attack."""
    head = path.read_bytes()[:1_000_000]
    if re.search(rb"<!(DOCTYPE|ENTITY)", head, re.IGNORECASE):
        raise FileRejected(f"Filen {name} innehåller en DTD (<!DOCTYPE/<!ENTITY>), vilket inte "
                           "tillåts av säkerhetsskäl. Exportera filen igen utan den.")


def _check_zip(path: Path, name: str) -> None:
    """Refuse a zip that expands too much (a zip bomb) or is not a zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise FileRejected(f"Filen {name} är ingen giltig zip-fil.") from exc
    total = sum(i.file_size for i in infos)
    size = max(path.stat().st_size, 1)
    if total > MAX_UNZIPPED_BYTES or total / size > MAX_ZIP_RATIO:
        raise FileRejected(f"Zip-filen {name} packas upp till {total / 1e6:.0f} MB, mer än "
                           f"tillåtet ({MAX_UNZIPPED_BYTES / 1e6:.0f} MB, högst "
                           f"{MAX_ZIP_RATIO} gånger filens storlek). Inget sparades.")


def _gdal_path(path: Path, name: str, fmt: str) -> str:
    if fmt == "shapefile":
        _check_zip(path, name)
        with zipfile.ZipFile(path) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        if not shps:
            raise FileRejected(f"Zip-filen {name} innehåller ingen .shp-fil.")
        return f"/vsizip/{path}/{shps[0]}"
    if fmt == "kmz":
        _check_zip(path, name)
        return f"/vsizip/{path}"
    if fmt in ("kml", "gpx"):
        _check_xml(path, name)
    return str(path)


def _pick_layers(source: str, name: str, fmt: str) -> list[str]:
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(source)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise FileRejected(f"Filen {name} kunde inte läsas som {FORMAT_LABELS[fmt]}: "
                           f"{_short(exc)}") from exc
    if fmt == "gpx":
        return [layer for layer in layers if layer == "waypoints"] or layers[:1]
    if fmt in ("kml", "kmz"):
        return layers
    return layers[:1]


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]


def _read_gis(path: Path, name: str, fmt: str, schema: LayerSchema,
              crs: int | None) -> RawTable:
    source = _gdal_path(path, name, fmt)
    frames = []
    for layer in _pick_layers(source, name, fmt):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frames.append(pyogrio.read_dataframe(source, layer=layer))
        except Exception as exc:
            raise FileRejected(f"Filen {name} kunde inte läsas som {FORMAT_LABELS[fmt]}: "
                               f"{_short(exc)}") from exc
    frames = [f for f in frames if len(f)]
    if not frames:
        raise FileRejected(f"Filen {name} innehåller inga objekt.")
    file_crs = frames[0].crs
    gdf = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=file_crs)
    source_crs = _resolve_crs(gdf, crs, name)
    gdf = gdf.set_crs(source_crs, allow_override=True).to_crs(STORE_EPSG)
    gdf = gdf.rename(columns=_canonical_columns(
        [c for c in gdf.columns if c != "geometry"], schema))
    rows = np.arange(len(gdf)) + 1
    problems = [RowError(int(rows[i]), "geometri", "objektet saknar geometri")
                for i in np.flatnonzero(gdf.geometry.isna().to_numpy()
                                        | gdf.geometry.is_empty.to_numpy())]
    gdf = _flatten(gdf)
    return RawTable(gdf, rows, fmt, source_crs, problems)


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
        _check_crs_allowed(crs, name)
        return crs
    minx, miny, maxx, maxy = gdf.total_bounds
    if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        return WEB_EPSG
    raise FileRejected(
        f"Filen {name} anger inget koordinatsystem och koordinaterna är inte grader (WGS 84). "
        "Ange --crs 3006 (SWEREF 99 TM) eller --crs 3011 (SWEREF 99 18 00).")


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


def _check_in_sweden(table: RawTable) -> None:
    """Report rows whose place lies outside Sweden (and blank their geometry)."""
    geoms = table.frame.geometry
    present = ~(geoms.isna() | geoms.is_empty)
    if not present.any():
        return
    wgs = geoms[present].to_crs(WEB_EPSG)
    b = wgs.bounds
    w, s, e, n = SWEDEN_BOUNDS
    outside = (b.minx < w) | (b.maxx > e) | (b.miny < s) | (b.maxy > n)
    for idx in np.flatnonzero(outside.to_numpy()):
        pos = int(np.flatnonzero(present.to_numpy())[idx])
        c = wgs.iloc[idx].centroid
        table.problems.append(RowError(
            int(table.rows[pos]), "geometri",
            f"platsen ({c.y:.5f}, {c.x:.5f} i WGS 84) ligger utanför Sverige — "
            "kontrollera koordinaterna och koordinatsystemet"))
