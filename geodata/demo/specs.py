"""The demo places written by hand: platssamverkan sites, hot-spot hubs and walks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_SEED = 20240101
#: The ``source`` of every demo incident.
DEMO_SOURCE = "demo"
#: First and last day of the demo incidents (inclusive).
START_DATE = dt.date(2024, 1, 1)
END_DATE = dt.date(2025, 12, 31)
#: "Today" for the demo: findings of older walks are more often fixed.
REFERENCE_DATE = dt.date(2026, 1, 1)


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
SDF: dict[str, str] = {
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
LPO: dict[str, str] = {
    "bromma": "Västerort", "enskede-arsta-vantor": "Farsta", "farsta": "Farsta",
    "hagersten-alvsjo": "Skärholmen", "hasselby-vallingby": "Västerort", "jarva": "Rinkeby",
    "kungsholmen": "City", "norra-innerstaden": "City", "skarholmen": "Skärholmen",
    "skarpnack": "Farsta", "sodermalm": "Södermalm",
}
HOUSING: dict[str, str] = {
    "bromma": "Svenska Bostäder", "enskede-arsta-vantor": "Familjebostäder",
    "farsta": "Stockholmshem", "hagersten-alvsjo": "Stockholmshem",
    "hasselby-vallingby": "Svenska Bostäder", "jarva": "Svenska Bostäder",
    "kungsholmen": "Familjebostäder", "norra-innerstaden": "Svenska Bostäder",
    "skarholmen": "Svenska Bostäder", "skarpnack": "Stockholmshem",
    "sodermalm": "Stockholmshem",
}
