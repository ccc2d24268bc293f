"""Who sees which rows and fields of each layer: shared by ``/api`` and ``/ogc``.

The JSON API (:mod:`mapapp.api`) and OGC API Features (:mod:`mapapp.ogc`) answer
each role with exactly the same rows and properties because both read through
here: the fields per layer and role, the incident rule of :mod:`layers.core.privacy`
(:func:`incident_access`), the Swedish labels of the codes and the queries of the
reference layers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd

from layers.analysis.areas import AreaCatalogue
from layers.core import privacy
from layers.core.periods import PeriodError, parse_date
from layers.core.schema import (
    FINDING_CATEGORIES,
    FINDING_STATUSES,
    INCIDENT_CATEGORIES,
    SITE_STATUSES,
)
from layers.domain.users import User
from layers.io.filters import FilterError, MapFilter, area_codes
from layers.io.geojson import unplaced_without_points
from layers.store.base import Query, Store

#: Incident fields everyone may see, and the extra ones for handläggare/admin.
INCIDENT_PUBLIC_FIELDS = ("id", "occurred_at", "category", "strategic", "precision", "source",
                          "stadsdel", "sdo_code", "sdo_name", "site_id")
INCIDENT_FULL_FIELDS = (*INCIDENT_PUBLIC_FIELDS, "sensitive", "victim_gender", "description")
FINDING_FIELDS = ("id", "found_at", "category", "severity", "description", "owner", "status",
                  "walk_id", "photo", "status_changed_at", "fixed_at", "stadsdel", "sdo_code",
                  "sdo_name", "site_id")
#: What anonymous callers get of a finding: what the public city map draws (icon, colour,
#: place, date), without the description, owner, walk or photo, which are for läsare.
FINDING_PUBLIC_FIELDS = ("id", "found_at", "category", "severity", "status", "stadsdel",
                         "sdo_code", "sdo_name", "site_id")
SITE_FIELDS = ("id", "name", "status", "start_date", "partners", "activities", "contact",
               "sdo_code", "sdo_name")
AREA_FIELDS = ("code", "name", "number", "division", "valid_from", "valid_to")
STADSDEL_FIELDS = ("code", "name", "sdo_code", "sdo_name")

INCIDENT_LABELS = {c.code: c.label for c in INCIDENT_CATEGORIES}
FINDING_LABELS = {c.code: c.label for c in FINDING_CATEGORIES}


@dataclass(frozen=True)
class IncidentAccess:
    """What incident rows and fields a user may read for a filter (layers.core.privacy)."""

    fields: tuple[str, ...]
    #: Category codes to read (None: every category).
    categories: tuple[str, ...] | None
    #: Further store conditions (precision to the street or better for most roles).
    where: dict[str, object]
    #: Swedish note of what the role does not get as points (None: nothing held back).
    restricted: str | None


def incident_access(user: User | None, flt: MapFilter) -> IncidentAccess:
    """The incident rule of :mod:`mapapp.api`'s docstring for ``user`` and the filter's categories.

    Raises :class:`layers.core.privacy.SensitiveRefused` when a role that may not see
    sensitive points names a sensitive category (403).
    """
    if privacy.sees_sensitive_points(user):
        return IncidentAccess(INCIDENT_FULL_FIELDS, flt.categories, {}, None)
    privacy.counted_categories(user, flt.category)  # a named sensitive code: 403
    return IncidentAccess(
        INCIDENT_PUBLIC_FIELDS, privacy.point_categories(user, flt.categories),
        {"precision": privacy.POINT_PRECISIONS},
        "Sexualbrott och våld i nära relation, och händelser utan känt läge "
        "(stadsdel/kommun), visas bara som aggregat för din roll: de känsliga "
        "kategorierna bara som en summa per stadsdelsområde.")


def read_incidents(store: Store, query: Query) -> gpd.GeoDataFrame:
    """One page of incidents, with no point for those known only to a stadsdel or the city."""
    return unplaced_without_points(store.read_page("incidents", query))


def finding_fields(user: User | None) -> tuple[str, ...]:
    """The finding properties this user may see (anonymous: what the public map draws)."""
    if user is None:
        return FINDING_PUBLIC_FIELDS
    if user.can("handläggare"):
        return (*FINDING_FIELDS, "created_by", "created_at")
    return FINDING_FIELDS


def incident_labels(p: dict) -> dict:
    """Swedish labels of an incident feature's codes."""
    return {"category_label": INCIDENT_LABELS.get(p["category"])}


def finding_labels(p: dict) -> dict:
    """Swedish labels of a finding feature's codes."""
    return {"category_label": FINDING_LABELS.get(p["category"]),
            "status_label": FINDING_STATUSES.get(p["status"] or "")}


def site_labels(p: dict) -> dict:
    """Swedish label of a site feature's status."""
    return {"status_label": SITE_STATUSES.get(p["status"] or "")}


def stadsdelar_with_areas(frame: gpd.GeoDataFrame, catalogue: AreaCatalogue
                          ) -> gpd.GeoDataFrame:
    """Stadsdelar rows with the code and name of their current stadsdelsområde."""
    extra = catalogue.stadsdelar.set_index("code")
    return frame.assign(sdo_code=frame["code"].map(extra["sdo_code"]),
                        sdo_name=frame["code"].map(extra["sdo_name"]))


def reference_query(layer: str, flt: MapFilter, catalogue: AreaCatalogue) -> Query:
    """Query for stadsdelar / stadsdelsområden: bbox, ``sdn``, ``division``."""
    where: dict[str, object] = {}
    if layer == "stadsdelar":
        if flt.sdn:
            codes = catalogue.stadsdelar.loc[
                catalogue.stadsdelar["sdo_code"].isin(area_codes(flt.sdn)), "code"]
            where["code"] = tuple(codes)
        if flt.stadsdel:
            where["code"] = (flt.stadsdel,)
    else:
        if flt.sdn:
            where["code"] = flt.sdn
        division = flt.extra.get("division", "").strip()
        if division:
            if division == "aktuell":
                division = catalogue.division
            where["valid_from"] = division_date(division)
    return Query(bbox=flt.store_bbox, where=where, limit=flt.limit + 1, offset=flt.offset)


def division_date(text: str) -> dt.date:
    try:
        return parse_date(text, "indelning")
    except PeriodError:
        raise FilterError("division ska vara 'aktuell' eller indelningens startdatum, "
                          "t.ex. 2023-07-01.", "division") from None
