"""OGC API Features (Part 1 Core, Part 2 CRS): the parameters, CRS and metadata, no Flask.

The web face is :mod:`mapapp.ogc`; this module only turns the standard's query
parameters into plain values and says which collections, CRS and conformance
classes there are, so the rules can be tested without a request:

* ``crs`` / ``bbox-crs``: :data:`CRS84` (longitude, latitude; the default),
  EPSG:4326 (latitude, longitude: the EPSG axis order, as Part 2 requires),
  EPSG:3006 (SWEREF 99 TM) and EPSG:3011 (SWEREF 99 18 00, the storage CRS); both
  SWEREF systems are northing, easting in the EPSG register, so coordinates in them
  come in that order too.
* ``bbox``: four (or six, heights ignored) numbers in the axis order of ``bbox-crs``;
  :func:`parse_bbox` gives the bbox in the store CRS that holds it.
* ``datetime``: an instant (RFC 3339 time or a date: the whole Stockholm day) or an
  interval ``start/end`` with ``..`` (or nothing) for an open end; :func:`parse_datetime`
  gives ``(start, end)`` with ``end`` exclusive, as :class:`layers.store.base.Query` takes.
* ``limit``: default :data:`DEFAULT_LIMIT`; above :data:`MAX_LIMIT` the maximum is used
  (the standard's rule), below 1 is refused.

Every refusal is :class:`layers.io.filters.FilterError` (the parameter's name and a
Swedish message: 400 on the web).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from pyproj import CRS, Transformer

from layers.core.schema import LOCAL_TZ, STORE_EPSG, WEB_EPSG
from layers.io.filters import FilterError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
#: The CRS every collection offers, the default (CRS84) first.
SUPPORTED_EPSG = (WEB_EPSG, 3006, STORE_EPSG)
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
#: Decimals of coordinates: degrees (about 0.1 m) and metres (mm).
DEGREE_DECIMALS = 6
METRE_DECIMALS = 3

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)


@dataclass(frozen=True)
class OgcCrs:
    """One CRS a client may ask for: its URI, EPSG code and axis order."""

    uri: str
    epsg: int
    #: True when the first axis is latitude/northing (EPSG:4326, 3006, 3011).
    lat_first: bool

    @property
    def decimals(self) -> int:
        return DEGREE_DECIMALS if self.epsg == WEB_EPSG else METRE_DECIMALS


def _epsg_crs(code: int) -> OgcCrs:
    first = CRS.from_epsg(code).axis_info[0].direction.lower()
    return OgcCrs(EPSG_URI.format(code), code, first in ("north", "south"))


#: CRS84 and the EPSG systems, by URI.
CRS_LIST: tuple[OgcCrs, ...] = (OgcCrs(CRS84, WEB_EPSG, False),
                                *(_epsg_crs(code) for code in SUPPORTED_EPSG))
_BY_URI = {c.uri: c for c in CRS_LIST}
STORAGE_CRS = _BY_URI[EPSG_URI.format(STORE_EPSG)]


def crs_uris() -> list[str]:
    """Every supported CRS as the URIs a collection lists (CRS84 first)."""
    return [c.uri for c in CRS_LIST]


def parse_crs(text: str | None, parameter: str = "crs") -> OgcCrs:
    """Read ``crs`` or ``bbox-crs``: a URI of :data:`CRS_LIST` (also ``EPSG:3006``,
    ``[EPSG:3006]``, ``urn:ogc:def:crs:EPSG::3006`` and https); empty: CRS84."""
    value = (text or "").strip()
    if not value:
        return CRS_LIST[0]
    key = value.strip("[]").replace("https://", "http://")
    if key.upper() in ("OGC:CRS84", "CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84"):
        return CRS_LIST[0]
    code = None
    for prefix in ("http://www.opengis.net/def/crs/EPSG/0/", "EPSG:", "urn:ogc:def:crs:EPSG::"):
        if key.upper().startswith(prefix.upper()):
            code = key[len(prefix):]
    if key in _BY_URI:
        return _BY_URI[key]
    if code is not None and code.isdigit() and EPSG_URI.format(int(code)) in _BY_URI:
        return _BY_URI[EPSG_URI.format(int(code))]
    raise FilterError(f"{parameter} '{value}' stöds inte. Välj en av: {', '.join(crs_uris())}.",
                      parameter)


@lru_cache(maxsize=8)
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def parse_bbox(text: str, crs: OgcCrs) -> tuple[float, float, float, float]:
    """Read ``bbox`` in ``crs`` (its axis order) and return the store-CRS bbox holding it."""
    parts = [p.strip() for p in (text or "").split(",")]
    order = "minlat,minlon,maxlat,maxlon" if crs.lat_first and crs.epsg == WEB_EPSG else \
        "miny,minx,maxy,maxx (nordlig, östlig)" if crs.lat_first else "minlon,minlat,maxlon,maxlat"
    if len(parts) not in (4, 6):
        raise FilterError(f"bbox ska vara fyra tal ({order}) i bbox-crs, eller sex med höjder.",
                          "bbox")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise FilterError(f"bbox innehåller något som inte är ett tal: skriv {order} med punkt "
                          "som decimaltecken.", "bbox") from None
    if not all(math.isfinite(v) for v in values):
        raise FilterError("bbox får bara innehålla ändliga tal.", "bbox")
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    a1, b1, a2, b2 = values
    if crs.lat_first:
        a1, b1, a2, b2 = b1, a1, b2, a2
    minx, miny, maxx, maxy = a1, b1, a2, b2
    if crs.epsg == WEB_EPSG and not (-180 <= minx <= 180 and -180 <= maxx <= 180
                                     and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise FilterError(f"bbox ligger utanför WGS 84 (longitud −180–180, latitud −90–90); "
                          f"ordningen är {order}.", "bbox")
    if minx > maxx or miny > maxy:
        raise FilterError(f"bbox: det första hörnet ska vara det nedre vänstra (ordningen är "
                          f"{order}).", "bbox")
    if crs.epsg == STORE_EPSG:
        return minx, miny, maxx, maxy
    return tuple(_transformer(crs.epsg, STORE_EPSG).transform_bounds(  # type: ignore[return-value]
        minx, miny, maxx, maxy, densify_pts=11))


def store_bbox_as(bbox: tuple[float, float, float, float], crs: OgcCrs) -> list[float]:
    """A store-CRS bbox in ``crs``, in its axis order (for extents)."""
    minx, miny, maxx, maxy = bbox if crs.epsg == STORE_EPSG else \
        _transformer(STORE_EPSG, crs.epsg).transform_bounds(*bbox, densify_pts=11)
    out = [minx, miny, maxx, maxy] if not crs.lat_first else [miny, minx, maxy, maxx]
    return [round(v, crs.decimals) for v in out]


_DATETIME_HELP = ("datetime ska vara en tidpunkt (RFC 3339, t.ex. 2025-05-17T21:30:00Z), "
                  "ett datum (2025-05-17: hela dagen) eller ett intervall start/slut, med .. "
                  "för en öppen ände (2025-01-01/.. eller ../2025-04-30).")


def _moment(text: str) -> tuple[dt.datetime, dt.datetime]:
    """An instant as (first moment, first moment after it): a date is the whole day."""
    tz = ZoneInfo(LOCAL_TZ)
    value = text.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            start = dt.datetime.combine(day, dt.time(), tz)
            return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz)
        stamp = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise FilterError(f"'{value}' är ingen tidpunkt. {_DATETIME_HELP}", "datetime") from None
    if stamp.tzinfo is None:  # no offset: Stockholm time, as everywhere in the app
        stamp = stamp.replace(tzinfo=tz)
    # the instant lasts as long as its last written digit (the store keeps milliseconds)
    step = dt.timedelta(milliseconds=1) if "." in value or "," in value else \
        dt.timedelta(seconds=1)
    return stamp, stamp + step


def parse_datetime(text: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Read ``datetime`` into (start inclusive, end exclusive); (None, None) when empty."""
    value = (text or "").strip()
    if not value:
        return None, None
    if "/" not in value:
        if value == "..":
            raise FilterError(_DATETIME_HELP, "datetime")
        return _moment(value)
    if value.count("/") != 1:
        raise FilterError(_DATETIME_HELP, "datetime")
    first, last = (p.strip() for p in value.split("/"))
    start = None if first in ("", "..") else _moment(first)[0]
    end = None if last in ("", "..") else _moment(last)[1]
    if start is not None and end is not None and start >= end:
        raise FilterError("datetime: intervallets start ligger efter dess slut.", "datetime")
    return start, end


def parse_limit(text: str | None) -> int:
    """Read ``limit``: a whole number from 1; above :data:`MAX_LIMIT` the maximum."""
    value = (text or "").strip()
    if not value:
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise FilterError(f"limit ska vara ett heltal, inte '{value}'.", "limit") from None
    if limit < 1:
        raise FilterError("limit ska vara minst 1.", "limit")
    return min(limit, MAX_LIMIT)


def interval_text(start: dt.datetime | None, end: dt.datetime | None) -> list[str | None]:
    """A temporal extent as the standard writes it (UTC, null for an open end)."""
    def iso(value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")

    return [iso(start), iso(end)]
