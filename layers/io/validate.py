"""Validation: check every row of a read file against the layer's schema.

The result is a clean frame (our codes, typed values, stable ids) and a list of
:class:`~layers.core.errors.RowError` in Swedish, each naming the row and the field.
Nothing here writes: the importer decides what to store.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core.errors import FileRejected, RowError
from layers.core.schema import (
    INCIDENTS,
    LOCAL_TZ,
    SENSITIVE_CODES,
    STRATEGIC_CODES,
    VICTIM_GENDER_ALIASES,
    Field,
    LayerSchema,
    category_lookup,
)
from layers.io.readers import RawTable

_HAS_ZONE = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)
_CLOCK = re.compile(r"(\d{4}-\d\d-\d\d)[ T](\d{1,2})\.(\d\d)")
_ALLOWED_GEOMETRIES = {
    "POINT": ("Point",),
    "GEOMETRY": ("Point", "LineString"),
    "MULTIPOLYGON": ("Polygon", "MultiPolygon"),
}
_GEOMETRY_LABELS = {"Point": "punkt", "LineString": "linje", "Polygon": "polygon",
                    "MultiPolygon": "polygon"}


@dataclass
class Validated:
    """Rows that passed (``frame``), their original row numbers, and the errors."""

    frame: gpd.GeoDataFrame
    rows: np.ndarray
    errors: list[RowError]
    n_read: int


def validate(table: RawTable, schema: LayerSchema, *, source: str,
             now: pd.Timestamp | None = None) -> Validated:
    """Check ``table`` against ``schema`` and return the valid rows and the errors."""
    now = now or pd.Timestamp.now(tz=LOCAL_TZ)
    frame = table.frame
    missing = [f for f in schema.input_fields if f.required and f.name not in frame.columns]
    if missing:
        names = ", ".join(f"'{f.name}' ({f.label}{_alias_hint(f)})" for f in missing)
        raise FileRejected(f"Kolumn saknas i filen: {names}.")
    errors = list(table.problems)
    out = pd.DataFrame(index=frame.index)
    for f in schema.input_fields:
        if f.name == "id" or f.name not in frame.columns:
            continue
        values, bad = _parse_field(frame[f.name], f, schema, now)
        out[f.name] = values
        for i in np.flatnonzero(bad):
            errors.append(RowError(int(table.rows[i]), f.name,
                                   bad_message(f, frame[f.name].iloc[i], schema),
                                   header=table.headers.get(f.name)))
    geoms = frame.geometry
    allowed = _ALLOWED_GEOMETRIES.get(schema.geometry_type)
    if allowed:
        types = geoms.geom_type.to_numpy()
        present = ~(geoms.isna() | geoms.is_empty).to_numpy()
        for i in np.flatnonzero(present & ~np.isin(types, allowed)):
            want = " eller ".join(_GEOMETRY_LABELS[t] for t in allowed)
            msg = f"geometrin är en {types[i]}, men {schema.label} ska vara {want}"
            errors.append(RowError(int(table.rows[i]), "geometri", msg))
        invalid = present & np.isin(types, allowed) & ~shapely.is_valid(geoms.to_numpy())
        for i in np.flatnonzero(invalid):
            errors.append(RowError(int(table.rows[i]), "geometri",
                                   f"ogiltig geometri ({shapely.is_valid_reason(geoms.iloc[i])})"))
    out["id"] = _stable_ids(frame, out, geoms, schema, source)
    _check_duplicate_ids(out["id"], table.rows, errors)
    if schema.name in URL_ID_LAYERS:
        _check_url_ids(out["id"], table.rows, errors, table.headers.get("id"))
    _derive(out, schema, source)
    bad_rows = {e.row for e in errors}
    keep = ~np.isin(table.rows, list(bad_rows)) if bad_rows else np.ones(len(out), bool)
    if schema.geometry_type == "MULTIPOLYGON":
        geoms = gpd.GeoSeries(
            [shapely.MultiPolygon([g]) if g is not None and g.geom_type == "Polygon" else g
             for g in geoms], crs=geoms.crs, index=geoms.index)
    clean = gpd.GeoDataFrame(out, geometry=geoms.values, crs=frame.crs)
    errors.sort(key=lambda e: (e.row or 0, e.field or ""))
    return Validated(clean[keep].reset_index(drop=True), table.rows[keep], errors, len(frame))


def _alias_hint(f: Field) -> str:
    return f", även '{f.aliases[0]}'" if f.aliases else ""


# --- per field parsing -----------------------------------------------------------------------


def _is_blank(values: pd.Series) -> np.ndarray:
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        return (values.isna() | (values.astype("string").str.strip() == "")).to_numpy(bool)
    return values.isna().to_numpy(bool)


#: Text columns longer than this are parsed one distinct value at a time, when few.
_FACTORIZE_MIN_ROWS = 1000


def _parse_field(values: pd.Series, f: Field, schema: LayerSchema,
                 now: pd.Timestamp) -> tuple[pd.Series, np.ndarray]:
    """Parse one column; return typed values and a mask of invalid rows.

    Text fields with few distinct values (category, precision, …) parse each
    distinct value once and spread the results; the rest goes through
    :func:`_parse_values` row by row, which gives the same results.
    """
    if f.kind == "str" and len(values) > _FACTORIZE_MIN_ROWS and (
            values.dtype == object or pd.api.types.is_string_dtype(values)) \
            and pd.api.types.infer_dtype(values, skipna=True) == "string":
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        if len(uniques) * 4 <= len(values):
            u = pd.Series(uniques, dtype=values.dtype)
            parsed_u, bad_u = _parse_values(u, f, schema, now)
            # one more entry for missing values (code -1): what a missing value gives
            miss_parsed, miss_bad = _parse_values(
                pd.Series([None], dtype=values.dtype), f, schema, now)
            table = np.append(parsed_u.to_numpy(dtype=object), miss_parsed.iloc[0])
            bad_table = np.append(np.asarray(bad_u, bool), bool(miss_bad[0]))
            parsed = pd.Series(table[codes], index=values.index, dtype=object)
            return parsed, bad_table[codes]
    return _parse_values(values, f, schema, now)


def _parse_values(values: pd.Series, f: Field, schema: LayerSchema,
                  now: pd.Timestamp) -> tuple[pd.Series, np.ndarray]:
    """Parse one column row by row (vectorised); see :func:`_parse_field`."""
    blank = _is_blank(values)
    if f.kind == "datetime":
        parsed = parse_datetimes(values)
        bad = (parsed.isna().to_numpy() & ~blank)
        future = (parsed > now + pd.Timedelta(days=1)).fillna(False).to_numpy(bool)
        ancient = (parsed < pd.Timestamp("1990-01-01", tz=LOCAL_TZ)).fillna(False).to_numpy(bool)
        bad |= future | ancient
        parsed[bad] = pd.NaT
    elif f.kind == "date":
        dts = parse_datetimes(values)
        bad = dts.isna().to_numpy() & ~blank
        parsed = pd.Series([None if pd.isna(v) else v.date() for v in dts], index=values.index,
                           dtype=object)
    elif f.kind in ("int", "float"):
        from layers.io.readers import parse_number

        parsed = parse_number(values)
        bad = parsed.isna().to_numpy() & ~blank
        if f.kind == "int":
            bad |= (parsed.notna() & (parsed != parsed.round())).to_numpy(bool)
        if f.minimum is not None:
            bad |= (parsed < f.minimum).fillna(False).to_numpy(bool)
        if f.maximum is not None:
            bad |= (parsed > f.maximum).fillna(False).to_numpy(bool)
        parsed = parsed.astype("Int64") if f.kind == "int" else parsed.astype(float)
        parsed[bad] = pd.NA
    elif f.kind == "bool":
        text = values.astype("string").str.strip().str.lower()
        parsed = text.map({"1": True, "ja": True, "true": True, "sant": True, "0": False,
                           "nej": False, "false": False, "falskt": False})
        bad = parsed.isna().to_numpy() & ~blank
    else:
        text = values.astype("string").str.strip()
        text = text.where(~blank, None)
        bad = np.zeros(len(values), bool)
        lookup = _choice_lookup(f, schema)
        if lookup is not None:
            mapped = text.str.lower().map(lookup)
            bad = mapped.isna().to_numpy() & ~blank
            text = mapped
        if f.max_length:
            bad |= (text.str.len() > f.max_length).fillna(False).to_numpy(bool)
        parsed = text.astype(object).where(text.notna(), None)
    if f.required:
        bad = bad | blank
    return parsed, bad


def _choice_lookup(f: Field, schema: LayerSchema) -> dict[str, str] | None:
    if f.name == "category" and schema.categories:
        return category_lookup(schema.categories)
    if f.choices is None:
        return None
    table = {k.lower(): k for k in f.choices}
    table.update({v.lower(): k for k, v in f.choices.items()})
    if f.name == "victim_gender":
        table.update(VICTIM_GENDER_ALIASES)
    return table


def bad_message(f: Field, raw: object, schema: LayerSchema) -> str:
    """Explain in Swedish why ``raw`` is not a valid value of field ``f``."""
    text = "" if raw is None or (not isinstance(raw, str) and pd.isna(raw)) else str(raw).strip()
    if not text:
        return f"värde saknas ({f.label} är obligatoriskt)"
    if f.kind == "datetime":
        return (f"'{text}' är inte en giltig tidpunkt (skriv ÅÅÅÅ-MM-DD TT:MM, t.ex. "
                "2024-05-17 21:30), eller ligger i framtiden/före 1990")
    if f.kind == "date":
        return f"'{text}' är inte ett giltigt datum (skriv ÅÅÅÅ-MM-DD)"
    if f.kind in ("int", "float"):
        span = ""
        if f.minimum is not None and f.maximum is not None:
            span = f" mellan {f.minimum:g} och {f.maximum:g}"
        return f"'{text}' är inte ett {'heltal' if f.kind == 'int' else 'tal'}{span}"
    if f.kind == "bool":
        return f"'{text}' är inte ja eller nej"
    if f.max_length and len(text) > f.max_length:
        return f"texten är för lång ({len(text)} tecken, högst {f.max_length})"
    if f.name == "category" and schema.categories:
        allowed = ", ".join(c.label for c in schema.categories)
        return f"okänd kategori '{text}'. Tillåtna: {allowed}"
    if f.choices:
        return f"okänt värde '{text}'. Tillåtna: {', '.join(f.choices.values())}"
    return f"ogiltigt värde '{text}'"


def parse_datetimes(values: pd.Series) -> pd.Series:
    """Parse times: ISO 8601 with a zone, or local Stockholm time without one.

    Local times that occur twice when the clocks go back are read as the first
    (summer time) occurrence; times skipped in spring move forward.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        ts = pd.to_datetime(values)
        if ts.dt.tz is None:
            return ts.dt.tz_localize(LOCAL_TZ, ambiguous=np.ones(len(ts), bool),
                                     nonexistent="shift_forward")
        return ts.dt.tz_convert(LOCAL_TZ)
    text = values.astype("string").str.strip()
    # "2024-05-01 21.30" (Swedish clock notation) -> "21:30"; the regular expressions
    # run only on the rows they can match (they cost a second a million rows)
    dotted = text.str.contains(".", regex=False, na=False).to_numpy(bool)
    if dotted.any():
        text = text.copy()
        text[dotted] = text[dotted].str.replace(_CLOCK, r"\1 \2:\3", regex=True)
    # a zone is "Z" at the end or a sign among the last six characters (one pass over
    # the texts instead of four string methods)
    cells = text.to_numpy(dtype=object, na_value=None)
    maybe_zone = np.fromiter(
        (s is not None and (s.endswith(("Z", "z")) or "+" in s or "-" in s[-6:])
         for s in cells), dtype=bool, count=len(cells))
    has_zone = np.zeros(len(text), bool)
    if maybe_zone.any():
        has_zone[maybe_zone] = text[maybe_zone].str.contains(_HAS_ZONE, na=False).to_numpy(bool)
    result = pd.Series(pd.NaT, index=values.index, dtype=f"datetime64[ns, {LOCAL_TZ}]")
    if has_zone.any():
        aware = _plausible(pd.to_datetime(text[has_zone], format="ISO8601", utc=True,
                                          errors="coerce"))
        result[has_zone] = aware.dt.tz_convert(LOCAL_TZ)
    naive_mask = ~has_zone & text.notna().to_numpy(bool)
    if naive_mask.any():
        naive = pd.to_datetime(text[naive_mask], format="ISO8601", errors="coerce")
        if naive.dt.tz is not None:  # mixed input pandas already made aware
            naive = naive.dt.tz_convert(None)
        naive = _plausible(naive)
        local = naive.dt.tz_localize(LOCAL_TZ, ambiguous=np.ones(len(naive), bool),
                                     nonexistent="shift_forward")
        result[naive_mask] = local
    return result


