"""Reading the layers for a request, the same way on the pages, in /api and in /ogc.

What several blueprints answer with, so that none imports another: this request's
small-count threshold (:func:`suppress_below`) and filter (:func:`request_filter`),
the map's default year (:func:`latest_data_year`), a site's ring and window
(:func:`ring_and_months`) and the sites layer's popup figures (:func:`popup_extra`),
the walks as features (:func:`walks_features`), and the ranking's parameters
(:func:`sdn_and_period`, :func:`chosen_or_default`) and colours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import geopandas as gpd
from flask import current_app, request, url_for

from layers.analysis.areas import area_catalogue
from layers.analysis.priority import resolve_sdn
from layers.core import privacy
from layers.core.periods import Period, PeriodError, parse_period
from layers.core.schema import STORE_EPSG
from layers.domain import sites as sites_core
from layers.domain import walks as walks_core
from layers.io.filters import FilterError, MapFilter, parse_filter
from layers.store.base import Query, Store
from mapapp.access import current_user
from mapapp.store_ import get_store

#: Fill colour of a priority place by rank: the first five darkest.
RANK_COLOURS = ((5, "#b2182b"), (10, "#d6604d"), (10_000, "#f4a582"))
#: Fields of GET /api/walks (and the OGC walks collection).
WALK_API_FIELDS = ("id", "date", "start_time", "end_time", "area", "sdo_code", "organisers",
                   "participants", "light", "light_label", "sunset", "route_m", "findings",
                   "open")


def suppress_below() -> int | None:
    """The small-count threshold for this request's user (None: show exact counts)."""
    if privacy.suppresses_counts(current_user()):
        return int(current_app.config.get("SUPPRESS_BELOW") or 0) or None
    return None


def latest_data_year(store) -> int:
    """The newest year with incidents (this year when there are none): the map's default."""
    this_year = dt.date.today().year
    for year in range(this_year, this_year - 30, -1):
        start, end = Period.year(year).bounds()
        # the first time in the year is enough (a count would visit every row of it)
        if store.time_span("incidents", Query(start=start, end=end)) is not None:
            return year
    return this_year


def request_filter(layer: str = "incidents", default_period: Period | None = None,
                   args: Mapping[str, str] | None = None) -> MapFilter:
    """Parse the request's query string, or ``args`` (raises FilterError → 400)."""
    catalogue = area_catalogue(get_store())
    return parse_filter(request.args if args is None else args, layer=layer,
                        default_period=default_period,
                        areas=catalogue.all_areas, stadsdelar=catalogue.stadsdel_names)


# --- sites ----------------------------------------------------------------------------


def ring_and_months() -> tuple[float, int]:
    """The ring width and window length of this request (``ring``, ``months``), checked."""
    default_ring = float(current_app.config.get("SITE_RING_M") or sites_core.DEFAULT_RING_M)
    try:
        ring = float(request.args.get("ring", default_ring))
    except ValueError:
        ring = default_ring
    ring = min(max(ring, 10.0), sites_core.MAX_RING_M)
    try:
        months = int(request.args.get("months", sites_core.DEFAULT_WINDOW_MONTHS))
    except ValueError:
        months = sites_core.DEFAULT_WINDOW_MONTHS
    if months not in sites_core.WINDOW_CHOICES:
        months = sites_core.DEFAULT_WINDOW_MONTHS
    return ring, months


def site_categories() -> privacy.CountedCategories:
    """What the sites' figures count: the privacy rule for "all categories" (the
    pages name no category), so never the sensitive ones, for any role."""
    return privacy.counted_categories(current_user(), None)


def popup_extra(frame, labels: Callable[[dict], dict]) -> Callable[[dict], dict]:
    """Wrap the sites layer's ``extra`` so each feature gets its before/after figures.

    For ``feature_collection(frame, …, extra=popup_extra(frame, labels))`` in
    ``GET /api/sites``: adds ``site_before``, ``site_after``, ``site_change``,
    ``ring_before``, ``ring_after``, ``ring_change``, ``window``, ``ring_m`` (texts,
    small counts hidden for the user's role) and ``url`` (the site's page).
    """
    ring, months = ring_and_months()
    counted = site_categories()
    figures = sites_core.figures_for_sites(get_store(), frame, ring_m=ring, months=months,
                                           categories=counted.codes)
    below = suppress_below()

    def extra(props: dict) -> dict:
        out = labels(props)
        fig = figures.get(str(props.get("id")))
        if fig is not None:
            out.update(sites_core.popup_properties(fig, below))
            out["restricted"] = counted.note
        out["url"] = url_for("sites.show_site", site_id=props.get("id"))
        return out

    return extra


# --- walks ----------------------------------------------------------------------------


def walks_features(store: Store, sdo: tuple[str, ...] = ()
                   ) -> tuple[gpd.GeoDataFrame, Callable[[dict], dict]]:
    """Every walk (newest first) as rows with their route (EPSG:3011, None without one),
    and the ``extra`` that adds each feature's participants by group and page URL."""
    overview = walks_core.walks_overview(store, sdo=sdo)
    routes = walks_core.routes_of(store)
    frame = gpd.GeoDataFrame(overview.drop(columns=["groups", "label"]),
                             geometry=[routes.get(i) for i in overview["id"]], crs=STORE_EPSG)
    groups = dict(zip(overview["id"], overview["groups"], strict=True))

    def extra(p: dict) -> dict:
        return {"participants_by_group": groups.get(p["id"], {}),
                "url": url_for("walks.show_walk", walk_id=p["id"], _external=True)}

    return frame, extra


# --- priority places -------------------------------------------------------------------


class BadParameter(FilterError):
    """A malformed ``sdn``, ``period`` or ``limit`` (message and parameter name)."""


def sdn_and_period(sdn_text: str, period_text: str) -> tuple[str | None, Period | None]:
    """Read a stadsdelsområde and a period as the ranking takes them (empty: None);
    raises a FilterError naming ``sdn`` or ``period``."""
    try:
        sdn = resolve_sdn(sdn_text.strip()) if sdn_text.strip() else None
    except ValueError as exc:
        raise BadParameter(str(exc), "sdn") from None
    try:
        period = parse_period(period_text.strip()) if period_text.strip() else None
    except PeriodError as exc:
        raise BadParameter(str(exc), "period") from None
    return sdn, period


def chosen_or_default(store, period: Period | None) -> tuple[Period, str | None]:
    """The period asked for, or the default tertial and the sentence that says why
    (layers.analysis.default_period; None when the user chose the period)."""
    if period is not None:
        return period, None
    from layers.analysis.default_period import default_period

    choice = default_period(store, "tertial")
    return choice.period, choice.reason
