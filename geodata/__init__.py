"""Stockholm's real district geography, bundled with Trygghetskartan.

This package holds the stable building blocks that every other layer is joined to:

* the 117 **stadsdelar** (small districts), with water (``stadsdelar.geojson``, for
  joining points) and without water (``stadsdelar_land.geojson``, for maps and
  area-based figures);
* the **stadsdelsområden** (one per stadsdelsnämnd) in two versioned divisions: 13
  areas valid 2020-07-01..2023-06-30 and 11 areas from 2023-07-01, when Rinkeby-Kista +
  Spånga-Tensta became Järva and Norrmalm + Östermalm became Norra innerstaden
  (``stadsdelsomraden.geojson``; see :data:`MERGERS` and :func:`division_for`);
* population 2024 and reported crimes 2025 per current area.

The files are stored in WGS 84 (EPSG:4326) with 6 decimals; the functions return
SWEREF 99 18 00 (EPSG:3011, metres) unless asked otherwise. Sources, licences and
how the 2023 areas were derived are in ``geodata/README.md``; ``geodata/build.py``
rebuilds the files from the sources.

Names and codes
---------------
Every district has a ``code`` (a stable ASCII slug, see :func:`slugify`) and a
``name`` in Swedish spelling. The source lists stadsdelar in capitals
(``HÄSSELBY GÅRD``); :func:`swedish_name` turns that into the city's spelling with the
Swedish rule for multi-word place names: only the first word takes a capital
("Hässelby gård", "Gamla stan", "Bromma kyrka", "Örby slott"), except a later word
that is a place name in its own right ("Norra Djurgården", "Södra Hammarbyhamnen",
"Lilla Essingen", "Gamla Enskede", "Norra Ängby", "Stora Mossen"). Those words are
listed in :data:`PROPER_NAME_WORDS`; the abbreviation ``INDUSTRIOMR`` in the source is
written out ("Ulvsunda industriområde", :data:`ABBREVIATIONS`). Parts of a hyphenated
name are each capitalised ("Rinkeby-Kista").

Stadsdel → stadsdelsområde
--------------------------
Each stadsdel belongs to exactly one area per division: the 2020 area that contains
its representative point, which for all 117 is also the area holding the largest
share of it (``sdo_2020``); ``sdo_2023`` is the same area, or the merged area it became
in 2023. A few stadsdelar overlap a neighbouring area by up to 44 % of their surface
(Akalla and Husby reach into Spånga-Tensta), so joining a point to its stadsdel and
then to ``sdo_2020`` can differ from joining the point to the area polygons directly;
the stadsdel rule is the one used throughout the product.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas
import pandas as pd

__all__ = [
    "ABBREVIATIONS",
    "DATA_DIR",
    "DIVISIONS",
    "MERGERS",
    "PROPER_NAME_WORDS",
    "STOCKHOLM_TZ",
    "division_for",
    "population",
    "reported_crimes",
    "slugify",
    "stadsdelar",
    "stadsdelsomraden",
    "swedish_name",
]

#: Folder of this package, where the bundled data files live.
DATA_DIR: Path = Path(__file__).resolve().parent

STOCKHOLM_TZ = ZoneInfo("Europe/Stockholm")

#: Areas of the 2023 division made by merging areas of the 2020 division.
MERGERS: dict[str, tuple[str, ...]] = {
    "jarva": ("rinkeby-kista", "spanga-tensta"),
    "norra-innerstaden": ("norrmalm", "ostermalm"),
}

#: Division id -> (valid from, valid to inclusive or None while in force).
DIVISIONS: dict[str, tuple[date, date | None]] = {
    "2020": (date(2020, 7, 1), date(2023, 6, 30)),
    "2023": (date(2023, 7, 1), None),
}

#: Words after the first that keep their capital: place names in their own right.
PROPER_NAME_WORDS: frozenset[str] = frozenset(
    {"djurgården", "enskede", "essingen", "hammarbyhamnen", "mossen", "ängby"}
)

#: Abbreviated words in the source, written out.
ABBREVIATIONS: dict[str, str] = {"industriomr": "industriområde"}

_TRANSLIT = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u"})


def slugify(name: str) -> str:
    """Return the stable ASCII code of a district name.

    Lower case, å/ä→a, ö→o (other accents dropped), spaces→``-``, nothing but
    ``a-z``, ``0-9`` and single hyphens: ``"Hässelby gård"`` → ``"hasselby-gard"``,
    ``"Enskede-Årsta-Vantör"`` → ``"enskede-arsta-vantor"``.
    """
    text = name.strip().lower().translate(_TRANSLIT)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    out = "".join(c if c.isalnum() else "-" for c in text)
    return "-".join(part for part in out.split("-") if part)


def _cap(word: str) -> str:
    return "-".join(p[:1].upper() + p[1:] for p in word.split("-"))


def swedish_name(raw: str) -> str:
    """Return a district name in Swedish spelling from any casing (``"GAMLA STAN"``).

    First word capitalised, later words in lower case unless they are in
    :data:`PROPER_NAME_WORDS`; abbreviations in :data:`ABBREVIATIONS` are written out.
    ``"HÄSSELBY GÅRD"`` → ``"Hässelby gård"``, ``"NORRA DJURGÅRDEN"`` →
    ``"Norra Djurgården"``.
    """
    words = [ABBREVIATIONS.get(w, w) for w in raw.strip().lower().split()]
    if not words:
        raise ValueError("empty name")
    rest = [_cap(w) if w in PROPER_NAME_WORDS else w for w in words[1:]]
    return " ".join([_cap(words[0]), *rest])


@lru_cache(maxsize=4)
def _read(filename: str) -> geopandas.GeoDataFrame:
    with open(DATA_DIR / filename, encoding="utf-8") as f:
        collection = json.load(f)
    props = list(collection["features"][0]["properties"])
    gdf = geopandas.GeoDataFrame.from_features(collection["features"], crs=4326)
    return gdf[[*props, "geometry"]]


@lru_cache(maxsize=16)
def _projected(filename: str, crs: int) -> geopandas.GeoDataFrame:
    gdf = _read(filename)
    return gdf if crs == 4326 else gdf.to_crs(crs)


def stadsdelar(crs: int = 3011, land: bool = False) -> geopandas.GeoDataFrame:
    """Return the 117 stadsdelar, sorted by ``code``.

    Columns ``code``, ``name``, ``sdo_2020``, ``sdo_2023`` (codes of the stadsdelsområde
    in each division) and ``geometry`` in ``crs`` (EPSG code, default 3011).
    ``land=False`` gives the full polygons including water, for joining points;
    ``land=True`` the polygons with water removed, for maps and areas. The result is a
    fresh copy that the caller may change.
    """
    filename = "stadsdelar_land.geojson" if land else "stadsdelar.geojson"
    gdf = _projected(filename, int(crs))
    return gdf.sort_values("code").reset_index(drop=True).copy()


@lru_cache(maxsize=16)
def _stadsdelsomraden(crs: int) -> geopandas.GeoDataFrame:
    gdf = _projected("stadsdelsomraden.geojson", crs).copy()
    gdf["number"] = gdf["number"].astype("Int64")
    for col in ("valid_from", "valid_to"):
        gdf[col] = pd.Series(
            [date.fromisoformat(v) if isinstance(v, str) else None for v in gdf[col]],
            index=gdf.index,
            dtype=object,
        )
    return gdf.sort_values(["division", "code"]).reset_index(drop=True)


def stadsdelsomraden(crs: int = 3011, division: str | None = None) -> geopandas.GeoDataFrame:
    """Return the stadsdelsområden of one division, or of both (24 rows) by default.

    ``division`` is ``"2020"`` (13 areas, 2020-07-01..2023-06-30) or ``"2023"`` (11
    areas from 2023-07-01); see :func:`division_for`. Columns ``code``, ``name``,
    ``number`` (the city's official area number, nullable Int64: unknown for Järva and
    Norra innerstaden), ``division``, ``valid_from`` and ``valid_to`` (``datetime.date``,
    ``valid_to`` None while in force) and ``geometry`` in ``crs``. Sorted by division
    and code; a fresh copy.
    """
    gdf = _stadsdelsomraden(int(crs))
    if division is not None:
        division = str(division)
        if division not in DIVISIONS:
            raise ValueError(f"unknown division {division!r}; expected one of {list(DIVISIONS)}")
        gdf = gdf[gdf["division"] == division].reset_index(drop=True)
    return gdf.copy()


def division_for(when: date | datetime | pd.Timestamp | str) -> str:
    """Return the division (``"2020"`` or ``"2023"``) in force on a date or moment.

    The change happened at midnight 2023-07-01 Stockholm time. Time-zone aware
    datetimes and Timestamps are first converted to Europe/Stockholm (2023-06-30T22:30Z
    is already July 1st there); naive ones and plain dates are taken as Stockholm local
    time; strings are parsed as ISO 8601. Everything before 2023-07-01 gives ``"2020"``,
    including dates before 2020-07-01 for which no older division is bundled.
    """
    if isinstance(when, str):
        when = pd.Timestamp(when)
    if when is None or pd.isna(when):
        raise ValueError("division_for needs a date, got a missing value")
    if isinstance(when, datetime):
        if when.tzinfo is not None and when.utcoffset() is not None:
            when = when.astimezone(STOCKHOLM_TZ)
        day = when.date()
    elif isinstance(when, date):
        day = when
    else:
        raise TypeError(f"division_for needs a date or datetime, got {type(when).__name__}")
    return "2023" if day >= DIVISIONS["2023"][0] else "2020"


@lru_cache(maxsize=2)
def _table(filename: str) -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / filename, dtype={"sdo_code": str, "year": int})


def population() -> pd.DataFrame:
    """Return population on 31 December per current (2023) area: ``sdo_code``, ``year``,
    ``population``. Year 2024 only; the 3 637 residents not in any area are left out."""
    return _table("population.csv").copy()


def reported_crimes() -> pd.DataFrame:
    """Return reported crimes (all types) per current (2023) area: ``sdo_code``,
    ``year``, ``reported_crimes``. Year 2025 only."""
    return _table("reported_crimes_2025.csv").copy()
