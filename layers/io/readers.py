"""Readers: turn any input file into a frame with our column names and geometry.

Formats: CSV (what Swedish Excel writes too: Windows-1252, ``;``, decimal commas),
GeoJSON, GeoPackage, zipped Shapefile, KML and GPX (through pyogrio/GDAL). Every
reader returns a :class:`RawTable` in the store CRS (EPSG:3011) with the row
numbers the user sees, so validation can name "rad 7, fält 'datum'". Problems
with the file as a whole raise :class:`~layers.core.errors.FileRejected`.

Coordinate systems: a GIS file's declared CRS is used (and reprojected, whatever it
is); ``--crs`` must then agree with it. A GeoJSON file without a ``crs`` member, a
Shapefile without ``.prj`` and a CSV with ``x``/``y`` declare nothing: they need
``--crs``, except that coordinates in degrees are taken as WGS 84. Places outside
Sweden are row errors (usually a wrong ``--crs``).

KML and GPX (waypoints) carry a name, a description and a time but rarely our
columns, so for them:

* the time comes from the layer's time column (``datum`` in ExtendedData), else from
  the element's own time (``<TimeStamp><when>``, GPX ``<time>``);
* ``description`` is the name and the description joined with " – " (HTML tags of
  KML descriptions removed);
* a row with an empty or no ``kategori`` column (or GPX ``<type>``) gets as category the
  first category name, code or alias written in the name, else in the description
  (whole words, any case: "Belysning: trasig lampa" → belysning, "Mörkt vid tunneln"
  → belysning); a row where none is found is a row error that quotes the name;
* findings without an ``allvarlighet`` column, or rows with an empty one, get
  severity 2 (medel), and the import report says so.
"""

from __future__ import annotations

import csv
import html
import io
import logging
import re
import sqlite3
import warnings
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from layers.core.errors import FileRejected, RowError
from layers.core.schema import ACCEPTED_EPSG, STORE_EPSG, WEB_EPSG, LayerSchema, category_lookup
from layers.io.exporters import spreadsheet_text

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

LON_NAMES = ("lon", "long", "longitude", "longitud", "lng", "längdgrad", "langdgrad")
LAT_NAMES = ("lat", "latitude", "latitud", "breddgrad")
#: What the coordinate columns mean, for messages.
COORDINATE_LABELS = {"lon": "longitud", "lat": "latitud", "x": "x-koordinat",
                     "y": "y-koordinat"}
