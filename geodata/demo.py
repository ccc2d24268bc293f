"""Deterministic demo data for Trygghetskartan.

:func:`generate_demo` builds a complete, plausible but entirely invented data set for
Stockholm on top of the real district geography bundled in :mod:`geodata`:

* **sites** — 15 platssamverkan places at real squares and centres (Kista torg,
  Rinkeby torg, Medborgarplatsen …), as polygons 80–250 m across;
* **incidents** — police-reported crimes and events 2024-01-01..2025-12-31. Each
  current stadsdelsområde gets a share proportional to its reported crimes in 2025
  (BRÅ). Inside an area the points are a mixture of Gaussian clusters around squares
  and stations, looser clusters around each stadsdel's centre and a diffuse
  background; night-life streets (Stureplan, Götgatan/Medborgarplatsen) draw
  weekend-night violence. Times follow a season, weekday and hour rhythm per
  category. A few hot spots grow from 2024 to 2025 and two site areas decline after
  their platssamverkan started, so the priority analysis and briefs find something;
* **walks** — about 20 trygghetsvandringar 2024–2025, mostly autumn evenings;
* **findings** — about 300 findings from those walks, near each walk's area.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed gives
byte-identical frames. All ids start with ``demo:`` and every incident's ``source`` is
``demo``, so the app can label the data as demo data. The organisations named are
typical roles (stadsdelsförvaltning, lokalpolisområde, the municipal housing
companies); contacts use the fictitious domain ``exempel.se``; no person is named.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

import geodata
from layers.core.schema import (
    FINDINGS,
    INCIDENT_CATEGORIES,
    INCIDENTS,
    LOCAL_TZ,
    SITE_ACTIVITIES,
    SITES,
    STORE_EPSG,
    WALKS,
)

__all__ = [
    "DEFAULT_SEED",
    "DEMO_SOURCE",
    "END_DATE",
    "HUBS",
    "SITE_SPECS",
    "START_DATE",
    "WALK_SPECS",
    "DemoData",
    "HubSpec",
    "SiteSpec",
    "WalkSpec",
    "generate_demo",
]

DEFAULT_SEED = 20240101
#: The ``source`` of every demo incident.
DEMO_SOURCE = "demo"
#: First and last day of the demo incidents (inclusive).
START_DATE = dt.date(2024, 1, 1)
END_DATE = dt.date(2025, 12, 31)
#: "Today" for the demo: findings of older walks are more often fixed.
_REFERENCE_DATE = dt.date(2026, 1, 1)


# --- places -----------------------------------------------------------------------


@dataclass(frozen=True)
class SiteSpec:
    """A platssamverkan site of the demo data set, at a real square or centre.

    ``stadsdel`` is the code of the stadsdel the site lies in; ``size`` the site's
    approximate extent in metres; ``kind`` the incident profile of the place
    (``centre``, ``suburb`` or ``nightlife``); ``weight`` its share of the area's
    clustered incidents relative to other hubs; ``declines`` whether incidents there
    fall after ``start_date`` (the partnership works).
    """

    name: str
    stadsdel: str
    lat: float
    lon: float
    start_date: dt.date
    status: str
    activities: tuple[str, ...]
    size: float
    kind: str
    weight: float
    at: str
    declines: bool = False


@dataclass(frozen=True)
class HubSpec:
    """A square, station or street where incidents cluster (not a platssamverkan site).

    ``sigma`` is the standard deviation in metres of the cluster's core; ``grows``
    marks an emerging hot spot whose incidents rise from 2024 to 2025.
    """

    name: str
    lat: float
    lon: float
    kind: str
    weight: float
    sigma: float
    at: str
    grows: bool = False


@dataclass(frozen=True)
class WalkSpec:
    """A trygghetsvandring: where and when, and the streets its findings mention."""

    area: str
    place: str
    lat: float
    lon: float
    date: dt.date
    start_time: str
    end_time: str
    streets: tuple[str, ...]


_d = dt.date

SITE_SPECS: tuple[SiteSpec, ...] = (
    SiteSpec("Kista torg", "kista", 59.4030, 17.9440, _d(2022, 3, 1), "aktiv",
             ("platsaktivering", "vaktare", "kameror", "mote"), 200, "suburb", 3.0,
             "på Kista torg"),
    SiteSpec("Husby centrum", "husby", 59.4105, 17.9280, _d(2021, 9, 1), "aktiv",
             ("platsaktivering", "stadning", "belysning", "mote"), 160, "suburb", 2.0,
             "i Husby centrum"),
    SiteSpec("Rinkeby torg", "rinkeby", 59.3880, 17.9280, _d(2024, 4, 1), "aktiv",
             ("platsaktivering", "vaktare", "kameror", "stadning"), 180, "suburb", 3.0,
             "på Rinkeby torg", declines=True),
    SiteSpec("Tensta centrum", "tensta", 59.3945, 17.9010, _d(2022, 9, 1), "aktiv",
             ("platsaktivering", "stadning", "vaktare", "mote"), 220, "suburb", 2.5,
             "i Tensta centrum"),
    SiteSpec("Hjulsta", "tensta", 59.3970, 17.8880, _d(2025, 12, 1), "planerad",
             ("mote",), 120, "suburb", 1.0, "i Hjulsta"),
    SiteSpec("Vällingby centrum", "vallingby", 59.3630, 17.8720, _d(2021, 5, 1), "aktiv",
             ("platsaktivering", "vaktare", "kameror", "stadning", "mote"), 250, "suburb",
             3.0, "i Vällingby centrum"),
    SiteSpec("Farsta centrum", "farsta", 59.2430, 18.0920, _d(2023, 2, 1), "aktiv",
             ("vaktare", "kameror", "stadning", "mote"), 240, "suburb", 3.0,
             "i Farsta centrum"),
    SiteSpec("Hagsätra torg", "hagsatra", 59.2625, 18.0125, _d(2024, 2, 1), "aktiv",
             ("platsaktivering", "belysning", "stadning", "mote"), 150, "suburb", 1.8,
             "på Hagsätra torg", declines=True),
    SiteSpec("Rågsveds torg", "ragsved", 59.2565, 18.0280, _d(2023, 10, 1), "aktiv",
             ("platsaktivering", "stadning", "mote"), 130, "suburb", 1.5,
             "på Rågsveds torg"),
    SiteSpec("Skärholmens centrum", "skarholmen", 59.2770, 17.9070, _d(2022, 1, 15), "aktiv",
             ("vaktare", "kameror", "platsaktivering", "stadning", "mote"), 250, "suburb",
             3.0, "i Skärholmens centrum"),
    SiteSpec("Medborgarplatsen", "sodermalm", 59.3143, 18.0735, _d(2023, 5, 1), "aktiv",
             ("platsaktivering", "vaktare", "belysning", "mote"), 180, "nightlife", 2.5,
             "på Medborgarplatsen"),
    SiteSpec("Sergels torg", "norrmalm", 59.3326, 18.0649, _d(2021, 3, 1), "aktiv",
             ("platsaktivering", "vaktare", "kameror", "stadning", "mote"), 200, "centre",
             3.0, "på Sergels torg"),
    SiteSpec("Fridhemsplan", "kungsholmen", 59.3320, 18.0290, _d(2021, 9, 1), "avslutad",
             ("stadning", "belysning", "mote"), 100, "centre", 2.5, "vid Fridhemsplan"),
    SiteSpec("Bagarmossens centrum", "bagarmossen", 59.2760, 18.1310, _d(2024, 9, 1), "aktiv",
             ("platsaktivering", "stadning", "belysning", "mote"), 140, "suburb", 2.0,
             "i Bagarmossens centrum"),
    SiteSpec("Hässelby torg", "hasselby-gard", 59.3670, 17.8440, _d(2025, 3, 1), "aktiv",
             ("platsaktivering", "stadning", "mote"), 120, "suburb", 1.5,
             "vid Hässelby torg"),
)

#: Other places where incidents cluster: stations, squares and night-life streets.
HUBS: tuple[HubSpec, ...] = (
    HubSpec("T-Centralen", 59.3310, 18.0597, "centre", 3.0, 90, "vid T-Centralen"),
    HubSpec("Hötorget", 59.3355, 18.0632, "centre", 1.5, 70, "vid Hötorget"),
    HubSpec("Stureplan", 59.3355, 18.0740, "nightlife", 2.5, 60, "vid Stureplan"),
    HubSpec("Odenplan", 59.3430, 18.0497, "centre", 1.5, 80, "vid Odenplan"),
    HubSpec("S:t Eriksplan", 59.3395, 18.0370, "centre", 0.8, 80, "vid S:t Eriksplan"),
    HubSpec("Östermalmstorg", 59.3349, 18.0770, "centre", 1.0, 70, "vid Östermalmstorg"),
    HubSpec("Karlaplan", 59.3387, 18.0910, "centre", 0.7, 80, "vid Karlaplan"),
    HubSpec("Slussen", 59.3195, 18.0722, "centre", 2.0, 80, "vid Slussen"),
    HubSpec("Götgatan", 59.3125, 18.0745, "nightlife", 2.0, 70, "på Götgatan"),
    HubSpec("Hornstull", 59.3157, 18.0340, "centre", 1.2, 80, "vid Hornstull", grows=True),
    HubSpec("Gamla stan", 59.3250, 18.0710, "centre", 1.5, 90, "i Gamla stan"),
    HubSpec("Rådhuset", 59.3300, 18.0423, "centre", 1.0, 90, "vid Rådhuset"),
    HubSpec("Alvik", 59.3337, 17.9800, "suburb", 1.5, 80, "vid Alviks tunnelbanestation"),
    HubSpec("Brommaplan", 59.3384, 17.9393, "suburb", 1.5, 80, "vid Brommaplan"),
    HubSpec("Akalla centrum", 59.4148, 17.9128, "suburb", 1.5, 80, "i Akalla centrum",
            grows=True),
    HubSpec("Hässelby strand", 59.3612, 17.8326, "suburb", 1.0, 80, "i Hässelby strand"),
    HubSpec("Liljeholmen", 59.3105, 18.0230, "suburb", 2.5, 90, "vid Liljeholmstorget"),
    HubSpec("Fruängen", 59.2856, 17.9650, "suburb", 1.0, 80, "i Fruängens centrum"),
    HubSpec("Älvsjö", 59.2786, 18.0107, "suburb", 1.0, 80, "vid Älvsjö station"),
    HubSpec("Gullmarsplan", 59.2990, 18.0810, "suburb", 2.0, 80, "vid Gullmarsplan",
            grows=True),
    HubSpec("Globen", 59.2937, 18.0830, "centre", 1.0, 100, "vid Globen"),
    HubSpec("Högdalen centrum", 59.2637, 18.0430, "suburb", 1.2, 80, "i Högdalens centrum"),
    HubSpec("Hökarängen centrum", 59.2578, 18.0826, "suburb", 1.0, 70,
            "i Hökarängens centrum", grows=True),
    HubSpec("Farsta strand", 59.2350, 18.1015, "suburb", 0.8, 80, "vid Farsta strand"),
    HubSpec("Bredäng centrum", 59.2949, 17.9338, "suburb", 1.5, 80, "i Bredängs centrum"),
    HubSpec("Vårberg centrum", 59.2759, 17.8902, "suburb", 1.0, 80, "i Vårbergs centrum"),
    HubSpec("Skarpnäck centrum", 59.2668, 18.1333, "suburb", 1.0, 80, "i Skarpnäcks centrum"),
)

WALK_SPECS: tuple[WalkSpec, ...] = (
    WalkSpec("Tensta centrum och gångvägarna mot Hjulsta", "Tensta centrum", 59.3950, 17.8960,
             _d(2024, 10, 8), "18:00", "20:00",
             ("Tensta allé", "Tenstavägen")),
    WalkSpec("Rinkeby torg och Rinkebystråket", "Rinkeby torg", 59.3885, 17.9270,
             _d(2024, 10, 15), "18:30", "20:30", ("Rinkebystråket", "Rinkeby allé")),
    WalkSpec("Husby centrum och Edvard Griegsgången", "Husby centrum", 59.4100, 17.9265,
             _d(2024, 11, 5), "18:00", "20:00",
             ("Edvard Griegsgången", "Trondheimsgatan", "Bergengatan")),
    WalkSpec("Kista centrum och Kistagången", "Kista torg", 59.4030, 17.9430,
             _d(2025, 3, 18), "18:00", "20:00", ("Kistagången", "Knarrarnäsgatan")),
    WalkSpec("Akalla centrum och Sibeliusgången", "Akalla centrum", 59.4145, 17.9125,
             _d(2025, 10, 7), "18:00", "20:00", ("Sibeliusgången", "Akallalänken")),
    WalkSpec("Vällingby centrum och gångstråken runt Vällingbyplan", "Vällingby centrum",
             59.3630, 17.8720, _d(2024, 9, 24), "18:00", "20:00",
             ("Vällingbyplan", "Kirunagatan", "Ångermannagatan")),
    WalkSpec("Hässelby gård och Hässelby torg", "Hässelby torg", 59.3670, 17.8440,
             _d(2025, 10, 21), "18:30", "20:30", ("Maltesholmsvägen",)),
    WalkSpec("Farsta centrum och Farstagången", "Farsta centrum", 59.2432, 18.0925,
             _d(2024, 10, 22), "18:00", "20:00", ("Farstagången", "Larsbodavägen")),
    WalkSpec("Hökarängen centrum och Hökarängsplan", "Hökarängsplan", 59.2578, 18.0826,
             _d(2025, 11, 4), "18:00", "20:00", ("Pepparvägen", "Hökarängsplan")),
    WalkSpec("Hagsätra torg och gångvägarna mot Rågsved", "Hagsätra torg", 59.2625, 18.0150,
             _d(2024, 11, 12), "18:00", "20:00", ("Skebokvarnsvägen",)),
    WalkSpec("Rågsveds torg och Eksätravägen", "Rågsveds torg", 59.2565, 18.0280,
             _d(2025, 9, 30), "18:30", "20:30", ("Eksätravägen",)),
    WalkSpec("Högdalens centrum och Högdalstorget", "Högdalstorget", 59.2637, 18.0430,
             _d(2025, 4, 8), "19:00", "21:00", ("Högdalstorget", "Skebokvarnsvägen")),
    WalkSpec("Skärholmens centrum och Skärholmstorget", "Skärholmstorget", 59.2770, 17.9070,
             _d(2024, 10, 1), "18:00", "20:00", ("Skärholmstorget", "Ekholmsvägen")),
    WalkSpec("Bredängs centrum och Stora Sällskapets väg", "Bredängs centrum", 59.2950,
             17.9339, _d(2025, 10, 14), "18:00", "20:00",
             ("Stora Sällskapets väg", "Bredängsvägen")),
    WalkSpec("Medborgarplatsen och Björns trädgård", "Medborgarplatsen", 59.3140, 18.0730,
             _d(2024, 11, 19), "19:00", "21:00", ("Götgatan", "Tjärhovsgatan", "Skånegatan")),
    WalkSpec("Sergels torg och Plattan", "Sergels torg", 59.3326, 18.0649,
             _d(2025, 2, 11), "18:00", "20:00",
             ("Drottninggatan", "Klarabergsgatan", "Sergelgatan")),
    WalkSpec("Fridhemsplan och S:t Eriksgatan", "Fridhemsplan", 59.3320, 18.0290,
             _d(2024, 4, 16), "19:00", "21:00",
             ("S:t Eriksgatan", "Fleminggatan", "Drottningholmsvägen")),
    WalkSpec("Bagarmossens centrum och Lagaplan", "Lagaplan", 59.2760, 18.1310,
             _d(2025, 10, 28), "18:00", "20:00", ("Byälvsvägen", "Lagavägen", "Lagaplan")),
    WalkSpec("Liljeholmstorget och gångvägen mot Gröndal", "Liljeholmstorget", 59.3105,
             18.0230, _d(2025, 5, 13), "19:00", "21:00",
             ("Södertäljevägen", "Liljeholmsvägen")),
    WalkSpec("Brommaplan och gångtunnlarna runt rondellen", "Brommaplan", 59.3384, 17.9393,
             _d(2024, 9, 17), "18:00", "20:00", ("Bergslagsvägen", "Drottningholmsvägen")),
    WalkSpec("Gullmarsplan och Sandfjärdsgatan", "Gullmarsplan", 59.2990, 18.0810,
             _d(2025, 11, 18), "18:00", "20:00", ("Sandfjärdsgatan", "Nynäsvägen")),
)

#: Stadsdelsförvaltning of each current area (code -> name).
_SDF: dict[str, str] = {
    "bromma": "Bromma stadsdelsförvaltning",
    "enskede-arsta-vantor": "Enskede-Årsta-Vantörs stadsdelsförvaltning",
    "farsta": "Farsta stadsdelsförvaltning",
    "hagersten-alvsjo": "Hägersten-Älvsjö stadsdelsförvaltning",
    "hasselby-vallingby": "Hässelby-Vällingby stadsdelsförvaltning",
    "jarva": "Järva stadsdelsförvaltning",
    "kungsholmen": "Kungsholmens stadsdelsförvaltning",
    "norra-innerstaden": "Norra innerstadens stadsdelsförvaltning",
    "skarholmen": "Skärholmens stadsdelsförvaltning",
    "skarpnack": "Skarpnäcks stadsdelsförvaltning",
    "sodermalm": "Södermalms stadsdelsförvaltning",
}
_LPO: dict[str, str] = {
    "bromma": "Västerort", "enskede-arsta-vantor": "Farsta", "farsta": "Farsta",
    "hagersten-alvsjo": "Skärholmen", "hasselby-vallingby": "Västerort", "jarva": "Rinkeby",
    "kungsholmen": "City", "norra-innerstaden": "City", "skarholmen": "Skärholmen",
    "skarpnack": "Farsta", "sodermalm": "Södermalm",
}
_HOUSING: dict[str, str] = {
    "bromma": "Svenska Bostäder", "enskede-arsta-vantor": "Familjebostäder",
    "farsta": "Stockholmshem", "hagersten-alvsjo": "Stockholmshem",
    "hasselby-vallingby": "Svenska Bostäder", "jarva": "Svenska Bostäder",
    "kungsholmen": "Familjebostäder", "norra-innerstaden": "Svenska Bostäder",
    "skarholmen": "Svenska Bostäder", "skarpnack": "Stockholmshem",
    "sodermalm": "Stockholmshem",
}

# --- incident taxonomy: shares, place profiles and time rhythms ---------------------

_CATEGORY_CODES: tuple[str, ...] = tuple(c.code for c in INCIDENT_CATEGORIES)
_VIOLENCE_CODES = frozenset(c.code for c in INCIDENT_CATEGORIES if c.group == "vald")

#: City-wide category shares (normalised before use).
_BASE_SHARE: dict[str, float] = {
    "ran": 0.02, "misshandel": 0.075, "hot": 0.05, "ofredande": 0.04, "sexualbrott": 0.012,
    "vald_nara_relation": 0.015, "skottlossning": 0.002, "dodligt_vald": 0.0004,
    "skadegorelse": 0.10, "klotter": 0.08, "stold": 0.25, "inbrott": 0.08,
    "tillgrepp_motorfordon": 0.03, "narkotikabrott": 0.045, "vald_hot_tjansteman": 0.01,
    "overgrepp_rattssak": 0.004, "brand": 0.025, "trafikolycka": 0.03, "fallolycka": 0.02,
    "ovrigt": 0.045,
}
#: Kinds of place an incident cluster can be, in component-table order.
_KINDS: tuple[str, ...] = ("centre", "suburb", "nightlife", "local", "background")
#: Category multipliers per kind of place (missing = 1).
_KIND_FACTOR: dict[str, dict[str, float]] = {
    "centre": {"stold": 1.4, "ran": 1.5, "narkotikabrott": 1.6, "vald_hot_tjansteman": 1.6,
               "ofredande": 1.3, "hot": 1.2, "inbrott": 0.3, "vald_nara_relation": 0.2,
               "tillgrepp_motorfordon": 0.5, "fallolycka": 1.2, "trafikolycka": 1.2},
    "suburb": {"stold": 1.1, "ran": 1.6, "narkotikabrott": 1.8, "vald_hot_tjansteman": 1.5,
               "overgrepp_rattssak": 2.5, "skottlossning": 3.0, "skadegorelse": 1.3,
               "brand": 1.4, "inbrott": 0.4, "vald_nara_relation": 0.4},
    "nightlife": {"misshandel": 2.8, "hot": 1.6, "ofredande": 1.8, "sexualbrott": 1.8,
                  "stold": 1.3, "narkotikabrott": 1.6, "ran": 1.3, "inbrott": 0.2,
                  "vald_nara_relation": 0.1, "tillgrepp_motorfordon": 0.3, "klotter": 0.7},
    "local": {},
    "background": {"inbrott": 2.0, "vald_nara_relation": 2.2, "tillgrepp_motorfordon": 1.8,
                   "skadegorelse": 1.1, "ran": 0.4, "narkotikabrott": 0.5, "stold": 0.8,
                   "ofredande": 0.7, "vald_hot_tjansteman": 0.5, "trafikolycka": 1.2},
}

#: Time profile of each category.
_CATEGORY_PROFILE: dict[str, str] = {
    "ran": "violence", "misshandel": "violence", "hot": "violence", "ofredande": "violence",
    "sexualbrott": "violence", "skottlossning": "violence", "dodligt_vald": "violence",
    "vald_nara_relation": "home", "skadegorelse": "night_property", "klotter": "night_property",
    "tillgrepp_motorfordon": "night_property", "stold": "theft", "inbrott": "burglary",
    "narkotikabrott": "drugs", "vald_hot_tjansteman": "general",
    "overgrepp_rattssak": "general", "brand": "fire", "trafikolycka": "traffic",
    "fallolycka": "fall", "ovrigt": "general",
}


@dataclass(frozen=True)
class _Rhythm:
    """Relative weights by month (12), weekday (7, Monday first) and hour (24).

    ``weekend_night`` multiplies Friday and Saturday 21–23 and Saturday and Sunday
    00–04; ``dark_evening`` multiplies 16–20 by ``1 + dark_evening * darkness(month)``.
    ``special`` lists days ("MM-DD" or "YYYY-MM-DD") with a multiplier.
    """

    month: tuple[float, ...]
    weekday: tuple[float, ...]
    hour: tuple[float, ...]
    weekend_night: float = 1.0
    dark_evening: float = 0.0
    special: tuple[tuple[str, float], ...] = ()


_MIDSUMMER = (("2024-06-21", 1.6), ("2025-06-20", 1.6))
_FLAT7 = (1.0,) * 7

_RHYTHMS: dict[str, _Rhythm] = {
    "violence": _Rhythm(
        (0.8, 0.8, 0.9, 0.95, 1.1, 1.2, 1.25, 1.2, 1.05, 1.0, 0.9, 0.95),
        (0.85, 0.85, 0.9, 0.95, 1.1, 1.25, 1.1),
        (1.6, 1.4, 1.2, 0.9, 0.6, 0.35, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6,
         0.7, 0.75, 0.85, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4, 1.55, 1.65),
        weekend_night=2.0,
        special=(("12-31", 1.8), ("01-01", 1.8), ("04-30", 1.6), *_MIDSUMMER),
    ),
    "violence_night": _Rhythm(
        (0.8, 0.8, 0.9, 0.95, 1.1, 1.15, 1.2, 1.15, 1.05, 1.0, 1.0, 1.1),
        (0.6, 0.6, 0.7, 0.9, 1.2, 1.5, 1.0),
        (2.4, 2.6, 2.5, 2.0, 1.2, 0.5, 0.2, 0.15, 0.15, 0.2, 0.25, 0.3,
         0.4, 0.45, 0.5, 0.6, 0.65, 0.75, 0.85, 1.0, 1.2, 1.5, 1.9, 2.2),
        weekend_night=3.5,
        special=(("12-31", 2.0), ("01-01", 2.0), ("04-30", 1.6), *_MIDSUMMER),
    ),
    "theft": _Rhythm(
        (0.85, 0.85, 0.95, 1.05, 1.15, 1.15, 1.1, 1.1, 1.05, 1.0, 0.95, 0.9),
        (1.0, 1.0, 1.0, 1.0, 1.1, 1.1, 0.9),
        (0.3, 0.25, 0.2, 0.15, 0.1, 0.1, 0.2, 0.4, 0.7, 0.9, 1.1, 1.3,
         1.4, 1.45, 1.5, 1.55, 1.6, 1.55, 1.4, 1.2, 1.0, 0.8, 0.6, 0.45),
    ),
    "night_property": _Rhythm(
        (0.9, 0.85, 0.95, 1.0, 1.1, 1.1, 1.05, 1.05, 1.0, 1.0, 0.95, 1.0),
        (0.9, 0.9, 0.95, 1.0, 1.15, 1.2, 1.0),
        (1.3, 1.4, 1.3, 1.1, 0.8, 0.5, 0.4, 0.5, 0.6, 0.6, 0.6, 0.6,
         0.6, 0.65, 0.7, 0.8, 0.9, 1.0, 1.05, 1.1, 1.2, 1.3, 1.35, 1.35),
        weekend_night=1.3,
        special=(("12-31", 2.5), ("01-01", 2.0), ("10-31", 1.5)),
    ),
    "burglary": _Rhythm(
        (1.1, 1.0, 0.9, 0.8, 0.75, 0.75, 0.95, 0.85, 1.0, 1.2, 1.3, 1.35),
        (1.05, 1.05, 1.05, 1.05, 1.05, 0.9, 0.85),
        (0.3, 0.3, 0.25, 0.2, 0.15, 0.15, 0.3, 0.5, 0.8, 1.1, 1.3, 1.4,
         1.4, 1.3, 1.2, 1.1, 1.1, 1.1, 1.1, 1.0, 0.8, 0.6, 0.45, 0.35),
        dark_evening=1.2,
    ),
    "home": _Rhythm(
        (0.95, 0.9, 0.95, 0.95, 1.0, 1.05, 1.15, 1.05, 0.95, 0.95, 0.95, 1.2),
        (0.9, 0.85, 0.85, 0.9, 1.05, 1.3, 1.25),
        (1.3, 1.2, 1.0, 0.7, 0.4, 0.3, 0.3, 0.4, 0.5, 0.6, 0.6, 0.7,
         0.8, 0.8, 0.9, 1.0, 1.1, 1.3, 1.5, 1.6, 1.7, 1.7, 1.6, 1.5),
        special=(("12-24", 1.6), ("12-25", 1.3), ("12-31", 1.5), *_MIDSUMMER),
    ),
    "drugs": _Rhythm(
        (0.9, 0.95, 1.0, 1.05, 1.1, 1.1, 1.0, 1.05, 1.05, 1.0, 0.95, 0.85),
        (1.05, 1.1, 1.1, 1.1, 1.0, 0.9, 0.75),
        (0.6, 0.5, 0.35, 0.25, 0.15, 0.1, 0.1, 0.2, 0.35, 0.5, 0.7, 0.85,
         1.0, 1.1, 1.3, 1.5, 1.6, 1.6, 1.6, 1.6, 1.5, 1.3, 1.1, 0.9),
    ),
    "fire": _Rhythm(
        (0.9, 0.8, 0.9, 1.1, 1.2, 1.1, 1.0, 1.0, 0.9, 0.9, 0.9, 1.1),
        (1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 1.0),
        (1.0, 0.9, 0.7, 0.5, 0.4, 0.3, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,
         0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.6, 1.5, 1.3),
        special=(("12-31", 6.0), ("01-01", 3.0), ("04-30", 2.0)),
    ),
    "traffic": _Rhythm(
        (1.15, 1.05, 0.95, 0.9, 1.0, 1.0, 0.85, 0.95, 1.05, 1.05, 1.05, 1.1),
        (1.1, 1.1, 1.1, 1.1, 1.1, 0.8, 0.7),
        (0.2, 0.15, 0.1, 0.1, 0.15, 0.4, 1.0, 1.8, 1.7, 1.0, 0.9, 1.0,
         1.1, 1.1, 1.2, 1.6, 1.9, 1.8, 1.3, 0.9, 0.7, 0.5, 0.4, 0.3),
    ),
    "fall": _Rhythm(
        (1.9, 1.6, 1.1, 0.8, 0.7, 0.6, 0.6, 0.6, 0.7, 0.8, 1.1, 1.5),
        _FLAT7,
        (0.3, 0.3, 0.2, 0.2, 0.2, 0.3, 0.6, 1.1, 1.3, 1.3, 1.4, 1.4,
         1.4, 1.4, 1.4, 1.4, 1.4, 1.3, 1.1, 0.9, 0.7, 0.6, 0.5, 0.4),
    ),
    "general": _Rhythm(
        (0.9, 0.9, 0.95, 1.0, 1.05, 1.1, 1.1, 1.05, 1.0, 1.0, 0.95, 0.95),
        _FLAT7,
        (0.7, 0.6, 0.5, 0.4, 0.3, 0.3, 0.4, 0.6, 0.8, 1.0, 1.1, 1.2,
         1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.1, 1.0, 0.9, 0.8),
    ),
}
_PROFILES: tuple[str, ...] = tuple(_RHYTHMS)
#: How dark the evenings are per month (0 = light until late, 1 = dark by 16).
_DARKNESS = (1.0, 0.8, 0.5, 0.2, 0.0, 0.0, 0.0, 0.1, 0.4, 0.7, 0.9, 1.0)

#: Victim gender for violence categories: P(man), P(kvinna); the rest is unknown.
_GENDER_P: dict[str, tuple[float, float]] = {
    "sexualbrott": (0.08, 0.87),
    "vald_nara_relation": (0.22, 0.73),
}
_GENDER_P_DEFAULT = (0.59, 0.36)

#: Description templates per category; ``{at}`` is a place phrase ("vid Slussen").
_INCIDENT_TEXTS: dict[str, tuple[str, ...]] = {
    "ran": ("Personrån {at}", "Rån mot ungdom {at}, mobiltelefon tillgripen",
            "Butiksrån {at}", "Försök till personrån {at}"),
    "misshandel": ("Misshandel utomhus {at}", "Bråk mellan flera personer {at}, en person skadad",
                   "Misshandel i anslutning till restaurang {at}", "Person slagen {at}"),
    "hot": ("Olaga hot {at}", "Person hotad med kniv {at}", "Hot mot butikspersonal {at}"),
    "ofredande": ("Ofredande {at}", "Person ofredad vid busshållplats {at}",
                  "Ofredande i tunnelbanan {at}"),
    "sexualbrott": ("Sexuellt ofredande {at}", "Anmält sexualbrott {at}"),
    "vald_nara_relation": ("Misshandel i bostad {at}, våld i nära relation",
                           "Anmälan om våld i nära relation {at}"),
    "skottlossning": ("Skottlossning {at}, ingen person skadad", "Detonation vid port {at}",
                      "Misstänkt skottlossning {at}"),
    "dodligt_vald": ("Person avliden efter våldsbrott {at}",),
    "skadegorelse": ("Skadegörelse på busskur {at}", "Krossad ruta {at}",
                     "Skadegörelse på bil {at}", "Sönderslagen belysningsarmatur {at}"),
    "klotter": ("Klotter på fasad {at}", "Klotter i tunnelbanan {at}", "Klotter på elskåp {at}",
                "Klotter på skola {at}"),
    "stold": ("Cykelstöld {at}", "Stöld ur bil {at}", "Fickstöld {at}", "Butiksstöld {at}",
              "Stöld av mobiltelefon {at}", "Stöld av elsparkcykel {at}"),
    "inbrott": ("Inbrott i lägenhet {at}", "Inbrott i källarförråd {at}",
                "Inbrott i butik {at}", "Inbrott i cykelrum {at}"),
    "tillgrepp_motorfordon": ("Bil stulen från parkering {at}", "Moped stulen {at}",
                              "Tillgrepp av motorcykel {at}"),
    "narkotikabrott": ("Narkotikabrott, innehav {at}", "Misstänkt narkotikaförsäljning {at}",
                       "Eget bruk av narkotika {at}"),
    "vald_hot_tjansteman": ("Hot mot väktare {at}", "Våld mot polis vid ingripande {at}",
                            "Hot mot personal på fritidsgård {at}",
                            "Hot mot busschaufför {at}"),
    "overgrepp_rattssak": ("Vittne hotat efter händelse {at}", "Övergrepp i rättssak {at}"),
    "brand": ("Brand i papperskorg {at}", "Bilbrand {at}", "Brand i container {at}",
              "Brand i trapphus {at}"),
    "trafikolycka": ("Trafikolycka mellan personbil och cyklist {at}",
                     "Singelolycka med elsparkcykel {at}", "Fotgängare påkörd {at}"),
    "fallolycka": ("Fallolycka på isig gångväg {at}", "Person föll i trappa {at}"),
    "ovrigt": ("Ordningsstörning {at}", "Störande ungdomsgrupp {at}",
               "Berusad person omhändertagen {at}"),
}

# --- findings ---------------------------------------------------------------------

_FINDING_SHARE: dict[str, float] = {
    "belysning": 0.28, "vegetation": 0.20, "klotter": 0.10, "nedskrapning": 0.10,
    "skymd_sikt": 0.07, "trasig_utrustning": 0.08, "otrygg_passage": 0.09,
    "overgiven_byggnad": 0.03, "ovrigt": 0.05,
}
#: P(severity 1), P(2), P(3) per finding category.
_SEVERITY_P: dict[str, tuple[float, float, float]] = {
    "belysning": (0.2, 0.5, 0.3), "vegetation": (0.35, 0.45, 0.2),
    "klotter": (0.5, 0.4, 0.1), "nedskrapning": (0.5, 0.4, 0.1),
    "skymd_sikt": (0.25, 0.5, 0.25), "trasig_utrustning": (0.4, 0.45, 0.15),
    "otrygg_passage": (0.1, 0.4, 0.5), "overgiven_byggnad": (0.2, 0.4, 0.4),
    "ovrigt": (0.4, 0.4, 0.2),
}
#: Who usually fixes each finding category (owner code -> probability).
_OWNER_P: dict[str, dict[str, float]] = {
    "belysning": {"trafikkontoret": 0.7, "bostadsbolag": 0.15, "fastighetsagare": 0.1,
                  "stadsdelsforvaltningen": 0.05},
    "vegetation": {"trafikkontoret": 0.45, "stadsdelsforvaltningen": 0.25,
                   "bostadsbolag": 0.2, "fastighetsagare": 0.1},
    "klotter": {"fastighetsagare": 0.4, "bostadsbolag": 0.35, "trafikkontoret": 0.2,
                "ovrig": 0.05},
    "nedskrapning": {"trafikkontoret": 0.35, "stadsdelsforvaltningen": 0.25,
                     "fastighetsagare": 0.2, "bostadsbolag": 0.2},
    "skymd_sikt": {"trafikkontoret": 0.6, "fastighetsagare": 0.2, "bostadsbolag": 0.2},
    "trasig_utrustning": {"trafikkontoret": 0.4, "bostadsbolag": 0.25,
                          "stadsdelsforvaltningen": 0.2, "fastighetsagare": 0.15},
    "otrygg_passage": {"trafikkontoret": 0.6, "ovrig": 0.15, "bostadsbolag": 0.15,
                       "polisen": 0.1},
    "overgiven_byggnad": {"fastighetsagare": 0.7, "ovrig": 0.2, "stadsdelsforvaltningen": 0.1},
    "ovrigt": {"stadsdelsforvaltningen": 0.4, "polisen": 0.3, "ovrig": 0.3},
}
#: Description templates per finding category: ``{street}`` and ``{place}``.
_FINDING_TEXTS: dict[str, tuple[str, ...]] = {
    "belysning": ("Trasig belysning i gångtunnel vid {street}",
                  "Flera armaturer släckta längs {street}",
                  "Mörk gångväg mellan {place} och {street}",
                  "Belysningen vid busshållplatsen på {street} fungerar inte",
                  "Mörk entré till parkeringsgaraget vid {place}"),
    "vegetation": ("Tätt buskage skymmer gångvägen vid {place}",
                   "Igenvuxen häck längs {street} skapar gömställen",
                   "Träd skymmer gatubelysningen på {street}",
                   "Sly behöver röjas vid lekplatsen nära {place}"),
    "klotter": ("Klotter på fasaden vid {place}", "Klotter i gångtunneln vid {street}",
                "Klotter på elskåp längs {street}", "Omfattande klotter på busskuren vid {place}"),
    "nedskrapning": ("Mycket skräp och fimpar vid {place}",
                     "Överfulla papperskorgar längs {street}",
                     "Dumpat grovavfall bakom {place}",
                     "Glassplitter på gångvägen vid {street}"),
    "skymd_sikt": ("Skymd sikt där gångvägen möter {street}",
                   "Plank skymmer sikten vid {place}",
                   "Skarp kurva utan insyn på gångvägen vid {place}"),
    "trasig_utrustning": ("Trasig parkbänk vid {place}", "Sönderslagen busskur på {street}",
                          "Trasig lekutrustning nära {place}", "Trasigt staket längs {street}"),
    "otrygg_passage": ("Lång gångtunnel utan insyn vid {street}",
                       "Smal passage utan alternativ väg vid {place}",
                       "Trappa utan belysning och insyn ner mot {street}"),
    "overgiven_byggnad": ("Tom lokal med krossade rutor vid {place}",
                          "Övergiven kiosk vid {street} används som tillhåll",
                          "Igenbommat förråd nära {place} med uppbrutna dörrar"),
    "ovrigt": ("Många upplever otrygghet vid {place} på kvällstid",
               "Mopedåkning på gångvägen längs {street}",
               "Saknas skyltning och orienterbarhet vid {place}"),
}


# --- the result ---------------------------------------------------------------------


@dataclass
class DemoData:
    """The demo layers: GeoDataFrames in EPSG:3011 and the walks table."""

    incidents: gpd.GeoDataFrame
    findings: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    walks: pd.DataFrame


def generate_demo(seed: int = DEFAULT_SEED, n_incidents: int = 60_000) -> DemoData:
    """Generate the demo data set; the same ``seed`` always gives identical frames.

    ``n_incidents`` is the number of incidents (exactly). Sites, walks and findings
    do not depend on it. Columns are the non-derived fields of the layer schemas in
    :mod:`layers.core.schema` (plus ``geometry``); times are aware, Europe/Stockholm.
    """
    if n_incidents < 0:
        raise ValueError("n_incidents must be zero or more")
    geo = _Geography.load()
    site_rng, incident_rng, walk_rng, finding_rng = np.random.default_rng(seed).spawn(4)
    sites = _make_sites(site_rng, geo)
    incidents = _make_incidents(incident_rng, geo, n_incidents)
    walks = _make_walks(walk_rng, geo)
    findings = _make_findings(finding_rng, geo, walks)
    return DemoData(incidents=incidents, findings=findings, sites=sites, walks=walks)


# --- geography ------------------------------------------------------------------------

_TO_STORE = Transformer.from_crs(4326, STORE_EPSG, always_xy=True)


def _project(lat: float, lon: float) -> tuple[float, float]:
    x, y = _TO_STORE.transform(lon, lat)
    return float(x), float(y)


@dataclass
class _Geography:
    """Stadsdelar and areas as sampling targets.

    Targets ``0..A-1`` are the current areas, ``A..A+S-1`` the stadsdelar. A point is
    inside a target when it is inside both its land polygon and its full polygon.
    """

    codes: list[str]
    names: list[str]
    sd_area: np.ndarray
    area_codes: list[str]
    land: list[BaseGeometry]
    full: list[BaseGeometry]
    bounds: np.ndarray
    sd_land_area: np.ndarray
    sd_point: np.ndarray

    @classmethod
    def load(cls) -> _Geography:
        land = geodata.stadsdelar(crs=STORE_EPSG, land=True)
        full = geodata.stadsdelar(crs=STORE_EPSG).set_index("code").loc[land["code"]]
        area_codes = sorted(set(land["sdo_2023"]))
        sd_area = np.array([area_codes.index(a) for a in land["sdo_2023"]])
        land_geoms = list(land.geometry.values)
        full_geoms = list(full.geometry.values)
        area_land = [shapely.union_all(np.array(land_geoms)[sd_area == i])
                     for i in range(len(area_codes))]
        area_full = [shapely.union_all(np.array(full_geoms)[sd_area == i])
                     for i in range(len(area_codes))]
        targets_land = area_land + land_geoms
        targets_full = area_full + full_geoms
        for g in targets_land + targets_full:
            shapely.prepare(g)
        reps = shapely.point_on_surface(np.array(land_geoms))
        return cls(
            codes=list(land["code"]),
            names=list(land["name"]),
            sd_area=sd_area,
            area_codes=area_codes,
            land=targets_land,
            full=targets_full,
            bounds=shapely.bounds(np.array(targets_land)),
            sd_land_area=shapely.area(np.array(land_geoms)),
            sd_point=np.column_stack([shapely.get_x(reps), shapely.get_y(reps)]),
        )

    @property
    def n_areas(self) -> int:
        return len(self.area_codes)

    def stadsdel_index(self, code: str) -> int:
        return self.codes.index(code)

    def locate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the stadsdel (land polygon) holding each point, -1 if none."""
        out = np.full(len(x), -1)
        for s in range(len(self.codes)):
            target = self.land[self.n_areas + s]
            missing = np.flatnonzero(out < 0)
            if not len(missing):
                break
            inside = shapely.contains_xy(target, x[missing], y[missing])
            out[missing[inside]] = s
        # A point exactly on the edge between two stadsdelar goes to the first.
        for s in range(len(self.codes)):
            missing = np.flatnonzero(out < 0)
            if not len(missing):
                break
            touches = shapely.intersects_xy(self.land[self.n_areas + s], x[missing], y[missing])
            out[missing[touches]] = s
        return out

    def sample(self, rng: np.random.Generator, cx: np.ndarray, cy: np.ndarray,
               sigma: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Draw one point per row inside its target, rounded to whole metres.

        A row with ``sigma > 0`` is Gaussian around (cx, cy); with ``sigma <= 0``
        uniform in the target. Points outside the target are drawn again.
        """
        n = len(cx)
        x = np.empty(n)
        y = np.empty(n)
        pending = np.arange(n)
        for _ in range(500):
            if not len(pending):
                return x, y
            t = target[pending]
            s = sigma[pending]
            k = len(pending)
            gx = cx[pending] + s * rng.standard_normal(k)
            gy = cy[pending] + s * rng.standard_normal(k)
            b = self.bounds[t]
            ux = b[:, 0] + (b[:, 2] - b[:, 0]) * rng.random(k)
            uy = b[:, 1] + (b[:, 3] - b[:, 1]) * rng.random(k)
            px = np.round(np.where(s > 0, gx, ux))
            py = np.round(np.where(s > 0, gy, uy))
            ok = np.zeros(k, dtype=bool)
            for tid in np.unique(t):
                m = t == tid
                ok[m] = (shapely.contains_xy(self.land[tid], px[m], py[m])
                         & shapely.contains_xy(self.full[tid], px[m], py[m]))
            x[pending[ok]] = px[ok]
            y[pending[ok]] = py[ok]
            pending = pending[~ok]
        raise RuntimeError("could not place demo points inside their districts")


# --- sites ----------------------------------------------------------------------------


def _site_polygon(rng: np.random.Generator, x: float, y: float, size: float,
                  within: BaseGeometry) -> MultiPolygon:
    """An irregular polygon about ``size`` metres across around (x, y), inside ``within``."""
    n = 14
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    ratio = rng.uniform(0.55, 1.0)
    turn = rng.uniform(0, np.pi)
    a, b = size / 2, size / 2 * ratio
    radius = (a * b) / np.sqrt((b * np.cos(angles)) ** 2 + (a * np.sin(angles)) ** 2)
    radius *= rng.uniform(0.85, 1.1, n)
    px = radius * np.cos(angles + turn)
    py = radius * np.sin(angles + turn)
    poly = Polygon(np.column_stack([np.round(x + px, 1), np.round(y + py, 1)]))
    clipped = shapely.intersection(shapely.make_valid(poly), within)
    parts = [g for g in getattr(clipped, "geoms", [clipped])
             if isinstance(g, Polygon) and g.area > 1]
    return MultiPolygon(parts)


def _make_sites(rng: np.random.Generator, geo: _Geography) -> gpd.GeoDataFrame:
    rows = []
    geoms = []
    for i, spec in enumerate(SITE_SPECS, start=1):
        s = geo.stadsdel_index(spec.stadsdel)
        x, y = _project(spec.lat, spec.lon)
        if not shapely.contains_xy(geo.land[geo.n_areas + s], x, y):
            raise ValueError(f"demo site {spec.name} is not in stadsdel {spec.stadsdel}")
        area = geo.area_codes[geo.sd_area[s]]
        inner = shapely.intersection(geo.land[geo.n_areas + s], geo.full[geo.n_areas + s])
        geoms.append(_site_polygon(rng, x, y, spec.size, inner.buffer(-2)))
        partners = ["fastighetsägare", "näringsidkare", f"lokalpolisområde {_LPO[area]}",
                    _HOUSING[area] if spec.kind == "suburb" else "SL", _SDF[area]]
        rows.append({
            "id": f"demo:site-{i:02d}",
            "name": spec.name,
            "partners": ", ".join(partners),
            "start_date": spec.start_date,
            "status": spec.status,
            "contact": f"platssamverkan.{geodata.slugify(spec.name)}@exempel.se",
            "activities": ", ".join(SITE_ACTIVITIES[a] for a in spec.activities),
        })
    frame = pd.DataFrame(rows, columns=[f.name for f in SITES.input_fields])
    frame["start_date"] = frame["start_date"].astype(object)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=STORE_EPSG)


# --- incidents ------------------------------------------------------------------------


@dataclass
class _Components:
    """The mixture components incidents are drawn from, one row per component."""

    area: np.ndarray
    kind: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    sigma: np.ndarray
    target: np.ndarray
    stadsdel: np.ndarray
    weight: np.ndarray
    trend: np.ndarray
    at: list[str]
    trends: list[str]


#: Within an area: share of incidents at hubs, around stadsdel centres, diffuse.
_HUB_SHARE, _LOCAL_SHARE, _BACKGROUND_SHARE = 0.5, 0.3, 0.2
#: Local centres: standard deviation in metres.
_LOCAL_SIGMA = 250.0


def _components(geo: _Geography) -> _Components:
    """Build the mixture: two Gaussian components per hub and site, one local centre
    and one uniform background per stadsdel."""
    rows: list[tuple] = []
    trends = ["flat"]

    hubs: list[tuple[str, float, float, str, float, float, str, str]] = []
    for spec in SITE_SPECS:
        trend = f"decline:{spec.start_date.isoformat()}" if spec.declines else "flat"
        hubs.append((spec.name, spec.lat, spec.lon, spec.kind, spec.weight,
                     min(100.0, max(60.0, spec.size / 2.5)), spec.at, trend))
    for hub in HUBS:
        hubs.append((hub.name, hub.lat, hub.lon, hub.kind, hub.weight, hub.sigma, hub.at,
                     "grow" if hub.grows else "flat"))

    hub_weight_sum = np.zeros(geo.n_areas)
    located = []
    for name, lat, lon, kind, weight, sigma, at, trend in hubs:
        x, y = _project(lat, lon)
        s = geo.locate(np.array([x]), np.array([y]))[0]
        if s < 0:
            raise ValueError(f"demo hub {name} lies outside the city's stadsdelar")
        a = int(geo.sd_area[s])
        hub_weight_sum[a] += weight
        located.append((a, x, y, kind, weight, sigma, at, trend))
    for a, x, y, kind, weight, sigma, at, trend in located:
        if trend not in trends:
            trends.append(trend)
        share = _HUB_SHARE * weight / hub_weight_sum[a]
        t = trends.index(trend)
        rows.append((a, _KINDS.index(kind), x, y, sigma, a, -1, 0.45 * share, t, at))
        rows.append((a, _KINDS.index(kind), x, y, min(250.0, 2.5 * sigma), a, -1,
                     0.55 * share, t, at))

    sqrt_area = np.sqrt(geo.sd_land_area)
    area_sqrt_sum = np.bincount(geo.sd_area, weights=sqrt_area, minlength=geo.n_areas)
    for s, code_area in enumerate(geo.sd_area):
        a = int(code_area)
        hub_share = _HUB_SHARE if hub_weight_sum[a] > 0 else 0.0
        rest = (1 - hub_share) / (_LOCAL_SHARE + _BACKGROUND_SHARE)
        w = sqrt_area[s] / area_sqrt_sum[a]
        at = f"i {geo.names[s]}"
        x, y = geo.sd_point[s]
        rows.append((a, _KINDS.index("local"), x, y, _LOCAL_SIGMA, a, s,
                     rest * _LOCAL_SHARE * w, 0, at))
        rows.append((a, _KINDS.index("background"), x, y, 0.0, geo.n_areas + s, s,
                     rest * _BACKGROUND_SHARE * w, 0, at))

    cols = list(zip(*rows, strict=True))
    return _Components(
        area=np.array(cols[0]), kind=np.array(cols[1]), cx=np.array(cols[2], dtype=float),
        cy=np.array(cols[3], dtype=float), sigma=np.array(cols[4], dtype=float),
        target=np.array(cols[5]), stadsdel=np.array(cols[6]),
        weight=np.array(cols[7], dtype=float), trend=np.array(cols[8]), at=list(cols[9]),
        trends=trends,
    )


def _area_counts(geo: _Geography, n: int) -> np.ndarray:
    """Split ``n`` over the areas in proportion to reported crimes (largest remainder)."""
    crimes = geodata.reported_crimes()
    crimes = crimes[crimes["year"] == crimes["year"].max()].set_index("sdo_code")
    weights = np.array([float(crimes.loc[c, "reported_crimes"]) for c in geo.area_codes])
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    short = n - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def _category_p(kind: str) -> np.ndarray:
    factor = _KIND_FACTOR[kind]
    p = np.array([_BASE_SHARE[c] * factor.get(c, 1.0) for c in _CATEGORY_CODES])
    return p / p.sum()


def _day_table() -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    days = pd.date_range(START_DATE, END_DATE, freq="D")
    return days, days.month.to_numpy() - 1, days.day_of_week.to_numpy()


def _time_weights(profile: str, trend: str, days: pd.DatetimeIndex, month: np.ndarray,
                  dow: np.ndarray) -> np.ndarray:
    """Weights of every (day, hour) cell for one time profile and one trend."""
    r = _RHYTHMS[profile]
    day_w = np.asarray(r.month)[month] * np.asarray(r.weekday)[dow]
    md = days.strftime("%m-%d")
    ymd = days.strftime("%Y-%m-%d")
    for when, factor in r.special:
        day_w = np.where((md == when) | (ymd == when), day_w * factor, day_w)
    t = np.arange(len(days)) / max(len(days) - 1, 1)
    if trend == "grow":
        day_w = day_w * (0.35 + 1.5 * t)
    elif trend.startswith("decline:"):
        start = np.datetime64(trend.split(":", 1)[1])
        since = (days.to_numpy().astype("datetime64[D]") - start).astype(int)
        day_w = day_w * np.where(since < 0, 1.0, 0.4 + 0.6 * np.exp(-np.maximum(since, 0) / 90))
    cell = day_w[:, None] * np.asarray(r.hour)[None, :]
    if r.weekend_night != 1.0:
        late = np.isin(dow, (4, 5))[:, None] & (np.arange(24) >= 21)[None, :]
        early = np.isin(dow, (5, 6))[:, None] & (np.arange(24) <= 4)[None, :]
        cell = np.where(late | early, cell * r.weekend_night, cell)
    if r.dark_evening:
        dark = 1 + r.dark_evening * np.asarray(_DARKNESS)[month]
        evening = (np.arange(24) >= 16) & (np.arange(24) <= 20)
        cell = np.where(evening[None, :], cell * dark[:, None], cell)
    return cell.ravel()


def _make_incidents(rng: np.random.Generator, geo: _Geography, n: int) -> gpd.GeoDataFrame:
    comp = _components(geo)
    counts = _area_counts(geo, n)

    # Which component each incident comes from: exact counts per area.
    chosen = []
    for a in range(geo.n_areas):
        idx = np.flatnonzero(comp.area == a)
        p = comp.weight[idx] / comp.weight[idx].sum()
        chosen.append(idx[rng.choice(len(idx), size=counts[a], p=p)])
    ci = np.concatenate(chosen) if chosen else np.empty(0, dtype=int)

    x, y = geo.sample(rng, comp.cx[ci], comp.cy[ci], comp.sigma[ci], comp.target[ci])

    # Category by kind of place.
    kind = comp.kind[ci]
    cat = np.empty(n, dtype=int)
    for k, name in enumerate(_KINDS):
        m = kind == k
        cat[m] = rng.choice(len(_CATEGORY_CODES), size=int(m.sum()), p=_category_p(name))
    codes = np.asarray(_CATEGORY_CODES, dtype=object)[cat]

    # Time: one (day, hour) distribution per time profile and trend.
    profile_of = np.array([_PROFILES.index(_CATEGORY_PROFILE[c]) for c in _CATEGORY_CODES])
    profile = profile_of[cat]
    night = (kind == _KINDS.index("nightlife")) & (profile == _PROFILES.index("violence"))
    profile[night] = _PROFILES.index("violence_night")
    trend = comp.trend[ci]
    days, month, dow = _day_table()
    cell = np.empty(n, dtype=int)
    key = profile * len(comp.trends) + trend
    for kv in np.unique(key):
        m = key == kv
        w = _time_weights(_PROFILES[kv // len(comp.trends)], comp.trends[kv % len(comp.trends)],
                          days, month, dow)
        cdf = np.cumsum(w)
        cell[m] = np.searchsorted(cdf, rng.random(int(m.sum())) * cdf[-1], side="right")
    cell = np.minimum(cell, len(days) * 24 - 1)
    minute = rng.integers(0, 60, n)
    naive = (np.datetime64(START_DATE.isoformat(), "m")
             + (cell // 24) * np.timedelta64(1, "D") + (cell % 24) * np.timedelta64(1, "h")
             + minute * np.timedelta64(1, "m"))
    occurred = pd.DatetimeIndex(naive.astype("datetime64[ns]")).tz_localize(
        LOCAL_TZ, ambiguous=np.ones(n, dtype=bool), nonexistent="shift_forward")

    # Precision: stadsdel-precision incidents sit on their stadsdel's representative point.
    precision = np.asarray(["exact", "street", "stadsdel"], dtype=object)[
        rng.choice(3, size=n, p=[0.90, 0.07, 0.03])]
    at = np.asarray(comp.at, dtype=object)[ci]
    coarse = np.flatnonzero(precision == "stadsdel")
    sd = comp.stadsdel[ci][coarse]
    unknown = sd < 0
    sd[unknown] = geo.locate(x[coarse[unknown]], y[coarse[unknown]])
    x[coarse] = np.round(geo.sd_point[sd, 0])
    y[coarse] = np.round(geo.sd_point[sd, 1])
    at[coarse] = [f"i {geo.names[s]}" for s in sd]

    # Victim gender for violence.
    gender = np.full(n, None, dtype=object)
    u = rng.random(n)
    for c in _VIOLENCE_CODES:
        m = codes == c
        p_man, p_woman = _GENDER_P.get(c, _GENDER_P_DEFAULT)
        gender[m & (u < p_man)] = "man"
        gender[m & (u >= p_man) & (u < p_man + p_woman)] = "kvinna"

    # Descriptions from templates.
    pick = rng.random(n)
    texts = [_INCIDENT_TEXTS[c][int(p * len(_INCIDENT_TEXTS[c]))].format(at=a)
             for c, p, a in zip(codes, pick, at, strict=True)]

    order = np.argsort(occurred.asi8, kind="stable")
    frame = pd.DataFrame({
        "id": np.asarray([f"demo:inc-{i:06d}" for i in range(1, n + 1)], dtype=object),
        "occurred_at": occurred[order],
        "category": codes[order],
        "source": np.full(n, DEMO_SOURCE, dtype=object),
        "precision": precision[order],
        "victim_gender": pd.Series(gender[order], dtype=object),
        "description": np.asarray(texts, dtype=object)[order],
    }, columns=[f.name for f in INCIDENTS.input_fields])
    return gpd.GeoDataFrame(frame, geometry=shapely.points(x[order], y[order]), crs=STORE_EPSG)


# --- walks and findings ----------------------------------------------------------------


def _make_walks(rng: np.random.Generator, geo: _Geography) -> pd.DataFrame:
    rows = []
    for i, spec in enumerate(WALK_SPECS, start=1):
        x, y = _project(spec.lat, spec.lon)
        s = geo.locate(np.array([x]), np.array([y]))[0]
        if s < 0:
            raise ValueError(f"demo walk {spec.area} lies outside the city's stadsdelar")
        area = geo.area_codes[geo.sd_area[s]]
        organisers = [_SDF[area], f"lokalpolisområde {_LPO[area]}", _HOUSING[area]]
        if rng.random() < 0.4:
            organisers.append("trafikkontoret")
        rows.append({
            "id": f"demo:walk-{i:02d}",
            "date": spec.date,
            "start_time": spec.start_time,
            "end_time": spec.end_time,
            "area": spec.area,
            "sdo_code": area,
            "participants": int(rng.integers(8, 36)),
            "organisers": ", ".join(organisers),
        })
    walks = pd.DataFrame(rows, columns=[f.name for f in WALKS.input_fields])
    walks["date"] = walks["date"].astype(object)
    walks["participants"] = walks["participants"].astype("int64")
    return walks


def _make_findings(rng: np.random.Generator, geo: _Geography,
                   walks: pd.DataFrame) -> gpd.GeoDataFrame:
    cats = tuple(_FINDING_SHARE)
    share = np.array([_FINDING_SHARE[c] for c in cats])
    share = share / share.sum()
    rows = []
    cx, cy, target = [], [], []
    for spec, walk in zip(WALK_SPECS, walks.itertuples(index=False), strict=True):
        k = int(rng.integers(10, 20))
        x, y = _project(spec.lat, spec.lon)
        found_at = pd.Timestamp(f"{walk.date.isoformat()} {walk.start_time}", tz=LOCAL_TZ)
        age = (_REFERENCE_DATE - walk.date).days
        p_fixed = float(np.clip(0.05 + 0.75 * age / 700, 0.05, 0.75))
        p_rejected = 0.06
        open_ = 1 - p_fixed - p_rejected
        p_new = open_ * (0.6 if age < 120 else 0.25)
        status_p = [p_new, open_ - p_new, p_fixed, p_rejected]
        for _ in range(k):
            c = cats[rng.choice(len(cats), p=share)]
            owners = _OWNER_P[c]
            owner = list(owners)[rng.choice(len(owners), p=list(owners.values()))]
            templates = _FINDING_TEXTS[c]
            text = templates[int(rng.integers(len(templates)))].format(
                street=spec.streets[int(rng.integers(len(spec.streets)))], place=spec.place)
            rows.append({
                "found_at": found_at,
                "category": c,
                "severity": int(rng.choice(3, p=_SEVERITY_P[c])) + 1,
                "description": text,
                "owner": owner,
                "status": ("ny", "tilldelad", "atgardad", "avvisad")[
                    int(rng.choice(4, p=status_p))],
                "walk_id": walk.id,
                "photo": None,
            })
            cx.append(x)
            cy.append(y)
            target.append(geo.area_codes.index(walk.sdo_code))
    n = len(rows)
    px, py = geo.sample(rng, np.array(cx), np.array(cy), np.full(n, 180.0), np.array(target))
    frame = pd.DataFrame(rows)
    frame.insert(0, "id", [f"demo:find-{i:04d}" for i in range(1, n + 1)])
    frame["found_at"] = frame["found_at"].dt.as_unit("ns")
    frame["severity"] = frame["severity"].astype("int64")
    frame["photo"] = pd.Series([None] * n, dtype=object)
    frame = frame[[f.name for f in FINDINGS.input_fields]]
    return gpd.GeoDataFrame(frame, geometry=shapely.points(px, py), crs=STORE_EPSG)