#: Times outside these years are refused (a row error), whatever the field: pandas
#: cannot hold year 0 or 9999 in nanoseconds, and no incident or walk is that old or new.
FIRST_YEAR, LAST_YEAR = 1900, 2100


def _plausible(ts: pd.Series) -> pd.Series:
    """``ts`` in nanoseconds, with times outside FIRST_YEAR–LAST_YEAR as NaT."""
    years = ts.dt.year
    ts = ts.where((years >= FIRST_YEAR) & (years <= LAST_YEAR))
    unit = "datetime64[ns, UTC]" if ts.dt.tz is not None else "datetime64[ns]"
    return ts.astype(unit)


# --- ids and derived fields --------------------------------------------------------------------


def _stable_ids(frame: pd.DataFrame, parsed: pd.DataFrame, geoms: gpd.GeoSeries,
                schema: LayerSchema, source: str) -> pd.Series:
    """Give every row an id that is the same each time the same file is imported.

    An id in the file is kept; one without a namespace gets ``source:`` in front. A
    row without an id gets a hash of its content (time, category, place to the
    metre, description), so the same row in the same or another file matches.
    """
    ids = frame["id"].astype("string").str.strip() if "id" in frame.columns else None
    if ids is not None and not (ids.isna() | (ids == "")).any():
        # every row has its own id: nothing to hash (the hashing costs seconds a million rows)
        return ids.where(ids.str.contains(":", regex=False), source + ":" + ids).astype(object)
    wkb = shapely.to_wkb(shapely.set_precision(geoms.to_numpy(), 1.0), hex=True)
    keys = [parsed[c].astype("string").fillna("") for c in ("occurred_at", "found_at",
                                                             "category", "name",
                                                             "description")
            if c in parsed.columns]
    content = pd.Series(np.asarray(wkb, dtype=object), index=frame.index).fillna("")
    for k in keys:
        content = content + "|" + k
    hashed = content.map(lambda s: hashlib.sha1(s.encode()).hexdigest()[:16])
    generated = source + ":" + hashed
    if ids is None:
        return generated.astype(object)
    given = ids.where(ids.str.contains(":", regex=False), source + ":" + ids)
    blank = ids.isna() | (ids == "")
    return given.where(~blank, generated).astype(object)


