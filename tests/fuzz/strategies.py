"""Hypothesis strategies for hostile uploads: files of every format, names, JSON bodies.

Each file strategy gives ``(bytes, suffix)``. The mix is random garbage, files that
are almost right (our own column names, places in Stockholm) with nasty values in
them, and known attacks: XML entity expansion and external entities, zip bombs,
image bombs, huge and empty files. Costly fixed files (bombs, GeoPackages) are made
once per session.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

from hypothesis import strategies as st

#: Larger than MAX_CONTENT_LENGTH (10 MB): the app must answer 413.
HUGE_BYTES = 10 * 1024 * 1024 + 1

#: Column names the readers know (English and Swedish, every layer).
COLUMNS = [
    "id", "datum", "found_at", "occurred_at", "kategori", "category", "allvarlighet",
    "severity", "beskrivning", "description", "ansvarig", "owner", "breddgrad", "längdgrad",
    "lat", "lon", "x", "y", "geometry", "wkt", "date", "area", "område", "start_time",
    "end_time", "participants", "deltagare", "organisers", "name", "namn", "start_date",
    "startdatum", "partners", "walk_id", "status", "photo", "source", "precision",
]

#: Values that broke parsers somewhere: numbers, times, texts, geometry.
NASTY_VALUES = [
    "", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e-400", "0", "-0",
    "59,4", "17,93", "59.4091", "17.9281", "6580123,9", "153456,2", "1,2,3", "١٢٣",
    "0001-01-01", "0000-00-00", "9999-12-31 23:59", "99999-01-01", "2025-02-30",
    "2025-05-14T21:30:00+99:00", "2025-05-14 25:61", "1899-12-31", "2101-01-01",
    "-2025-01-01", "2025-W20", "1e10", "18446744073709551616", "-9223372036854775809",
    "25:99", "21:30", "belysning", "Belysning", "klotter", "rån", "ufo", "Järva", "jarva",
    "trafikkontoret", "=cmd|'/c calc'!A1", "<script>alert(1)</script>", "\x00", "\ufeff",
    "POINT (17.93 59.40)", "POINT EMPTY", "LINESTRING (17.9 59.4, 17.91 59.41)",
    "POLYGON ((17.9 59.4, 17.91 59.4, 17.91 59.41, 17.9 59.4))", "POLYGON ((0 0, 1 1))",
    "GEOMETRYCOLLECTION EMPTY", "POINT (nan nan)", "POINT (1e400 1)", "{}", "[]", "null",
    "true", "ja", "x" * 5000,
]

values = st.one_of(st.sampled_from(NASTY_VALUES), st.text(max_size=40),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.integers(min_value=-(10**30), max_value=10**30).map(str))
columns = st.one_of(st.sampled_from(COLUMNS), st.text(max_size=20))

#: Hostile upload names, without their suffix.
NASTY_STEMS = ["../../x", "..\\..\\x", "/etc/passwd", "a" * 500, "x\x00y", "CON", "",
               " ", ".", "..", "ü🙂 åäö", "a/b/c", "\u202etxt.exe", "%2e%2e%2fx", "~root"]
stems = st.one_of(st.sampled_from(NASTY_STEMS), st.text(max_size=300))
CONTENT_TYPES = ["application/octet-stream", "text/csv", "application/json",
                 "application/geo+json", "image/jpeg", "text/html", "", "multipart/form-data",
                 "application/zip", "application/x-sqlite3; charset=binary"]
# header values: no control characters (the test client itself refuses newlines)
content_types = st.one_of(st.sampled_from(CONTENT_TYPES), st.text(
    st.characters(blacklist_categories=("Cc", "Cs")), max_size=30))


def names_for(suffix: str) -> st.SearchStrategy[str]:
    """A hostile file name, mostly with ``suffix`` (so the content reaches its reader)."""
    tail = st.one_of(st.just(suffix), st.just(suffix.upper()), st.sampled_from(
        [".csv", ".json", ".gpx", ".kml", ".kmz", ".zip", ".gpkg", ".exe", "", ".csv.exe",
         ".jpg"]), st.text(max_size=8))
    return st.builds(lambda stem, end: stem + end, stems, st.one_of(st.just(suffix), tail))


# --- CSV -------------------------------------------------------------------------------


@st.composite
def csv_files(draw) -> tuple[bytes, str]:
    """A table with known and unknown headers and nasty cells, in a random dialect."""
    header = draw(st.lists(columns, min_size=0, max_size=8))
    rows = draw(st.lists(st.lists(values, min_size=0, max_size=len(header) + 2), max_size=6))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quote = draw(st.booleans())

    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if quote else text

    text = "\n".join(delimiter.join(cell(c) for c in line) for line in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace"), draw(st.sampled_from([".csv", ".txt", ".tsv"]))


@st.composite
def findings_csv_files(draw) -> tuple[bytes, str]:
    """Findings that are valid except for a few drawn cells (so some uploads succeed)."""
    header = ["datum", "kategori", "allvarlighet", "beskrivning", "ansvarig", "breddgrad",
              "längdgrad"]
    n = draw(st.integers(1, 5))
    rows = []
    for i in range(n):
        rows.append([f"2025-05-{1 + i:02d} 21:30", "belysning", "2", f"Fynd {i}",
                     "trafikkontoret", f"{59.40 + 0.001 * i:.4f}", "17.9281"])
    for _ in range(draw(st.integers(0, 3))):
        row = draw(st.integers(0, n - 1))
        col = draw(st.integers(0, len(header) - 1))
        rows[row][col] = draw(values)
    text = "\n".join(";".join(c.replace(";", ",").replace("\n", " ") for c in line)
                     for line in [header, *rows])
    return text.encode("utf-8", errors="replace"), ".csv"


# --- JSON and GeoJSON ------------------------------------------------------------------


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20)
    | st.sampled_from(NASTY_VALUES),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10) | st.sampled_from(COLUMNS), children, max_size=4),
    max_leaves=20)

coordinates = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.floats(min_value=17.7, max_value=18.2), st.floats(min_value=59.2, max_value=59.45),
    st.sampled_from([0, 1e308, -1e308, "17.9", None]))
positions = st.lists(coordinates, min_size=0, max_size=4)
geometries = st.one_of(
    st.none(), json_values,
    st.fixed_dictionaries({
        "type": st.sampled_from(["Point", "LineString", "Polygon", "MultiPoint",
                                 "MultiPolygon", "GeometryCollection", "Circle", ""]),
        "coordinates": st.one_of(positions, st.lists(positions, max_size=4),
                                 st.lists(st.lists(positions, max_size=5), max_size=2)),
    }))
properties = st.dictionaries(st.sampled_from(COLUMNS) | st.text(max_size=10),
                             json_values, max_size=8)
features = st.one_of(
    st.fixed_dictionaries({"type": st.just("Feature"), "properties": properties,
                           "geometry": geometries}),
    json_values)
CRS_MEMBERS = [None, "urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:3006", "EPSG:3011", "EPSG:99999",
               "urn:ogc:def:crs:EPSG::4326", "", "garbage"]


@st.composite
def feature_collections(draw) -> dict:
    body: dict = {"type": draw(st.sampled_from(["FeatureCollection", "FeatureCollection",
                                                "Feature", "Topology", ""])),
                  "features": draw(st.lists(features, max_size=5))}
    crs = draw(st.sampled_from(CRS_MEMBERS))
    if crs is not None:
        body["crs"] = {"type": "name", "properties": {"name": crs}}
    return body


json_payloads = st.one_of(
    json_values, feature_collections(),
    st.lists(st.dictionaries(st.sampled_from(COLUMNS) | st.text(max_size=10), json_values,
                             max_size=8), max_size=5))


@st.composite
def geojson_files(draw) -> tuple[bytes, str]:
    body = draw(st.one_of(feature_collections(), json_values))
    text = json.dumps(body, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text)))
        text = text[:cut]  # cut short
    return text.encode(), draw(st.sampled_from([".geojson", ".json"]))


# --- XML: KML, GPX, KMZ ------------------------------------------------------------------


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
              for i in range(1, 10))
    + ']>\n')
XXE = ('<?xml version="1.0"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n')
XML_HEADS = ["", '<?xml version="1.0" encoding="UTF-8"?>\n', BILLION_LAUGHS, XXE,
             '<?xml version="1.0" encoding="UTF-16"?>\n', "\ufeff"]
xml_text = st.one_of(st.sampled_from(NASTY_VALUES + ["&lol9;", "&xxe;", "]]>", "<![CDATA[x"]),
                     st.text(max_size=40))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


@st.composite
def kml_files(draw) -> tuple[bytes, str]:
    head = draw(st.sampled_from(XML_HEADS))
    marks = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(xml_text)
        raw = draw(st.booleans())  # raw: entity references and broken markup stay
        name = name if raw else _escape(name)
        coords = ",".join(draw(st.lists(coordinates.map(str), max_size=3)))
        data = "".join(f'<Data name="{_escape(k)}"><value>{_escape(v)}</value></Data>'
                       for k, v in draw(st.dictionaries(columns, values, max_size=3)).items())
        marks.append(f"<Placemark><name>{name}</name><ExtendedData>{data}</ExtendedData>"
                     f"<TimeStamp><when>{_escape(draw(values))}</when></TimeStamp>"
                     f"<Point><coordinates>{coords}</coordinates></Point></Placemark>")
    body = (f'{head}<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f'{"".join(marks)}</Document></kml>')
    if draw(st.booleans()):
        body = body[:draw(st.integers(0, len(body)))]
    return body.encode("utf-8", errors="replace"), ".kml"


@st.composite
def gpx_files(draw) -> tuple[bytes, str]:
    head = draw(st.sampled_from(XML_HEADS))
    points = []
    for tag in draw(st.lists(st.sampled_from(["wpt", "trkpt", "rtept"]), max_size=5)):
        lat, lon = draw(coordinates), draw(coordinates)
        name = draw(xml_text)
        points.append((tag, f'<{tag} lat="{lat}" lon="{lon}"><time>{_escape(draw(values))}'
                            f"</time><name>{name if draw(st.booleans()) else _escape(name)}"
                            f"</name><type>{_escape(draw(values))}</type></{tag}>"))
    wpts = "".join(p for t, p in points if t == "wpt")
    trk = "".join(p for t, p in points if t == "trkpt")
    rte = "".join(p for t, p in points if t == "rtept")
    body = (f'{head}<gpx version="1.1" creator="fuzz" xmlns="http://www.topografix.com/GPX/1/1">'
            f"{wpts}<trk><name>{_escape(draw(values))}</name><trkseg>{trk}</trkseg></trk>"
            f"<rte>{rte}</rte></gpx>")
    if draw(st.booleans()):
        body = body[:draw(st.integers(0, len(body)))]
    return body.encode("utf-8", errors="replace"), ".gpx"


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


@lru_cache(maxsize=1)
def zip_bomb() -> bytes:
    """A 60 MB member of zeros, deflated to about 60 kB (ratio 1000)."""
    return _zip({"bomb.shp": bytes(60 * 1024 * 1024)})


@lru_cache(maxsize=1)
def nested_zip() -> bytes:
    inner = _zip({"a.shp": bytes(1024 * 1024)})
    return _zip({"inner.zip": inner, "x.shp": b"\x00" * 100})


@st.composite
def kmz_files(draw) -> tuple[bytes, str]:
    kml, _ = draw(kml_files())
    member = draw(st.sampled_from(["doc.kml", "../../doc.kml", "a/b.kml", "doc.KML", "x.txt"]))
    return _zip({member: kml}), ".kmz"


@st.composite
def shapefile_zips(draw) -> tuple[bytes, str]:
    """Zips with shapefile-like members: garbage, a real one cut, bombs, odd names."""
    kind = draw(st.sampled_from(["garbage", "real", "bomb", "nested", "empty"]))
    if kind == "bomb":
        return zip_bomb(), ".zip"
    if kind == "nested":
        return nested_zip(), ".zip"
    if kind == "empty":
        return _zip({}), ".zip"
    if kind == "real":
        members = dict(real_shapefile())
        victim = draw(st.sampled_from(sorted(members)))
        data = members[victim]
        members[victim] = data[:draw(st.integers(0, len(data)))] + draw(st.binary(max_size=64))
        return _zip(members), ".zip"
    stem = draw(st.sampled_from(["x", "../x", "/abs/x", "a" * 200, "ü"]))
    members = {stem + ext: draw(st.binary(max_size=200))
               for ext in draw(st.lists(st.sampled_from([".shp", ".shx", ".dbf", ".prj",
                                                         ".cpg"]), unique=True, max_size=5))}
    return _zip(members), ".zip"


@lru_cache(maxsize=1)
def real_shapefile() -> tuple[tuple[str, bytes], ...]:
    """A valid two-point findings Shapefile (SWEREF 99 18 00), as its member files."""
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {"datum": ["2025-05-14 21:30", "2025-05-14 21:40"], "kategori": ["belysning", "klotter"],
         "allvarlig": [2, 3]},
        geometry=[Point(153456.2, 6580123.9), Point(153500.0, 6580200.0)], crs=3011)
    with tempfile.TemporaryDirectory() as tmp:
        frame.to_file(Path(tmp) / "fynd.shp", engine="pyogrio")
        return tuple((p.name, p.read_bytes()) for p in sorted(Path(tmp).iterdir()))


# --- GeoPackage --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def real_gpkg() -> bytes:
    """A valid findings GeoPackage with one row."""
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame({"datum": ["2025-05-14 21:30"], "kategori": ["belysning"],
                              "allvarlighet": [2]}, geometry=[Point(17.9281, 59.4091)],
                             crs=4326)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fynd.gpkg"
        frame.to_file(path, engine="pyogrio")
        return path.read_bytes()


@lru_cache(maxsize=1)
def plain_sqlite() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.sqlite"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE gpkg_contents (table_name TEXT)")
        conn.execute("INSERT INTO gpkg_contents VALUES ('missing_table')")
        conn.commit()
        conn.close()
        return path.read_bytes()


@st.composite
def gpkg_files(draw) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["real", "cut", "flip", "sqlite", "header"]))
    data = real_gpkg()
    if kind == "cut":
        data = data[:draw(st.integers(0, len(data)))]
    elif kind == "flip":
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    elif kind == "sqlite":
        data = plain_sqlite()
    elif kind == "header":
        data = b"SQLite format 3\x00" + draw(st.binary(max_size=2000))
    return data, ".gpkg"


# --- photos ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def small_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    return out.getvalue()


def png_bomb() -> bytes:
    """A PNG header that declares 100 000 × 100 000 pixels (ten billion)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(1000))) + chunk(b"IEND", b""))


