"""The raw table every reader returns, the formats, and the column names readers know."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np

from layers.core.errors import FileRejected, RowError
from layers.core.schema import LayerSchema

#: Files larger than this are refused before anything is parsed.
DEFAULT_MAX_BYTES = 200 * 1024 * 1024


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


def canonical_columns(columns: list[str], schema: LayerSchema, *,
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


def file_headers(mapping: dict[str, str]) -> dict[str, str]:
    """Our field name → the file's header, where they differ."""
    return {target: str(col) for col, target in mapping.items() if str(col) != target}
