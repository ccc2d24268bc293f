"""The CSV reader: Swedish Excel's encodings, separators and decimal commas."""

from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core.errors import FileRejected, RowError
from layers.core.schema import STORE_EPSG, WEB_EPSG, LayerSchema
from layers.io.exporters import spreadsheet_text
from layers.io.readers.checks import check_crs_allowed
from layers.io.readers.table import WKT_NAMES, RawTable, canonical_columns, file_headers

LOGGER = logging.getLogger(__name__)


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


def _first_line(text: str) -> str:
    """The first line of ``text`` that is not blank (as ``str.splitlines`` cuts lines),
    found in a growing head of the text instead of splitting all of it."""
    size = 1 << 16
    while True:
        lines = text[:size].splitlines()
        if size >= len(text):
            return next((line for line in lines if line.strip()), "")
        # the head's last line may be cut short (even a "\r\n"): only those before it count
        line = next((line for line in lines[:-1] if line.strip()), None)
        if line is not None:
            return line
        size *= 4


def _sniff_delimiter(text: str) -> str:
    """The separator is the one the header line uses most (headers have no decimals)."""
    header = _first_line(text)
    best = max(";,\t|", key=header.count)
    if header.count(best):
        return best
    try:
        return csv.Sniffer().sniff("\n".join(text.splitlines()[:20]),
                                   delimiters=";,\t|").delimiter
    except csv.Error:
        return ","


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


def read_csv(path: Path, name: str, schema: LayerSchema, crs: int | None) -> RawTable:
    """Read a CSV file into the columns of ``schema``, places from lon/lat, x/y or WKT."""
    text = decode_text(path.read_bytes(), name)
    if not text.strip():
        raise FileRejected(f"Filen {name} är tom.")
    header, records, rows = _split_csv(text, name)
    if len(records) == 0:
        raise FileRejected(f"Filen {name} har rubriker men inga rader.")
    problems: list[RowError] = []
    frame = _csv_frame(header, records, rows, problems)
    if "'" in text:
        # our own CSV exports escape formula-like texts with an apostrophe: undo it (a
        # cell is only undone when it starts with one, so without any there is nothing
        # to look at: one scan of the text instead of a regular expression per cell)
        frame = spreadsheet_text(frame)
    mapping = canonical_columns(list(frame.columns), schema, name=name)
    headers = file_headers(mapping)
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
    check_crs_allowed(crs, name)
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
    check_crs_allowed(crs, name)
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
