"""Platssamverkan sites: the registry, and incidents before and after each site started.

A site is a polygon (a square, a centre, a station) where the city, the police,
property owners and businesses work together. Besides its row in ``sites`` it has
agreed measures (``site_measures``: what, who, by when, status) and a log of
meetings and activities (``site_activity_log``).

**Before and after.** For a site and for a *ring* around it — the buffer of
``ring_m`` metres (default 300) minus the site itself, so the two never share an
incident — the incidents are counted in two windows of equal length on either side
of the start date: ``[start − L, start)`` and ``[start, start + L)``, where ``L`` is
the number of days from the start date to the same date ``months`` later (12 by
default: 365 or 366 days). The ring shows whether incidents fell in the
neighbourhood too (a general trend) or moved there (displacement).

* Only incidents placed to the address or street count (precision ``exact`` or
  ``street``); those known only to a stadsdel cannot be said to be at a site.
* Only the categories :func:`layers.core.privacy.counted_categories` gives count: the
  pages name none, so sexual offences and violence in close relationships are
  never in a site's figures, for any role (they are published per
  stadsdelsområde only).
* A point on the site's boundary counts in the site, not in the ring.
* The windows are cut to the data: when the store holds incidents placed to the
  street or better (the only ones that can count at a site; events known only to a
  stadsdel or the city do not stretch the windows) from
  ``first`` to ``last`` and a full window would reach past either end, both windows
  are shortened to the same number of whole days and the figures say so. A site
  that started before the first incident or after the last has no before or after
  window (``None``).
* Figures shown to anonymous visitors and läsare go through
  :func:`layers.core.privacy.suppress` ("<5"), and a change computed from a hidden count
  is hidden too.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from layers.analysis.default_period import point_span
from layers.core.errors import RowError
from layers.core.periods import Period
from layers.core.privacy import POINT_PRECISIONS, PUBLIC_CATEGORY_CODES
from layers.core.schema import (
    INCIDENT_GROUPS,
    INCIDENTS,
    LOCAL_TZ,
    MEASURE_STATUSES,
    OPEN_STATUSES,
    SITE_ACTIVITIES,
    SITE_ACTIVITY_LOG,
    SITE_MEASURES,
    SITE_STATUSES,
    SITES,
)
from layers.indicators import (  # noqa: F401  (classify: part of this module's API)
    QUAD_SEGS,
    SITE_RING_M,
    change_text,
    classify,
    count_text,
)
from layers.io.forms import FORM_SOURCE, geometry_from_geojson, validate_form
from layers.store.base import Query, Store

LOGGER = logging.getLogger(__name__)

#: Width of the ring around a site (metres): the indicators' one definition.
DEFAULT_RING_M = SITE_RING_M
#: Widest ring a user may ask for (metres).
MAX_RING_M = 2000.0
#: Length of the windows before and after the start date (months).
DEFAULT_WINDOW_MONTHS = 12
#: Window lengths a user may choose (months).
WINDOW_CHOICES = (3, 4, 6, 12, 24)
#: At most this many tertials in a site's series.
MAX_TERTIALS = 12
#: Partners a site usually has (suggestions in the form; any text is allowed).
PARTNER_SUGGESTIONS = (
    "fastighetsägare", "näringsidkare", "lokalpolisområde", "bostadsbolag",
    "stadsdelsförvaltning", "trafikkontoret", "SL", "föreningar", "skola",
)

_GROUP_OF = {c.code: c.group for c in INCIDENTS.categories}


# --- geometry and windows -------------------------------------------------------------


def ring_of(site: BaseGeometry, ring_m: float = DEFAULT_RING_M) -> BaseGeometry:
    """The ring around a site: its buffer of ``ring_m`` metres minus the site itself."""
    return shapely.difference(shapely.buffer(site, ring_m, quad_segs=QUAD_SEGS), site)


@dataclass(frozen=True)
class Window:
    """A time window: ``start`` inclusive, ``end`` exclusive (aware, Stockholm)."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def days(self) -> int:
        """Length in local calendar days."""
        return (self.end.date() - self.start.date()).days

    @property
    def label(self) -> str:
        """'2023-03-01 – 2024-02-29' (the last day included)."""
        last = (self.end - pd.Timedelta(days=1)).date()
        return f"{self.start.date().isoformat()} – {last.isoformat()}"


