"""KML and GPX waypoints: time, description and category from their names and texts."""

from __future__ import annotations

import html
import re

import geopandas as gpd
import pandas as pd

from layers.core.schema import LayerSchema, category_lookup
from layers.io.readers.table import DEFAULT_WAYPOINT_SEVERITY, ELEMENT_TIME_NAMES

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


def waypoint_rules(gdf: gpd.GeoDataFrame, schema: LayerSchema, fmt: str,
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
