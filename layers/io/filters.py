"""Map and API filters: query parameters in, store queries out.

The city map, the district maps and ``/api/<layer>`` share one set of parameters
(the URL of a map is its filter, so it can be bookmarked and shared):

==========  ==========================================================================
``period``  ``2024``, ``2024-T2``, ``2024-05`` or ``2024-01-01..2024-04-30``
``from``    first day (ISO date), with ``to`` the last day (both included); instead
``to``      of ``period``. ``from`` alone runs to today.
``category`` incident category codes, comma separated, or a group: ``strategiska``
            (the strategic crimes) or a group code of :data:`INCIDENT_GROUPS`
``sdn``     stadsdelsområde code (``jarva``) or name (``Järva``)
``stadsdel`` stadsdel code (``rinkeby``)
``status``  finding status codes, comma separated, or ``oppna`` (ny + tilldelad)
``bbox``    ``minlon,minlat,maxlon,maxlat`` in WGS 84
``limit``   page size (default 1 000, at most 10 000); ``offset`` rows to skip
==========  ==========================================================================

:func:`parse_filter` turns a mapping of parameters into a :class:`MapFilter`, or
raises :class:`FilterError` naming the parameter, with a Swedish message.
:meth:`MapFilter.incident_query` and :meth:`MapFilter.layer_query` give the
:class:`layers.store.base.Query` the store answers. No Flask here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from pyproj import Transformer

import geodata
from layers.core.periods import Period, PeriodError, parse_date, parse_period, period_from_dates
from layers.core.schema import (
    FINDING_CATEGORIES,
    FINDING_STATUSES,
    INCIDENT_CATEGORIES,
    INCIDENT_GROUPS,
    LOCAL_TZ,
    OPEN_STATUSES,
    SITE_STATUSES,
    STORE_EPSG,
    STRATEGIC_CODES,
    WEB_EPSG,
)
from layers.store.base import Query

#: The category group of the strategic crimes (Stockholm's programme).
STRATEGIC_GROUP = "strategiska"
#: Category groups a filter accepts, with their Swedish labels.
CATEGORY_GROUPS: dict[str, str] = {STRATEGIC_GROUP: "Strategiska brott", **INCIDENT_GROUPS}
#: The status value for all open findings.
OPEN_STATUS = "oppna"
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000

class FilterError(ValueError):
    """A malformed parameter: ``parameter`` names it, the message is Swedish."""

    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter


@dataclass(frozen=True)
class MapFilter:
    """What the user asked to see. ``None`` in a tuple field means "all"."""

    period: Period | None = None
    category: str = ""
    categories: tuple[str, ...] | None = None
    sdn: str | None = None
    stadsdel: str | None = None
    status: str = ""
    statuses: tuple[str, ...] | None = None
    #: (minlon, minlat, maxlon, maxlat) in WGS 84.
    bbox: tuple[float, float, float, float] | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    #: Parameters the filter did not use (kept so links can carry them on).
    extra: dict[str, str] = field(default_factory=dict)

    def with_(self, **changes: object) -> MapFilter:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def params(self, *, paging: bool = False) -> dict[str, str]:
        """The filter as canonical query parameters (for links and the URL)."""
        out: dict[str, str] = {}
        if self.period is not None:
            out["period"] = self.period.code
        if self.category:
            out["category"] = self.category
        if self.sdn:
            out["sdn"] = self.sdn
        if self.stadsdel:
            out["stadsdel"] = self.stadsdel
        if self.status:
            out["status"] = self.status
        if self.bbox is not None:
            out["bbox"] = ",".join(f"{v:.6f}".rstrip("0").rstrip(".") for v in self.bbox)
        if paging:
            out["limit"] = str(self.limit)
            out["offset"] = str(self.offset)
        return out

    @property
    def store_bbox(self) -> tuple[float, float, float, float] | None:
        """The bbox in the store CRS (EPSG:3011), or None."""
        return None if self.bbox is None else bbox_to_store(self.bbox)

    def area_where(self) -> dict[str, object]:
        """Conditions on the joined area columns (``sdo_code``, ``stadsdel``)."""
        where: dict[str, object] = {}
        if self.sdn:
            where["sdo_code"] = area_codes(self.sdn)
        if self.stadsdel:
            where["stadsdel"] = self.stadsdel
        return where

    def incident_query(self, *, period: Period | None = None,
                       categories: tuple[str, ...] | None = None,
                       where: Mapping[str, object] | None = None,
                       bbox: bool = True, paged: bool = False) -> Query:
        """The store query for incidents; ``period``/``categories`` override the filter's."""
        period = period or self.period
        start, end = period.bounds() if period else (None, None)
        conditions = self.area_where()
        codes = categories if categories is not None else self.categories
        if codes is not None:
            conditions["category"] = tuple(codes)
        conditions.update(where or {})
        return Query(bbox=self.store_bbox if bbox else None, start=start, end=end,
                     where=conditions,
                     limit=(self.limit + 1) if paged else None,
                     offset=self.offset if paged else 0)

    def layer_query(self, *, paged: bool = False) -> Query:
        """The store query for findings or sites: period (findings: the day found),
        category, status and area."""
        start, end = self.period.bounds() if self.period else (None, None)
        conditions = self.area_where()
        if self.categories is not None:
            conditions["category"] = self.categories
        if self.statuses is not None:
            conditions["status"] = self.statuses
        return Query(bbox=self.store_bbox, start=start, end=end, where=conditions,
                     limit=(self.limit + 1) if paged else None,
                     offset=self.offset if paged else 0)