@st.composite
def photo_files(draw) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["garbage", "jpeg-cut", "jpeg-flip", "bomb", "jpeg-tail",
                                 "real"]))
    data = small_jpeg()
    if kind == "garbage":
        data = draw(st.binary(max_size=2000))
    elif kind == "jpeg-cut":
        data = data[:draw(st.integers(0, len(data)))]
    elif kind == "jpeg-flip":
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    elif kind == "bomb":
        data = png_bomb()
    elif kind == "jpeg-tail":
        data = data + draw(st.binary(max_size=200))
    return data, draw(st.sampled_from([".jpg", ".jpeg", ".png", ".gif", ".heic", ""]))


# --- every format --------------------------------------------------------------------------


class Blob(bytes):
    """File contents that a failing example prints short (a GeoPackage is 100 kB)."""

    def __repr__(self) -> str:
        head = bytes(self[:80])
        return f"Blob({len(self)} bytes: {head!r}{'…' if len(self) > 80 else ''})"


def short(files: st.SearchStrategy) -> st.SearchStrategy:
    return files.map(lambda f: (Blob(f[0]), f[1]))



garbage_files = st.tuples(
    st.one_of(st.binary(max_size=3000), st.just(b""), st.just(b"\x00" * 5000)),
    st.sampled_from([".csv", ".geojson", ".json", ".gpkg", ".zip", ".kml", ".kmz", ".gpx",
                     ".txt", ".tsv"]))



def huge_file() -> bytes:
    """A file the server must refuse with 413 (an explicit example of each route)."""
    return b"a" * HUGE_BYTES

any_file = short(st.one_of(garbage_files, csv_files(), findings_csv_files(), geojson_files(),
                           kml_files(), gpx_files(), kmz_files(), shapefile_zips(),
                           gpkg_files()))
upload_files = any_file
photos = short(photo_files())
