"""Where a police event happened: stadsdel and gazetteer names in its summary."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import geopandas

import geodata
from layers.core.schema import STORE_EPSG

LOGGER = logging.getLogger(__name__)


#: Well-known places that are not stadsdel names but lie unambiguously in one stadsdel:
#: place as written in summaries -> stadsdel name (as in ``geodata.stadsdelar()``).
#: Chosen from the most frequent unplaced place words in the 2022-09..2026-08 feed and
#: checked against the stadsdel polygons; squares, streets and areas that straddle a
#: boundary (Nybroplan, Brommaplan, Sveavägen, Birger Jarlsgatan, Sankt Eriksgatan,
#: Odengatan, Nybohov) and names of larger areas (Bromma, Hässelby, Spånga, Enskede,
#: Skarpnäck, Järva) are left out on purpose.
GAZETTEER: dict[str, str] = {
    # Södermalm
    "Hornstull": "Södermalm",
    "Medborgarplatsen": "Södermalm",
    "Slussen": "Södermalm",
    "Mariatorget": "Södermalm",
    "Skanstull": "Södermalm",
    "Tantolunden": "Södermalm",
    "Söder": "Södermalm",
    "Söder Mälarstrand": "Södermalm",
    "Götgatan": "Södermalm",
    "Hornsgatan": "Södermalm",
    "Folkungagatan": "Södermalm",
    # Norrmalm
    "Sergels torg": "Norrmalm",
    "T-centralen": "Norrmalm",
    "Centralstationen": "Norrmalm",
    "Cityterminalen": "Norrmalm",
    "Hötorget": "Norrmalm",
    "Kungsträdgården": "Norrmalm",
    "Norra Bantorget": "Norrmalm",
    "City": "Norrmalm",
    "Vasagatan": "Norrmalm",
    "Kungsgatan": "Norrmalm",
    "Hamngatan": "Norrmalm",
    # Östermalm
    "Stureplan": "Östermalm",
    "Östermalmstorg": "Östermalm",
    "Humlegården": "Östermalm",
    "Karlaplan": "Östermalm",
    "Strandvägen": "Östermalm",
    "Karlavägen": "Östermalm",
    # Vasastaden
    "Vasastan": "Vasastaden",
    "Odenplan": "Vasastaden",
    "Sankt Eriksplan": "Vasastaden",
    "S:t Eriksplan": "Vasastaden",
    "Vasaparken": "Vasastaden",
    "Observatorielunden": "Vasastaden",
    "Rörstrandsgatan": "Vasastaden",
    # Kungsholmen
    "Fridhemsplan": "Kungsholmen",
    "Fleminggatan": "Kungsholmen",
    # Gamla stan
    "Skeppsbron": "Gamla stan",
    # outside the inner city
    "Gullmarsplan": "Johanneshov",
    "Globen": "Johanneshov",
    "Globentorget": "Johanneshov",
    "Tele2 Arena": "Johanneshov",
    "Tele 2 Arena": "Johanneshov",
    "Gärdet": "Ladugårdsgärdet",
    "Frihamnen": "Ladugårdsgärdet",
    "Ropsten": "Hjorthagen",
    "Frescati": "Norra Djurgården",
    "Albano": "Norra Djurgården",
    "Hammarby sjöstad": "Södra Hammarbyhamnen",
    "Liljeholmstorget": "Liljeholmen",
    "Skogskyrkogården": "Gamla Enskede",
    "Hjulsta": "Tensta",
    # spelling variants
    "Hässelbygård": "Hässelby gård",
    "Skarpnäck gård": "Skarpnäcks gård",
}

#: Names (stadsdelar or gazetteer, compared case-folded) that are also common Swedish
#: words and so only match when written with a capital letter.
CAPITALISED_ONLY: frozenset[str] = frozenset(
    {"kista", "höglandet", "söder", "city", "gärdet", "slussen", "globen", "albano"}
)

#: Phrases that contain a stadsdel name but do not place an event in that stadsdel;
#: removed from the text before matching.
STOP_PATTERNS: tuple[str, ...] = (
    # stadsdelsområden (several stadsdelar each), old and current
    r"Rinkeby-Kista",
    r"Spånga-Tensta",
    r"Hässelby-Vällingby",
    r"Enskede-Årsta-Vantör",
    r"Hägersten-Älvsjö",
    r"Hägersten-Liljeholmen",
    r"\w+s?\s+stadsdelsområde\w*",
    r"\w+s?\s+stadsdelsförvaltning\w*",
    r"\w+s?\s+stadsdelsnämnd\w*",
    # sports clubs
    r"Djurgårdens\s+IF",
    r"Hammarby\s+IF",
)

_STOP_RE = re.compile("|".join(f"(?:{p})" for p in STOP_PATTERNS), re.IGNORECASE)
#: "G:a Stan", "G:a Enskede" -> "Gamla ...".
_GAMLA_RE = re.compile(r"(?<!\w)G:a(?=\s)", re.IGNORECASE)


def place_key(name: str) -> str:
    """Case-folded name with single spaces, used to look names up."""
    return " ".join(name.casefold().split())


class PlaceMatcher:
    """Finds the stadsdel an event's text names.

    Built from a GeoDataFrame of stadsdelar (columns ``code``, ``name``, ``geometry``)
    and :data:`GAZETTEER`; :meth:`find` returns the stadsdel code of the first place
    named in a text, or None.
    """

    def __init__(
        self,
        stadsdelar: geopandas.GeoDataFrame,
        gazetteer: dict[str, str] | None = None,
    ) -> None:
        gazetteer = GAZETTEER if gazetteer is None else gazetteer
        names, codes = stadsdelar["name"], stadsdelar["code"]
        code_by_name = {place_key(n): str(c) for n, c in zip(names, codes, strict=True)}
        self.place_to_code: dict[str, str] = dict(code_by_name)
        for place, target in gazetteer.items():
            code = code_by_name.get(place_key(target))
            if code is None:
                LOGGER.warning("gazetteer place %r: no stadsdel named %r", place, target)
                continue
            self.place_to_code.setdefault(place_key(place), code)
        # Longest names first, so "Hässelby gård" wins over a shorter name inside it.
        alternatives = sorted(self.place_to_code, key=len, reverse=True)
        body = "|".join(r"\s+".join(re.escape(w) for w in a.split()) for a in alternatives)
        self._pattern = re.compile(rf"(?<!\w)(?P<place>{body})s?(?!\w)", re.IGNORECASE)

    def find(self, text: str) -> str | None:
        """Return the stadsdel code of the first place named in ``text``, or None."""
        if not text:
            return None
        text = _STOP_RE.sub(" ", _GAMLA_RE.sub("Gamla", text))
        for match in self._pattern.finditer(text):
            written = match.group("place")
            key = place_key(written)
            if key in CAPITALISED_ONLY and not written[0].isupper():
                continue
            return self.place_to_code[key]
        return None


@lru_cache(maxsize=1)
def default_places() -> tuple[PlaceMatcher, geopandas.GeoSeries]:
    """The matcher and representative points (EPSG:3011) of the bundled stadsdelar."""
    return places_from(geodata.stadsdelar(crs=STORE_EPSG))


def places_from(
    stadsdelar: geopandas.GeoDataFrame,
) -> tuple[PlaceMatcher, geopandas.GeoSeries]:
    """The matcher for these stadsdelar and the point each is placed at."""
    stadsdelar = stadsdelar.to_crs(STORE_EPSG)
    points = stadsdelar.geometry.representative_point()  # shapely point_on_surface
    points.index = stadsdelar["code"].astype(str).to_numpy()
    return PlaceMatcher(stadsdelar), points