# --- single parameters -------------------------------------------------------------


def parse_categories(text: str, layer: str = "incidents"
                     ) -> tuple[str, tuple[str, ...] | None]:
    """Read ``category``: codes (comma separated) or a group; return (canonical, codes).

    For incidents the codes are those of :data:`layers.core.schema.INCIDENT_CATEGORIES`
    and a group is ``strategiska`` or one of :data:`layers.core.schema.INCIDENT_GROUPS`;
    for findings the codes of :data:`layers.core.schema.FINDING_CATEGORIES`. Empty: all.
    """
    tokens = [t.strip().lower() for t in (text or "").split(",") if t.strip()]
    if not tokens or tokens == ["alla"]:
        return "", None
    taxonomy = FINDING_CATEGORIES if layer == "findings" else INCIDENT_CATEGORIES
    known = tuple(c.code for c in taxonomy)
    groups = {} if layer == "findings" else CATEGORY_GROUPS
    codes: list[str] = []
    for token in tokens:
        if token in known:
            members: tuple[str, ...] = (token,)
        elif token == STRATEGIC_GROUP and groups:
            members = STRATEGIC_CODES
        elif token in groups:
            members = tuple(c.code for c in taxonomy if c.group == token)
        else:
            also = f" eller en grupp: {', '.join(groups)}" if groups else ""
            raise FilterError(f"Okänd kategori '{token}'. Använd koder som "
                              f"{', '.join(known[:4])} …{also}.", "category")
        codes += [c for c in members if c not in codes]
    return ",".join(tokens), tuple(codes)


def parse_statuses(text: str, layer: str = "findings") -> tuple[str, tuple[str, ...] | None]:
    """Read ``status``: finding status codes (comma separated) or ``oppna`` (ny +
    tilldelad); for sites the site statuses (planerad, aktiv, avslutad)."""
    tokens = [t.strip().lower() for t in (text or "").split(",") if t.strip()]
    if not tokens or tokens == ["alla"]:
        return "", None
    choices = SITE_STATUSES if layer == "sites" else FINDING_STATUSES
    groups = {} if layer == "sites" else {OPEN_STATUS: OPEN_STATUSES, "öppna": OPEN_STATUSES}
    labels = {label: code for code, label in choices.items()}
    codes: list[str] = []
    for token in tokens:
        if token in groups:
            members: tuple[str, ...] = groups[token]
        elif token in choices or token in labels:
            members = (labels.get(token, token),)
        else:
            also = f" eller {OPEN_STATUS}" if groups else ""
            raise FilterError(f"Okänd status '{token}'. Använd {', '.join(choices)}{also}.",
                              "status")
        codes += [c for c in members if c not in codes]
    return ",".join(tokens), tuple(codes)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Read ``bbox=minlon,minlat,maxlon,maxlat`` (WGS 84 degrees)."""
    parts = (text or "").split(",")
    if len(parts) != 4:
        raise FilterError("bbox ska vara fyra tal: minlon,minlat,maxlon,maxlat (WGS 84), "
                          "t.ex. 17.9,59.3,18.1,59.4.", "bbox")
    try:
        minlon, minlat, maxlon, maxlat = (float(p) for p in parts)
    except ValueError:
        raise FilterError("bbox innehåller något som inte är ett tal: skriv "
                          "minlon,minlat,maxlon,maxlat med punkt som decimaltecken.",
                          "bbox") from None
    if not all(math.isfinite(v) for v in (minlon, minlat, maxlon, maxlat)):
        raise FilterError("bbox får bara innehålla ändliga tal.", "bbox")
    if not (-180 <= minlon <= 180 and -180 <= maxlon <= 180
            and -90 <= minlat <= 90 and -90 <= maxlat <= 90):
        raise FilterError("bbox ligger utanför WGS 84 (longitud −180–180, latitud −90–90); "
                          "ordningen är minlon,minlat,maxlon,maxlat.", "bbox")
    if minlon >= maxlon or minlat >= maxlat:
        raise FilterError("bbox: minlon måste vara mindre än maxlon och minlat mindre än "
                          "maxlat (ordningen är minlon,minlat,maxlon,maxlat).", "bbox")
    return minlon, minlat, maxlon, maxlat


def parse_int(text: str | None, parameter: str, default: int, minimum: int,
              maximum: int | None = None) -> int:
    """Read a whole number parameter within bounds."""
    if text is None or str(text).strip() == "":
        return default
    try:
        value = int(str(text).strip())
    except ValueError:
        raise FilterError(f"{parameter} ska vara ett heltal, inte '{text}'.", parameter) from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" och högst {maximum}" if maximum is not None else ""
        raise FilterError(f"{parameter} ska vara minst {minimum}{upper}.", parameter)
    return value


def _parse_time(args: Mapping[str, str], default_period: Period | None) -> Period | None:
    period_text = (args.get("period") or "").strip()
    start_text = (args.get("from") or "").strip()
    end_text = (args.get("to") or "").strip()
    if period_text and (start_text or end_text):
        raise FilterError("Ange antingen period eller from/to, inte båda.", "period")
    if period_text:
        try:
            return parse_period(period_text)
        except PeriodError as exc:
            raise FilterError(str(exc), "period") from None
    if end_text and not start_text:
        raise FilterError("to kräver from: ange periodens första dag med from.", "from")
    if not start_text:
        return default_period
    first = _date_param(start_text, "from", "startdatum")
    if end_text:
        last = _date_param(end_text, "to", "slutdatum")
    else:
        last = max(dt.datetime.now(ZoneInfo(LOCAL_TZ)).date(), first)
    try:
        return period_from_dates(first, last)
    except PeriodError as exc:
        raise FilterError(str(exc), "to") from None


def _date_param(text: str, parameter: str, what: str) -> dt.date:
    try:
        return parse_date(text, what)
    except PeriodError as exc:
        raise FilterError(str(exc), parameter) from None


def resolve_area(text: str, known: Collection[str] | Mapping[str, str] | None,
                 parameter: str) -> str:
    """Turn an area code or name into its code; check it against ``known`` if given.

    ``known`` may map codes to names (then names are accepted too, any case).
    """
    value = text.strip()
    code = geodata.slugify(value)
    if known is None:
        return code
    if code in known:
        return code
    if isinstance(known, Mapping):
        by_name = {geodata.slugify(name): c for c, name in known.items()}
        if code in by_name:
            return by_name[code]
    what = "stadsdelsområde" if parameter == "sdn" else "stadsdel"
    example = ", ".join(sorted(known)[:3])
    raise FilterError(f"Okänt {what} '{value}'. Exempel på koder: {example} …", parameter)


def area_codes(code: str) -> tuple[str, ...]:
    """An area's code and the codes of the areas it was made of (Järva: Rinkeby-Kista…)."""
    return (code, *geodata.MERGERS.get(code, ()))


