"""Proposed fast paths for layers/readers.py and layers/validate.py, not applied yet.

A staging file for the lead: ``bench/import_join.py --proposed`` patches these into
the modules at run time so their effect can be measured, and the test suite can be
run with them (see bench/README.md). Each function keeps the current one as its
slow path and gives identical results (checked on the 1M-row bench file and by
random tests of the CSV splitting, the Sweden check and the field parsing). Once
they are moved into readers.py / validate.py, delete this file and the flag.

1. CSV without quote characters: pandas' C parser instead of the csv module and a
   Python loop per record (3.15 + 2.44 s -> ~1.5 s a million rows). Row numbers
   stay Excel's: without quotes a record is a line. Anything unusual (quotes, lone
   CR, NUL, a record wider than the header, blank lines before the header, lines
   longer than the csv module's field limit) goes the old way.
2. Sweden check: points inside a rectangle (in the store CRS) that lies surely
   inside SWEDEN_BOUNDS are not reprojected to WGS 84 (~1.1 s a million rows).
3. Text fields with few distinct values (category, precision, …): each distinct
   value is parsed once (~0.4 s a million rows for the category).
"""

from __future__ import annotations

import csv
import io
import re
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import layers.readers as R
import layers.validate as V

# ---------------------------------------------------------------------------------------
# readers: CSV without quotes through pandas' C parser
# ---------------------------------------------------------------------------------------

_CSV_FIELD_LIMIT = csv.field_size_limit()


def _split_unquoted(text: str, delimiter: str) -> tuple[list[str], pd.DataFrame,
                                                        np.ndarray] | None:
    """Header, cells and Excel row numbers of a CSV without quote characters.

    Without quotes every line is one record, so pandas' C parser can split the
    text and a record's row number is its line number. Returns None when the
    file needs the csv module (quotes, lone carriage returns, NUL characters,
    huge lines, a record with more cells than the header); the slow path gives
    the same frame, row numbers and problems then.
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
    # blank records (only spaces and separators) are skipped, as csv.reader's loop does;
    # a column is checked only for the rows still blank so far
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


class _Records(list):
    """The cells of a fast-path CSV, passed from _split_csv to _csv_frame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        super().__init__()
        self.frame = frame

    def __len__(self) -> int:
        return len(self.frame)


_orig_split_csv = R._split_csv
_orig_csv_frame = R._csv_frame


def _split_csv(text, name):
    first, _, rest = text.partition("\n")
    if re.fullmatch(r"sep=.\r?", first):
        delimiter, body = first[4], rest
    else:
        delimiter, body = R._sniff_delimiter(text), text
    fast = _split_unquoted(body, delimiter)
    if fast is None:
        return _orig_split_csv(text, name)
    header, data, numbers = fast
    return header, _Records(data), numbers


def _csv_frame(header, records, numbers, problems):
    if not isinstance(records, _Records):
        return _orig_csv_frame(header, records, numbers, problems)
    columns, seen = [], set()
    for i, col in enumerate(header):
        col = col or f"kolumn_{i + 1}"
        while col in seen:
            col += "_"
        seen.add(col)
        columns.append(col)
    frame = records.frame
    frame.columns = columns
    return frame


# ---------------------------------------------------------------------------------------
# readers: Sweden check without reprojecting points that are surely in Sweden
# ---------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _inside_sweden_box(crs_wkt: str) -> tuple[float, float, float, float]:
    """A rectangle in ``crs`` that lies inside SWEDEN_BOUNDS (WGS 84), 1 m inwards."""
    w, s, e, n = R.SWEDEN_BOUNDS
    t = np.linspace(0, 1, 2001)
    edges = {
        "west": np.column_stack([np.full_like(t, w), s + t * (n - s)]),
        "east": np.column_stack([np.full_like(t, e), s + t * (n - s)]),
        "south": np.column_stack([w + t * (e - w), np.full_like(t, s)]),
        "north": np.column_stack([w + t * (e - w), np.full_like(t, n)]),
    }
    out = {}
    for side, lonlat in edges.items():
        pts = gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs=R.WEB_EPSG)
        xy = shapely.get_coordinates(pts.to_crs(crs_wkt).to_numpy())
        out[side] = xy
    margin = 1.0
    return (out["west"][:, 0].max() + margin, out["south"][:, 1].max() + margin,
            out["east"][:, 0].min() - margin, out["north"][:, 1].min() - margin)


def _check_in_sweden(table) -> None:
    geoms = table.frame.geometry
    present = (~(geoms.isna() | geoms.is_empty)).to_numpy()
    if present.any() and geoms.crs is not None and geoms.crs.is_projected:
        x0, y0, x1, y1 = _inside_sweden_box(geoms.crs.to_wkt())
        b = shapely.bounds(geoms.to_numpy())
        with np.errstate(invalid="ignore"):
            surely = present & (b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 1] >= y0) & \
                (b[:, 3] <= y1)
        if surely.all() or (surely.any() and surely.sum() == present.sum()):
            return
        if surely.any():
            # check only the others; the "all outside" note cannot apply any more
            rest = table.frame.iloc[~surely]
            sub = R.RawTable(rest, table.rows[~surely], table.fmt, table.source_crs, [])
            _orig_check_in_sweden(sub)
            problems = [p for p in sub.problems if p.row is not None]
            table.problems.extend(problems)
            if problems:
                blanked = geoms.to_numpy().copy()
                blanked[~surely] = sub.frame.geometry.to_numpy()
                table.frame = table.frame.set_geometry(
                    gpd.GeoSeries(blanked, crs=geoms.crs, index=geoms.index))
            return
    _orig_check_in_sweden(table)


_orig_check_in_sweden = R._check_in_sweden


# ---------------------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------------------

_orig_parse_field = V._parse_field


def _parse_field(values, f, schema, now):
    """Text fields: parse each distinct value once (categories repeat a lot)."""
    if f.kind == "str" and len(values) > 1000 and (
            values.dtype == object or pd.api.types.is_string_dtype(values)) \
            and pd.api.types.infer_dtype(values, skipna=True) == "string":
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        if len(uniques) * 4 <= len(values):
            u = pd.Series(uniques, dtype=values.dtype)
            parsed_u, bad_u = _orig_parse_field(u, f, schema, now)
            # one more entry for missing values: what the original gives a missing value
            miss_parsed, miss_bad = _orig_parse_field(
                pd.Series([None], dtype=values.dtype), f, schema, now)
            table = np.append(parsed_u.to_numpy(dtype=object), miss_parsed.iloc[0])
            bad_table = np.append(np.asarray(bad_u, bool), bool(miss_bad[0]))
            parsed = pd.Series(table[codes], index=values.index, dtype=object)
            return parsed, bad_table[codes]
    return _orig_parse_field(values, f, schema, now)


def apply() -> None:
    """Patch the proposed functions into layers.readers and layers.validate."""
    R._split_csv = _split_csv
    R._csv_frame = _csv_frame
    R._check_in_sweden = _check_in_sweden
    V._parse_field = _parse_field
