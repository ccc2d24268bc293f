"""What the demo draws follow: category shares, rhythms over the year, week and day, texts."""

from __future__ import annotations

from dataclasses import dataclass

from layers.core.schema import (
    INCIDENT_CATEGORIES,
)

CATEGORY_CODES: tuple[str, ...] = tuple(c.code for c in INCIDENT_CATEGORIES)
VIOLENCE_CODES = frozenset(c.code for c in INCIDENT_CATEGORIES if c.group == "vald")

#: City-wide category shares (normalised before use).
BASE_SHARE: dict[str, float] = {
    "ran": 0.02, "misshandel": 0.075, "hot": 0.05, "ofredande": 0.04, "sexualbrott": 0.012,
    "vald_nara_relation": 0.015, "skottlossning": 0.002, "dodligt_vald": 0.0004,
    "skadegorelse": 0.10, "klotter": 0.08, "stold": 0.25, "inbrott": 0.08,
    "tillgrepp_motorfordon": 0.03, "narkotikabrott": 0.045, "vald_hot_tjansteman": 0.01,
    "overgrepp_rattssak": 0.004, "brand": 0.025, "trafikolycka": 0.03, "fallolycka": 0.02,
    "ovrigt": 0.045,
}
#: Kinds of place an incident cluster can be, in component-table order.
KINDS: tuple[str, ...] = ("centre", "suburb", "nightlife", "local", "background")
#: Category multipliers per kind of place (missing = 1).
KIND_FACTOR: dict[str, dict[str, float]] = {
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
CATEGORY_PROFILE: dict[str, str] = {
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

RHYTHMS: dict[str, _Rhythm] = {
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
PROFILES: tuple[str, ...] = tuple(RHYTHMS)
#: How dark the evenings are per month (0 = light until late, 1 = dark by 16).
DARKNESS = (1.0, 0.8, 0.5, 0.2, 0.0, 0.0, 0.0, 0.1, 0.4, 0.7, 0.9, 1.0)

#: Victim gender for violence categories: P(man), P(kvinna); the rest is unknown.
GENDER_P: dict[str, tuple[float, float]] = {
    "sexualbrott": (0.08, 0.87),
    "vald_nara_relation": (0.22, 0.73),
}
GENDER_P_DEFAULT = (0.59, 0.36)

#: Description templates per category; ``{at}`` is a place phrase ("vid Slussen").
INCIDENT_TEXTS: dict[str, tuple[str, ...]] = {
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

FINDING_SHARE: dict[str, float] = {
    "belysning": 0.28, "vegetation": 0.20, "klotter": 0.10, "nedskrapning": 0.10,
    "skymd_sikt": 0.07, "trasig_utrustning": 0.08, "otrygg_passage": 0.09,
    "overgiven_byggnad": 0.03, "ovrigt": 0.05,
}
#: P(severity 1), P(2), P(3) per finding category.
SEVERITY_P: dict[str, tuple[float, float, float]] = {
    "belysning": (0.2, 0.5, 0.3), "vegetation": (0.35, 0.45, 0.2),
    "klotter": (0.5, 0.4, 0.1), "nedskrapning": (0.5, 0.4, 0.1),
    "skymd_sikt": (0.25, 0.5, 0.25), "trasig_utrustning": (0.4, 0.45, 0.15),
    "otrygg_passage": (0.1, 0.4, 0.5), "overgiven_byggnad": (0.2, 0.4, 0.4),
    "ovrigt": (0.4, 0.4, 0.2),
}
#: Who usually fixes each finding category (owner code -> probability).
OWNER_P: dict[str, dict[str, float]] = {
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
FINDING_TEXTS: dict[str, tuple[str, ...]] = {
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