X_NAMES = ("x", "e", "easting", "öst", "ost", "e_koordinat", "x_koordinat")
Y_NAMES = ("y", "n", "northing", "nord", "n_koordinat", "y_koordinat")
WKT_NAMES = ("wkt", "geometry", "geometri", "geom")
#: Shapefile (dBase) field names are cut to this many characters.
DBF_NAME_LENGTH = 10
#: KML/GPX columns that hold the element's own time, in order of preference.
ELEMENT_TIME_NAMES = ("timestamp", "time", "when", "begin")
#: Severity given to findings from KML/GPX files that have no severity column.
DEFAULT_WAYPOINT_SEVERITY = 2


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
    source_crs: int | str | None
    problems: list[RowError] = field(default_factory=list)
    #: Things the import report should tell (defaults applied, …).
    notes: list[str] = field(default_factory=list)
    #: The file's own header of a field, where it differs from our name
    #: (``{"occurred_at": "datum"}``), so messages name the column the user sees.
    headers: dict[str, str] = field(default_factory=dict)


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
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        LOGGER.info("%s is not UTF-8, reading it as Windows-1252", name)
        text = data.decode("cp1252", errors="replace")
        if text.count("\ufffd") > max(3, len(text) // 100):
            raise FileRejected(f"Filen {name} har en teckenkodning som inte kan läsas "
                               "(varken UTF-8 eller Windows-1252).") from None
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    if controls > max(2, len(sample) // 200):
        raise FileRejected(f"Filen {name} är inte en textfil (den innehåller binära data). "
                           "Spara den som CSV (semikolon- eller kommaseparerad).")
    return text


def _sniff_delimiter(text: str) -> str:
    """The separator is the one the header line uses most (headers have no decimals)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    best = max(";,\t|", key=header.count)
    if header.count(best):
        return best
    try:
        return csv.Sniffer().sniff("\n".join(text.splitlines()[:20]),
                                   delimiters=";,\t|").delimiter
    except csv.Error:
        return ","


def _canonical_columns(columns: list[str], schema: LayerSchema, *,
                       truncated: int | None = None, name: str | None = None,
                       strict: bool = True) -> dict[str, str]:
    """Map file headers to our field names (case and surrounding space ignored).

    ``truncated`` also accepts names cut to that many characters (Shapefile fields:
    ``beskrivnin`` is ``beskrivning``); a full name wins over a cut one.

    Two columns meaning the same field (``datum`` and ``occurred_at``) are refused
    with :class:`FileRejected` when ``strict``; otherwise (KML/GPX, whose element
    fields ``time``, ``desc`` … may meet an explicit column) the column named exactly
    like the field, else the first one, wins and the others keep their names.
    """
    lookup: dict[str, str] = {}
    for f in schema.input_fields:
        for key in (f.name, f.label, *f.aliases):
            lookup.setdefault(key.strip().lower(), f.name)
    for names, target in ((LON_NAMES, "lon"), (LAT_NAMES, "lat"), (X_NAMES, "x"),
                          (Y_NAMES, "y")):
        for key in names:
            lookup.setdefault(key, target)
    full = dict(lookup)
    if truncated:
        for key, target in list(lookup.items()):
            lookup.setdefault(key[:truncated], target)
    groups: dict[str, list] = {}
    for col in columns:
        target = lookup.get(str(col).strip().lower())
        if target:
            groups.setdefault(target, []).append(col)
    mapping: dict[str, str] = {}
    for target, cols in groups.items():
        if len(cols) > 1 and truncated:
            # a full name wins over a cut one
            whole = [c for c in cols if str(c).strip().lower() in full]
            cols = whole or cols
        if len(cols) > 1 and strict:
            label = COORDINATE_LABELS.get(target) or schema.field(target).label
            names = " och ".join(f"'{c}'" for c in cols[:2]) if len(cols) == 2 else \
                ", ".join(f"'{c}'" for c in cols[:-1]) + f" och '{cols[-1]}'"
            prefix = f"Filen {name} har två kolumner för samma fält. " if name else ""
            raise FileRejected(f"{prefix}Kolumnerna {names} betyder båda {label}; "
                               f"ta bort {'den ena' if len(cols) == 2 else 'alla utom en'}.")
        exact = [c for c in cols if str(c) == target]
        mapping[exact[0] if exact else cols[0]] = target
    return mapping


def _headers(mapping: dict[str, str]) -> dict[str, str]:
    """Our field name → the file's header, where they differ."""
    return {target: str(col) for col, target in mapping.items() if str(col) != target}


def parse_number(values: pd.Series) -> pd.Series:
    """Parse numbers written the Swedish way too ("59,3293", "6 580 000")."""
    direct = pd.to_numeric(values.astype("string"), errors="coerce")
    if not (direct.isna() & values.notna()).any():
        return direct  # plain numbers: the clean-up below would change nothing
    text = values.astype("string").str.strip()
    text = text.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    text = text.str.replace("\u2212", "-", regex=False).str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce")


#: The csv module's limit on a field's length; longer lines go through the csv module.
_CSV_FIELD_LIMIT = csv.field_size_limit()


def _split_csv(text: str, name: str) -> tuple[list[str], list[list[str]] | pd.DataFrame,
                                               np.ndarray]:
    """Split CSV text into a header, rows and the row number (as in Excel) of each row.

    Excel numbers records, not lines: the header is row 1, a quoted cell with line
    breaks is still one row, and blank lines count (they are skipped here). A file
    without quote characters is split by pandas' C parser (the rows come back as a
    frame of strings, see :func:`_split_unquoted`); anything else by the csv module.
    """
    first, _, rest = text.partition("\n")
    if re.fullmatch(r"sep=.\r?", first):
        # Excel's "sep=;" line names the separator and is not shown as a row
        delimiter, text = first[4], rest
    else:
        delimiter = _sniff_delimiter(text)
    fast = _split_unquoted(text, delimiter)
    if fast is not None:
        return fast
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    try:
        for number, record in enumerate(reader, start=1):
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip() for cell in record]
                continue
            rows.append(record)
            numbers.append(number)
    except csv.Error as exc:
        raise FileRejected(f"Filen {name} kunde inte läsas som CSV (rad {reader.line_num}): "
                           f"{exc}") from exc
    if header is None:
        raise FileRejected(f"Filen {name} är tom.")
    return header, rows, np.asarray(numbers, dtype=int)


def _split_unquoted(text: str, delimiter: str) -> tuple[list[str], pd.DataFrame,
                                                        np.ndarray] | None:
    """Header, cells and Excel row numbers of a CSV without quote characters.

    Without quotes every line is one record, so pandas' C parser can split the
    text and a record's row number is its line number. Returns None when the
    file needs the csv module (quotes, lone carriage returns, NUL characters,
    huge lines, a record with more cells than the header, blank lines before the
    header); the csv module gives the same frame, row numbers and problems then.
    """
    if '"' in text or "\x00" in text:
        return None
    body = text[:-1] if text.endswith("\n") else text
    raw = np.frombuffer(body.encode("utf-8"), dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    lengths = np.diff(np.concatenate([[-1], ends, [len(raw)]])) - 1
    if lengths.max(initial=0) > _CSV_FIELD_LIMIT:
        return None
    try:
        cells = pd.read_csv(io.StringIO(body), sep=delimiter, header=None, dtype=object,
                            na_filter=False, quoting=csv.QUOTE_NONE, engine="c",
                            skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return None
    if len(cells) != len(ends) + 1:
        return None  # lone \r line breaks or other surprises: let the csv module decide
    # blank records (only spaces and separators) are skipped, as the csv module's loop
    # does; a column is checked only for the rows still blank so far
    blank = np.ones(len(cells), bool)
    for col in cells.columns:
        if not blank.any():
            break
        values = cells[col].to_numpy()[blank]
        blank[blank] = pd.Series(values, dtype=object).str.strip().to_numpy() == ""
    keep = np.flatnonzero(~blank)
    if len(keep) == 0 or keep[0] != 0:
        return None  # the parser took its width from a line that is not the header
    header = [str(c).strip() for c in cells.iloc[keep[0]].tolist()]
    data = cells.iloc[keep[1:]].reset_index(drop=True)
    return header, data, keep[1:] + 1


def _csv_frame(header: list[str], records: list[list[str]] | pd.DataFrame,
               numbers: np.ndarray, problems: list[RowError]) -> pd.DataFrame:
    """Put CSV records into a frame of strings; rows with too many cells are errors.

    ``records`` is a frame already when :func:`_split_unquoted` split the file (its
    records are never wider than the header).
    """
    columns, seen = [], set()
    for i, col in enumerate(header):
        col = col or f"kolumn_{i + 1}"
        while col in seen:
            col += "_"
        seen.add(col)
        columns.append(col)
    if isinstance(records, pd.DataFrame):
        records.columns = columns
        return records
    width = len(header)
    cells = []
    for record, number in zip(records, numbers, strict=True):
        extra = [c for c in record[width:] if c.strip()]
        if extra:
            problems.append(RowError(int(number), None,
                                     f"raden har {len(record)} fält men rubrikraden har {width} "
                                     "(kontrollera avgränsare och citattecken)"))
        cells.append((record + [""] * width)[:width])
    return pd.DataFrame(cells, columns=columns, dtype=object)


def _read_csv(path: Path, name: str, schema: LayerSchema, crs: int | None) -> RawTable:
    text = decode_text(path.read_bytes(), name)
    if not text.strip():
        raise FileRejected(f"Filen {name} är tom.")
    header, records, rows = _split_csv(text, name)
    if len(records) == 0:
        raise FileRejected(f"Filen {name} har rubriker men inga rader.")
    problems: list[RowError] = []
    # our own CSV exports escape formula-like texts with an apostrophe: undo it
    frame = spreadsheet_text(_csv_frame(header, records, rows, problems))
    mapping = _canonical_columns(list(frame.columns), schema, name=name)
    headers = _headers(mapping)
    frame = frame.rename(columns=mapping)
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
        wkt = next((c for c in frame.columns if str(c).strip().lower() in WKT_NAMES), None)
        if wkt is not None:
            table = _read_wkt_csv(frame, wkt, rows, name, crs, problems)
            table.headers = headers
            return table
        raise FileRejected(
            f"Filen {name} saknar koordinatkolumner: ange 'lon' och 'lat' (WGS 84) eller "
            f"'x' och 'y' (SWEREF 99) med --crs. Kolumner i filen: "
            f"{', '.join(str(h) for h in header)}.")
    _check_crs_allowed(crs, name)
    xs, ys = parse_number(frame[xcol]), parse_number(frame[ycol])
    for col, values, label in ((xcol, xs, labels[0]), (ycol, ys, labels[1])):
        bad = values.isna().to_numpy()
        for i in np.flatnonzero(bad):
            raw = frame[col].iloc[i]
            msg = "värde saknas" if not str(raw).strip() else f"'{raw}' är inte ett tal"
            problems.append(RowError(int(rows[i]), label, msg, header=headers.get(label)))
    geoms = shapely.points(xs.to_numpy(dtype=float), ys.to_numpy(dtype=float))
    geoms[np.isnan(xs.to_numpy(dtype=float)) | np.isnan(ys.to_numpy(dtype=float))] = None
    frame = frame.drop(columns=[xcol, ycol])
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    return RawTable(gdf.to_crs(STORE_EPSG), rows, "csv", crs, problems, headers=headers)


def _read_wkt_csv(frame: pd.DataFrame, column: str, rows: np.ndarray, name: str,
                  crs: int | None, problems: list[RowError]) -> RawTable:
    """A CSV with the geometry as WKT (what ``export`` writes for lines and polygons)."""
    crs = WEB_EPSG if crs is None else crs
    _check_crs_allowed(crs, name)
    text = frame[column].astype(str).str.strip()
    # blank cells are missing geometries (np.where: Series.where would put NaN there)
    geoms = shapely.from_wkt(np.where(text != "", text, None).astype(object),
                             on_invalid="ignore")
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        raw = text.iloc[i]
        msg = "värde saknas" if not raw else f"'{raw[:60]}' är inte en giltig WKT-geometri"
        problems.append(RowError(int(rows[i]), column, msg))
    frame = frame.drop(columns=[column])
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    return RawTable(gdf.to_crs(STORE_EPSG), rows, "csv", crs, problems)


# --- GIS formats ---------------------------------------------------------------------------


def _check_crs_allowed(crs: int | None, name: str) -> None:
    if crs is not None and crs not in ACCEPTED_EPSG:
        try:
            CRS.from_epsg(crs)
        except Exception as exc:  # pyproj raises CRSError
            raise FileRejected(f"Filen {name}: okänt koordinatsystem EPSG:{crs}.") from exc


_DTD_RE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _check_xml_bytes(head: bytes, name: str) -> None:
    """Refuse XML with a DTD: entity expansion ("billion laughs") is an attack."""
    if _DTD_RE.search(head):
        raise FileRejected(f"Filen {name} innehåller en DTD (<!DOCTYPE/<!ENTITY>), vilket inte "
                           "tillåts av säkerhetsskäl. Exportera filen igen utan den.")


def _check_xml(path: Path, name: str) -> None:
    # a DTD must come before the root element, so the head of the file is enough
    with path.open("rb") as fh:
        _check_xml_bytes(fh.read(1_000_000), name)


def _check_zip(path: Path, name: str) -> list[str]:
    """Refuse a zip that expands too much (a zip bomb) or is not a zip; list its members."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected(f"Filen {name} är ingen giltig zip-fil.") from exc
    total = sum(i.file_size for i in infos)
    size = max(path.stat().st_size, 1)
    if total > MAX_UNZIPPED_BYTES or total / size > MAX_ZIP_RATIO:
        raise FileRejected(f"Zip-filen {name} packas upp till {total / 1e6:.1f} MB, mer än "
                           f"tillåtet ({MAX_UNZIPPED_BYTES / 1e6:.1f} MB, högst "
                           f"{MAX_ZIP_RATIO} gånger filens storlek). Inget sparades.")
    return [i.filename for i in infos if not i.is_dir()]


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_gpkg(path: Path, name: str) -> None:
    """Refuse a GeoPackage that is not SQLite, is cut short or is corrupt.

    GDAL reads what it can of a damaged file, so a truncated upload could otherwise
    load only some of its rows.
    """
    with path.open("rb") as fh:
        header = fh.read(100)
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise FileRejected(f"Filen {name} är ingen GeoPackage (den är inte en SQLite-databas).")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    size = path.stat().st_size
    damaged = f"Filen {name} är skadad eller ofullständig (avkortad?) och kan inte läsas som " \
              "GeoPackage. Exportera eller kopiera den igen."
    header_valid = pages > 0 and header[24:28] == header[92:96]
    if page_size < 512 or size % page_size or (header_valid and pages * page_size > size):
        raise FileRejected(damaged)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            result = conn.execute("PRAGMA quick_check").fetchall()
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        finally:
            conn.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        # a damaged page can hold a name or a check message that is not UTF-8
        raise FileRejected(damaged) from exc
    if result != [("ok",)]:
        raise FileRejected(damaged)
    if "gpkg_contents" not in tables:
        raise FileRejected(f"Filen {name} är en SQLite-databas men ingen GeoPackage "
                           "(tabellen gpkg_contents saknas).")


def _gdal_path(path: Path, name: str, fmt: str) -> str:
    if fmt == "shapefile":
        members = _check_zip(path, name)
        shps = [n for n in members if n.lower().endswith(".shp")]
        if not shps:
            raise FileRejected(f"Zip-filen {name} innehåller ingen .shp-fil.")
        return f"/vsizip/{path}/{shps[0]}"
    if fmt == "kmz":
        members = _check_zip(path, name)
        kmls = [n for n in members if n.lower().endswith(".kml")]
        if not kmls:
            raise FileRejected(f"KMZ-filen {name} innehåller ingen .kml-fil.")
        with zipfile.ZipFile(path) as zf:
            for member in kmls:
                with zf.open(member) as fh:
                    _check_xml_bytes(fh.read(1_000_000), name)
        return f"/vsizip/{path}/{kmls[0]}"
    if fmt in ("kml", "gpx"):
        _check_xml(path, name)
    if fmt == "gpkg":
        _check_gpkg(path, name)
    return str(path)


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


def _read_gis(path: Path, name: str, fmt: str, schema: LayerSchema,
              crs: int | None) -> RawTable:
    if fmt == "geojson":
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"[") and b'"datetime"' in head:
            raise FileRejected(f"Filen {name} ser ut som polisens händelser (en JSON-lista), "
                               "inte GeoJSON. Läs in den med --source polisen.")
    source = _gdal_path(path, name, fmt)
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
    mapping = _canonical_columns([c for c in gdf.columns if c != "geometry"], schema,
                                 truncated=truncated, name=name,
                                 strict=fmt not in ("kml", "kmz", "gpx"))
    gdf = gdf.rename(columns=mapping)
    if fmt in ("kml", "kmz", "gpx"):
        gdf = _waypoint_rules(gdf, schema, fmt, notes)
    rows = np.arange(len(gdf)) + 1
    problems = [RowError(int(rows[i]), "geometri", "objektet saknar geometri")
                for i in np.flatnonzero(gdf.geometry.isna().to_numpy()
                                        | gdf.geometry.is_empty.to_numpy())]
    gdf = _flatten(gdf)
    return RawTable(gdf, rows, fmt, source_crs, problems, notes, _headers(mapping))


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
        _check_crs_allowed(crs, name)
        return crs
    minx, miny, maxx, maxy = gdf.total_bounds
    if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        return WEB_EPSG
    raise FileRejected(
        f"Filen {name} anger inget koordinatsystem och koordinaterna är inte grader (WGS 84). "
        "Ange --crs 3006 (SWEREF 99 TM) eller --crs 3011 (SWEREF 99 18 00).")


# --- KML and GPX -----------------------------------------------------------------------


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


_TAG_RE = re.compile(r"<[^>]+>")
_BREAK_RE = re.compile(r"<\s*(br|/p|/div|/li)\s*/?\s*>", re.IGNORECASE)


def _plain_text(values: pd.Series | None, index: pd.Index) -> pd.Series:
    """Text of a column without HTML (KML descriptions are HTML), "" where missing."""
    if values is None:
        return pd.Series("", index=index, dtype=object)
    out = []
    for v in values:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out.append("")
            continue
        text = _BREAK_RE.sub("\n", str(v))
        text = html.unescape(_TAG_RE.sub("", text))
        out.append("\n".join(" ".join(line.split()) for line in text.splitlines()).strip())
    return pd.Series(out, index=index, dtype=object)


def _column(gdf: gpd.GeoDataFrame, *names: str) -> pd.Series | None:
    """The first column whose name (ignoring case) is one of ``names``."""
    lower = {str(c).lower(): c for c in gdf.columns}
    for n in names:
        if n in lower:
            return gdf[lower[n]]
    return None


def category_in_text(texts: pd.Series, schema: LayerSchema) -> pd.Series:
    """The category code first named (code, label or alias, whole words) in each text."""
    lookup = category_lookup(schema.categories)
    alternatives = sorted(lookup, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(a) for a in alternatives) + r")(?!\w)",
                         re.IGNORECASE)
    found = []
    for text in texts:
        match = pattern.search(text) if isinstance(text, str) else None
        found.append(lookup[match.group(1).lower()] if match else None)
    return pd.Series(found, index=texts.index, dtype=object)


def _waypoint_rules(gdf: gpd.GeoDataFrame, schema: LayerSchema, fmt: str,
                    notes: list[str]) -> gpd.GeoDataFrame:
    """Fill time, description, category (and severity) of KML/GPX rows (module docstring)."""
    gdf = gdf.copy()
    index = gdf.index
    title = _plain_text(_column(gdf, "name"), index)
    # time: the layer's time column, completed by the element's own time
    element_time = _column(gdf, *ELEMENT_TIME_NAMES)
    if schema.time_field and element_time is not None:
        own = element_time.map(lambda v: None if v is None or pd.isna(v) else
                               (v.isoformat() if hasattr(v, "isoformat") else str(v)))
        if schema.time_field in gdf.columns:
            given = gdf[schema.time_field]
            blank = given.isna() | (given.astype("string").str.strip() == "")
            gdf[schema.time_field] = given.astype(object).where(~blank, own)
        else:
            gdf[schema.time_field] = own
    if schema.name == "sites":
        if "name" not in gdf.columns and (title != "").any():
            gdf["name"] = title.where(title != "", None)
        return gdf
    # description: name – description
    body = _plain_text(_column(gdf, "description", "desc", "cmt"), index)
    if "description" in schema.names:
        joined = [" – ".join(p for p in (t, b) if p) for t, b in zip(title, body, strict=True)]
        gdf["description"] = pd.Series([j or None for j in joined], index=index, dtype=object)
    # category: a column, a GPX <type>, else the first category named in name/description
    if schema.categories:
        given = gdf["category"] if "category" in gdf.columns else _column(gdf, "type")
        found = category_in_text(title, schema)
        found = found.where(found.notna(), category_in_text(body, schema))
        if given is not None:
            blank = given.isna() | (given.astype("string").str.strip() == "")
            found = given.astype(object).where(~blank.to_numpy(), found)
        # rows without a category keep their name, so the error quotes it
        fallback = title.where(title != "", body).where(lambda t: t != "", None)
        gdf["category"] = found.where(found.notna(), fallback)
    if "severity" in schema.names and "severity" not in gdf.columns:
        gdf["severity"] = DEFAULT_WAYPOINT_SEVERITY
        notes.append(f"Filen har ingen kolumn för allvarlighet: alla {len(gdf)} fynd fick "
                     f"allvarlighet {DEFAULT_WAYPOINT_SEVERITY} (medel). Ändra dem i "
                     "fyndlistan vid behov.")
    elif "severity" in schema.names:
        # waypoints without a severity of their own get the default too
        given = gdf["severity"]
        blank = (given.isna() | (given.astype("string").str.strip() == "")).to_numpy()
        if blank.any():
            gdf["severity"] = given.astype(object).where(~blank, DEFAULT_WAYPOINT_SEVERITY)
            notes.append(f"{int(blank.sum())} av {len(gdf)} fynd saknade allvarlighet och "
                         f"fick allvarlighet {DEFAULT_WAYPOINT_SEVERITY} (medel). Ändra dem "
                         "i fyndlistan vid behov.")
    return gdf


# --- geometry checks -------------------------------------------------------------------


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


def _check_in_sweden(table: RawTable) -> None:
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