def parse_filter(args: Mapping[str, str], *, layer: str = "incidents",
                 default_period: Period | None = None,
                 areas: Collection[str] | Mapping[str, str] | None = None,
                 stadsdelar: Collection[str] | Mapping[str, str] | None = None) -> MapFilter:
    """Read every filter parameter; raise :class:`FilterError` on the first bad one.

    ``layer`` decides what ``category`` and ``status`` mean: incident categories
    and finding statuses (the map's filter, the default), finding categories for
    ``findings``, site statuses for ``sites``. ``default_period`` is used when
    neither ``period`` nor ``from`` is given (None: no time limit).
    ``areas``/``stadsdelar`` are the known codes (or code -> name).
    """
    period = _parse_time(args, default_period)
    category, categories = parse_categories(args.get("category", ""), layer)
    status, statuses = parse_statuses(args.get("status", ""), layer)
    sdn_text = (args.get("sdn") or "").strip()
    sdn = resolve_area(sdn_text, areas, "sdn") if sdn_text else None
    sd_text = (args.get("stadsdel") or "").strip()
    stadsdel = resolve_area(sd_text, stadsdelar, "stadsdel") if sd_text else None
    bbox_text = (args.get("bbox") or "").strip()
    bbox = parse_bbox(bbox_text) if bbox_text else None
    limit = parse_int(args.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = parse_int(args.get("offset"), "offset", 0, 0)
    known = {"period", "from", "to", "category", "status", "sdn", "stadsdel", "bbox",
             "limit", "offset"}
    extra = {k: v for k, v in args.items() if k not in known}
    return MapFilter(period=period, category=category, categories=categories, sdn=sdn,
                     stadsdel=stadsdel, status=status, statuses=statuses, bbox=bbox,
                     limit=limit, offset=offset, extra=extra)


# --- coordinates -------------------------------------------------------------------


@lru_cache(maxsize=1)
def _to_store() -> Transformer:
    return Transformer.from_crs(WEB_EPSG, STORE_EPSG, always_xy=True)


@lru_cache(maxsize=1)
def _to_web() -> Transformer:
    return Transformer.from_crs(STORE_EPSG, WEB_EPSG, always_xy=True)


def bbox_to_store(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A WGS 84 bbox as the bbox (EPSG:3011) that holds it (edges densified)."""
    return tuple(_to_store().transform_bounds(*bbox, densify_pts=11))  # type: ignore[return-value]


def bbox_to_web(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """An EPSG:3011 bbox as the WGS 84 bbox that holds it."""
    return tuple(_to_web().transform_bounds(*bbox, densify_pts=11))  # type: ignore[return-value]


def xy_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:3011 coordinates as WGS 84 longitudes and latitudes."""
    return _to_web().transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
