"""Checks of a file before GDAL opens it: declared CRS, XML entities, zip bombs, GeoPackages."""

from __future__ import annotations

import re
import sqlite3
import zipfile
from pathlib import Path

from pyproj import CRS

from layers.core.errors import FileRejected
from layers.core.schema import ACCEPTED_EPSG

#: A zip may expand to at most this many bytes, and this many times its own size.
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024
MAX_ZIP_RATIO = 100


def check_crs_allowed(crs: int | None, name: str) -> None:
    """Refuse a ``--crs`` that is not a known EPSG code."""
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


def check_xml(path: Path, name: str) -> None:
    """Refuse an XML file (KML, GPX) that declares a DTD or entities."""
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


def gdal_path(path: Path, name: str, fmt: str) -> str:
    """The path GDAL should open for the file, after the checks its format needs."""
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
        check_xml(path, name)
    if fmt == "gpkg":
        _check_gpkg(path, name)
    return str(path)