#: Layers whose ids are part of page addresses (``/sites/<id>``, ``/walks/<id>``, …).
URL_ID_LAYERS = frozenset({"findings", "sites", "walks"})
#: What such an id may hold: letters (Swedish too), digits and ``_ . : @ + ~ -``. A ``/``,
#: ``?``, ``#``, ``%``, a space or a control character would make the object's page
#: unreachable (a site with ``/`` in its id could not be opened, edited or deleted).
URL_ID_RE = r"[\w.:@+~-]{1,200}"


def _check_url_ids(ids: pd.Series, rows: np.ndarray, errors: list[RowError],
                   header: str | None) -> None:
    """Refuse ids that cannot be part of an address, naming the row and the field."""
    text = ids.astype("string")
    bad = ~text.str.fullmatch(URL_ID_RE).fillna(True).to_numpy(bool)
    for i in np.flatnonzero(bad):
        errors.append(RowError(int(rows[i]), "id",
                               f"'{text.iloc[i]}' kan inte vara ett id: använd bara bokstäver, "
                               "siffror och _ . : @ + ~ - (inte / ? # % eller mellanslag)",
                               header=header))


def _check_duplicate_ids(ids: pd.Series, rows: np.ndarray, errors: list[RowError]) -> None:
    dup = ids.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    first = {}
    for i, value in enumerate(ids):
        first.setdefault(value, int(rows[i]))
    for i in np.flatnonzero(dup):
        errors.append(RowError(int(rows[i]), "id",
                               f"samma rad/id som rad {first[ids.iloc[i]]} (dubblett i filen)"))


def _derive(out: pd.DataFrame, schema: LayerSchema, source: str) -> None:
    """Fill fields that follow from others (taxonomy flags, defaults)."""
    if schema is INCIDENTS:
        out["strategic"] = out["category"].isin(STRATEGIC_CODES)
        out["sensitive"] = out["category"].isin(SENSITIVE_CODES)
        if "precision" not in out.columns:
            out["precision"] = "exact"
        out["precision"] = out["precision"].fillna("exact")
        if "source" not in out.columns:
            out["source"] = source
        out["source"] = out["source"].fillna(source)
    if "status" in schema.names and "status" in out.columns:
        out["status"] = out["status"].fillna("ny" if schema.name == "findings" else "aktiv")
    elif "status" in schema.names:
        out["status"] = "ny" if schema.name == "findings" else "aktiv"
