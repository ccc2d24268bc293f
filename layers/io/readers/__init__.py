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

Modules: :mod:`.table` (the raw table, formats, column names), :mod:`.checks` (a file's
safety before GDAL opens it), :mod:`.csv_`, :mod:`.gis`, :mod:`.waypoints` (KML/GPX
names and texts) and :mod:`.sweden` (every place in Sweden).
"""

from __future__ import annotations

from pathlib import Path

from layers.core.errors import FileRejected
from layers.core.schema import LayerSchema
from layers.io.readers.checks import check_xml
from layers.io.readers.csv_ import decode_text, parse_number, read_csv
from layers.io.readers.gis import read_gis
from layers.io.readers.sweden import check_in_sweden
from layers.io.readers.table import (
    DEFAULT_MAX_BYTES,
    FORMAT_LABELS,
    FORMATS,
    SWEDEN_BOUNDS,
    RawTable,
    canonical_columns,
    detect_format,
)
from layers.io.readers.waypoints import category_in_text

__all__ = ["DEFAULT_MAX_BYTES", "FORMATS", "FORMAT_LABELS", "SWEDEN_BOUNDS", "RawTable",
           "canonical_columns", "category_in_text", "check_xml", "decode_text", "detect_format",
           "parse_number", "read_table"]


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
        table = read_csv(path, name, schema, crs)
    else:
        table = read_gis(path, name, fmt, schema, crs)
    check_in_sweden(table)
    return table