@dataclass(frozen=True)
class Windows:
    """The windows before and after a start date, and why they may be shorter."""

    start: dt.date
    months: int
    before: Window | None
    after: Window | None
    note: str | None = None

    @property
    def label(self) -> str:
        """'12 månader före och efter' or '92 dagar före och efter'."""
        window = self.after or self.before
        if window is None:
            return "ingen jämförelse möjlig"
        if self.note:
            return f"{window.days} dagar före och efter"
        return f"{self.months} månader före och efter"


def _local_midnight(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(LOCAL_TZ)


def compare_windows(start_date: dt.date, months: int = DEFAULT_WINDOW_MONTHS,
                    span: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> Windows:
    """The equal windows before and after ``start_date``, cut to the data ``span``.

    ``span`` is (first, last) incident time; None means no data limit. Windows are
    whole local days (a day across a change to or from summer time is still a day).
    """
    full_end = (pd.Timestamp(start_date) + pd.DateOffset(months=months)).date()
    days = (full_end - start_date).days
    note = None
    if span is not None:
        first = pd.Timestamp(span[0]).tz_convert(LOCAL_TZ).date()
        # the day after the last incident's day: windows end at midnight
        stop = pd.Timestamp(span[1]).tz_convert(LOCAL_TZ).date() + dt.timedelta(days=1)
        if start_date >= stop:
            return Windows(start_date, months, None, None,
                           "Platsen startade efter den senaste händelsen i databasen: "
                           "ingen period efter start ännu.")
        if start_date <= first:
            return Windows(start_date, months, None, None,
                           "Platsen startade före den första händelsen i databasen: "
                           "ingen period före start finns.")
        available = min((stop - start_date).days, (start_date - first).days)
        if available < days:
            days = available
            note = (f"Data räcker inte till {months} månader på båda sidor om startdatum: "
                    f"jämförelsen gäller {days} dagar före och {days} dagar efter.")
    length = dt.timedelta(days=days)
    return Windows(start_date, months,
                   Window(_local_midnight(start_date - length), _local_midnight(start_date)),
                   Window(_local_midnight(start_date), _local_midnight(start_date + length)),
                   note)


# --- counting ---------------------------------------------------------------------------


@dataclass
class Counts:
    """Incidents in the site and in the ring, before and after (None: no window)."""

    site_before: int | None
    site_after: int | None
    ring_before: int | None
    ring_after: int | None


@dataclass
class TertialCount:
    """Incidents in one tertial, in the site and in the ring; ``side`` before/start/after."""

    period: Period
    site: int
    ring: int
    side: str


@dataclass
class SiteFigures:
    """The before/after figures of one site (exact counts: suppress them when shown)."""

    site_id: str
    ring_m: float
    windows: Windows
    total: Counts
    #: category group code -> counts
    groups: dict[str, Counts] = field(default_factory=dict)
    tertials: list[TertialCount] = field(default_factory=list)

    def display(self, below: int | None) -> dict[str, str]:
        """Texts for a page or a popup, with small counts hidden for ``below``."""
        return display_counts(self.total, below)


def shown(n: int | None, below: int | None) -> str:
    """A count as shown to a user: the number, '<5' when hidden, '–' without a window
    (:func:`layers.indicators.count_text`)."""
    return count_text(n, below)


def display_counts(c: Counts, below: int | None) -> dict[str, str]:
    """Counts and changes as texts (``below`` None: exact counts)."""
    return {
        "site_before": shown(c.site_before, below),
        "site_after": shown(c.site_after, below),
        "site_change": change_text(c.site_before, c.site_after, below),
        "ring_before": shown(c.ring_before, below),
        "ring_after": shown(c.ring_after, below),
        "ring_change": change_text(c.ring_before, c.ring_after, below),
    }


def read_nearby_incidents(store: Store, area: BaseGeometry, start: pd.Timestamp,
                          end: pd.Timestamp,
                          categories: tuple[str, ...] = PUBLIC_CATEGORY_CODES
                          ) -> gpd.GeoDataFrame:
    """Incidents of ``categories`` placed to the address or street inside ``area``'s
    bbox, in [start, end)."""
    return store.read("incidents", Query(bbox=tuple(area.bounds), start=start, end=end,
                                         where={"precision": POINT_PRECISIONS,
                                                "category": tuple(categories)}))


def _count(times: pd.Series, mask: np.ndarray, window: Window | None) -> int | None:
    if window is None:
        return None
    inside = ((times >= window.start) & (times < window.end)).to_numpy(bool)
    return int((inside & mask).sum())


def _counts(times: pd.Series, in_site: np.ndarray, in_ring: np.ndarray,
            windows: Windows) -> Counts:
    return Counts(_count(times, in_site, windows.before), _count(times, in_site, windows.after),
                  _count(times, in_ring, windows.before), _count(times, in_ring, windows.after))


def site_figures(store: Store, site: pd.Series | Mapping, *, ring_m: float = DEFAULT_RING_M,
                 months: int = DEFAULT_WINDOW_MONTHS,
                 span: tuple[pd.Timestamp, pd.Timestamp] | None | bool = True,
                 tertials: bool = False,
                 categories: tuple[str, ...] = PUBLIC_CATEGORY_CODES) -> SiteFigures:
    """Count incidents in a site and its ring before and after the site's start date.

    ``site`` is a row of ``sites`` (``id``, ``start_date``, ``geometry``). ``span``
    is the (first, last) time of the incidents that can count at a site (placed to
    the street or better, :func:`layers.analysis.default_period.point_span`), read from the
    store when True (None: there are none, so there is nothing to compare). Events
    known only to a stadsdel or the city never count at a site, so they must not
    stretch the windows either. With
    ``tertials`` the counts per tertial around the start are filled too.
    ``categories`` are the codes counted (the privacy rule's, default the
    non-sensitive ones).
    """
    if span is True:
        span = point_span(store)
    geom = site["geometry"]
    start_date = _as_date(site.get("start_date"))
    empty = Counts(None, None, None, None)
    if start_date is None or geom is None or geom.is_empty:
        windows = Windows(start_date or dt.date.today(), months, None, None,
                          "Platsen saknar startdatum." if start_date is None
                          else "Platsen saknar yta.")
        return SiteFigures(str(site["id"]), ring_m, windows, empty)
    if span is None:
        windows = Windows(start_date, months, None, None, "Inga händelser i databasen.")
        return SiteFigures(str(site["id"]), ring_m, windows, empty)
    windows = compare_windows(start_date, months, span)
    periods = tertials_around(start_date, span) if tertials else []
    starts = [w.start for w in (windows.before, windows.after) if w] + \
        [p.bounds()[0] for p in periods]
    ends = [w.end for w in (windows.before, windows.after) if w] + [p.bounds()[1] for p in periods]
    if not starts:
        return SiteFigures(str(site["id"]), ring_m, windows, empty)
    area = shapely.buffer(geom, ring_m, quad_segs=QUAD_SEGS)
    frame = read_nearby_incidents(store, area, pd.Timestamp(min(starts)),
                                  pd.Timestamp(max(ends)), categories)
    in_site, in_ring = classify(frame.geometry.to_numpy(), geom, ring_m)
    times = frame["occurred_at"]
    figures = SiteFigures(str(site["id"]), ring_m, windows,
                          _counts(times, in_site, in_ring, windows))
    groups = frame["category"].map(_GROUP_OF).to_numpy(dtype=object)
    for code in INCIDENT_GROUPS:
        m = groups == code
        figures.groups[code] = _counts(times, in_site & m, in_ring & m, windows)
    for p in periods:
        a, b = (pd.Timestamp(t) for t in p.bounds())
        inside = ((times >= a) & (times < b)).to_numpy(bool)
        side = "före" if p.end < start_date else ("efter" if p.start >= start_date else "start")
        figures.tertials.append(TertialCount(p, int((inside & in_site).sum()),
                                             int((inside & in_ring).sum()), side))
    return figures


def tertials_around(start_date: dt.date, span: tuple[pd.Timestamp, pd.Timestamp],
                    limit: int = MAX_TERTIALS) -> list[Period]:
    """The whole tertials of the data span, at most ``limit`` centred on the start date."""
    first = pd.Timestamp(span[0]).tz_convert(LOCAL_TZ).date()
    last = pd.Timestamp(span[1]).tz_convert(LOCAL_TZ).date()
    periods = []
    p = _tertial_of(first)
    while p.start <= last:
        periods.append(p)
        p = _tertial_of(p.end + dt.timedelta(days=1))
    if len(periods) <= limit:
        return periods
    around = next((i for i, q in enumerate(periods) if q.contains(start_date)),
                  0 if start_date < first else len(periods) - 1)
    lo = max(0, min(around - limit // 2, len(periods) - limit))
    return periods[lo:lo + limit]


def _tertial_of(day: dt.date) -> Period:
    return Period.tertial(day.year, (day.month - 1) // 4 + 1)


def _as_date(value: object) -> dt.date | None:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def figures_for_sites(store: Store, sites: gpd.GeoDataFrame, *, ring_m: float = DEFAULT_RING_M,
                      months: int = DEFAULT_WINDOW_MONTHS,
                      categories: tuple[str, ...] = PUBLIC_CATEGORY_CODES
                      ) -> dict[str, SiteFigures]:
    """Before/after figures of many sites (one bbox read each), by site id."""
    span = point_span(store)
    return {str(row["id"]): site_figures(store, row, ring_m=ring_m, months=months, span=span,
                                         categories=categories)
            for _, row in sites.iterrows()}


def popup_properties(figures: SiteFigures, below: int | None) -> dict[str, object]:
    """What the map's popup of a site shows: the figures as texts and the window."""
    return {
        **figures.display(below),
        "window": figures.windows.label,
        "window_note": figures.windows.note,
        "ring_m": int(figures.ring_m),
        "before_label": figures.windows.before.label if figures.windows.before else None,
        "after_label": figures.windows.after.label if figures.windows.after else None,
    }


# --- the registry ------------------------------------------------------------------------


def get_site(store: Store, site_id: str) -> pd.Series | None:
    """One site by id, or None."""
    frame = store.read("sites", Query(where={"id": site_id}))
    return None if frame.empty else frame.iloc[0]


def list_sites(store: Store, *, status: Iterable[str] = (), sdo: Iterable[str] = (),
               text: str = "") -> gpd.GeoDataFrame:
    """Sites by name, filtered by status, stadsdelsområde and a word in name or partners."""
    where: dict[str, object] = {}
    if tuple(status):
        where["status"] = tuple(status)
    if tuple(sdo):
        where["sdo_code"] = tuple(sdo)
    frame = store.read("sites", Query(where=where))
    words = text.strip().lower()
    if words and len(frame):
        hay = (frame["name"].fillna("") + " " + frame["partners"].fillna("") + " "
               + frame["contact"].fillna("")).str.lower()
        frame = frame[hay.str.contains(words, regex=False).to_numpy()]
    return frame.sort_values("name", key=lambda s: s.str.lower()).reset_index(drop=True)


def site_from_form(store: Store, values: Mapping[str, str], drawn: str | None, *,
                   site_id: str | None = None) -> tuple[gpd.GeoDataFrame, list[RowError]]:
    """Validate a site typed into the form and drawn on the map; join its stadsdelsområde.

    Returns the one-row frame (empty when invalid) and the errors.
    """
    from layers.io.importer import join_layer

    geometry, errors = geometry_from_geojson(drawn, "polygon")
    row = {f.name: values.get(f.name, "") for f in SITES.input_fields if f.name != "id"}
    row["id"] = site_id or f"{FORM_SOURCE}:site-{uuid.uuid4().hex[:12]}"
    validated = validate_form(SITES, row, geometry)
    errors = [*errors, *validated.errors]
    if errors:
        return validated.frame.iloc[0:0], errors
    return join_layer(store, SITES, validated.frame), []


def create_site(store: Store, frame: gpd.GeoDataFrame) -> str:
    """Store a validated new site; return its id."""
    store.write({"sites": frame})
    return str(frame["id"].iloc[0])


def update_site(store: Store, site_id: str, frame: gpd.GeoDataFrame) -> bool:
    """Replace a site's fields and polygon with a validated row; False if it is gone."""
    row = frame.iloc[0]
    values = {f.name: _plain(row[f.name]) for f in SITES.fields
              if f.name != "id" and f.name in frame.columns}
    values["geometry"] = row.geometry
    return store.update("sites", site_id, values)


def delete_site(store: Store, site_id: str) -> bool:
    """Delete a site with its measures and log; False when there was no such site."""
    for table in ("site_measures", "site_activity_log"):
        ids = store.read(table, Query(where={"site_id": site_id}))["id"]
        if len(ids):
            store.delete(table, ids.tolist())
    return store.delete("sites", [site_id]) > 0


def _plain(value: object) -> object:
    if value is None or (not isinstance(value, (str, dt.date)) and pd.isna(value)):
        return None
    return value


# --- measures and the log -----------------------------------------------------------------


def measures_of(store: Store, site_id: str) -> pd.DataFrame:
    """A site's agreed measures: open ones first, then by due date."""
    frame = store.read("site_measures", Query(where={"site_id": site_id}))
    done = frame["status"].isin(("klar", "installd")).to_numpy()
    due = pd.to_datetime(frame["due_date"], errors="coerce")
    return frame.assign(_done=done, _due=due).sort_values(
        ["_done", "_due"], na_position="last", kind="stable").drop(columns=["_done", "_due"]) \
        .reset_index(drop=True)


def add_measure(store: Store, site_id: str, values: Mapping[str, str], *, user: str
                ) -> list[RowError]:
    """Validate and store an agreed measure; return the errors (nothing stored then)."""
    row = {"measure": values.get("measure", ""), "owner": values.get("owner", ""),
           "due_date": values.get("due_date", ""), "status": values.get("status") or "planerad",
           "site_id": site_id, "id": f"{FORM_SOURCE}:measure-{uuid.uuid4().hex[:12]}",
           "created_by": user, "created_at": pd.Timestamp.now(tz=LOCAL_TZ).isoformat()}
    validated = validate_form(SITE_MEASURES, row)
    if validated.errors:
        return validated.errors
    store.write({"site_measures": pd.DataFrame(validated.frame.drop(columns="geometry"))})
    return []


def set_measure_status(store: Store, site_id: str, measure_id: str, status: str) -> bool:
    """Change a measure's status; False for an unknown status or measure."""
    if status not in MEASURE_STATUSES:
        return False
    found = store.read("site_measures", Query(where={"id": measure_id, "site_id": site_id}))
    return not found.empty and store.update("site_measures", measure_id, {"status": status})


def activity_log_of(store: Store, site_id: str) -> pd.DataFrame:
    """A site's meetings and activities, newest first."""
    frame = store.read("site_activity_log", Query(where={"site_id": site_id}))
    return frame.sort_values(["date", "created_at"], ascending=False, kind="stable") \
        .reset_index(drop=True)


def add_log_entry(store: Store, site_id: str, values: Mapping[str, str], *, user: str
                  ) -> list[RowError]:
    """Validate and store a meeting or activity; return the errors (nothing stored then)."""
    row = {"date": values.get("date", ""), "kind": values.get("kind", ""),
           "note": values.get("note", ""), "site_id": site_id,
           "id": f"{FORM_SOURCE}:log-{uuid.uuid4().hex[:12]}",
           "created_by": user, "created_at": pd.Timestamp.now(tz=LOCAL_TZ).isoformat()}
    validated = validate_form(SITE_ACTIVITY_LOG, row)
    if validated.errors:
        return validated.errors
    store.write({"site_activity_log": pd.DataFrame(validated.frame.drop(columns="geometry"))})
    return []


def open_findings_in(store: Store, site: BaseGeometry) -> gpd.GeoDataFrame:
    """Open findings (ny, tilldelad) that lie in the site, most severe first."""
    frame = store.read("findings", Query(bbox=tuple(site.bounds),
                                         where={"status": OPEN_STATUSES}))
    if frame.empty:
        return frame
    shapely.prepare(site)
    inside = shapely.intersects(site, frame.geometry.to_numpy())
    return frame[inside].sort_values(["severity", "found_at"], ascending=[False, True],
                                     kind="stable").reset_index(drop=True)


#: Swedish labels the pages use.
LABELS = {
    "statuses": SITE_STATUSES,
    "activities": SITE_ACTIVITIES,
    "measure_statuses": MEASURE_STATUSES,
    "groups": INCIDENT_GROUPS,
}
