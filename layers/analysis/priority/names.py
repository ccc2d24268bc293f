"""Names of places: the platssamverkan site, else the square or street that findings,
walks and incident texts name most often, else the stadsdel and a number.

Sensitive categories are never read for names (the incident texts come without them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import shapely

import geodata
from layers.analysis.grid import Grid
from layers.analysis.priority.result import Observations, Place
from layers.analysis.study_area import StudyArea
from layers.io.joins import representative_points

#: Lower-case words that end a place name: "Tensta centrum", "Hässelby torg".
PLACE_NOUNS = ("centrum", "torg", "torget", "allé", "väg", "vägen", "gata", "gatan",
               "gången", "gränd", "plan", "planen", "station", "stationen",
               "tunnelbanestation", "strand", "park", "parken", "backe", "backen", "stråket",
               "gård", "trädgård", "kyrka", "hamn", "kaj", "bro", "bron", "platsen",
               "terminal", "tunnel", "tunneln", "trappa", "trappan", "skola", "skolan")
#: Endings of one-word street and square names: "Farstagången", "Medborgarplatsen".
PLACE_SUFFIXES = ("gången", "vägen", "gatan", "torget", "torg", "plan", "planen", "stigen",
                  "backen", "parken", "platsen", "stråket", "allén", "gränd", "leden", "bron",
                  "hamnen", "kajen", "centralen", "stationen", "terminalen")
_WORD = r"(?:S:t|[A-ZÅÄÖÉ][\wåäöéÅÄÖÉ:'-]*)"
_PHRASE = rf"{_WORD}(?:\s+{_WORD})*(?:\s+(?:{'|'.join(PLACE_NOUNS)})\b)?"
_PREPOSITIONS = ("vid", "på", "i", "längs", "mot", "nära", "bakom", "intill", "invid",
                 "utanför", "framför", "till", "från", "under", "genom", "kring", "runt",
                 "mellan", "och")
_AFTER_PREPOSITION = re.compile(rf"\b(?:{'|'.join(_PREPOSITIONS)})\s+({_PHRASE})")
_LEADING = re.compile(rf"^\s*({_PHRASE})")
#: An incident text must name a place this many times before it names the place.
MIN_INCIDENT_MENTIONS = 3


def place_names_in(text: str, *, leading: bool = False) -> list[str]:
    """Place names a text mentions: capitalised phrases after a preposition.

    A phrase may end in a place word (``torg``, ``centrum``, ``allé`` …, see
    :data:`PLACE_NOUNS`); one followed by any other lower-case word is left out, as
    the name probably goes on ("i Gamla stan" does not give "Gamla"). ``leading``
    also takes a name at the start (walk areas: "Tensta centrum och …").
    """
    if not text:
        return []
    matches = list(_AFTER_PREPOSITION.finditer(text))
    found = [m.group(1).strip() for m in matches if _complete(text, m.end(1), m.group(1))]
    if leading and (m := _LEADING.match(text)) and _complete(text, m.end(1), m.group(1)):
        found.insert(0, m.group(1).strip())
    return found


def _complete(text: str, end: int, phrase: str) -> bool:
    """A phrase is a whole name when it ends in a place word or suffix ("Farstagången"),
    or when no lower-case word follows it."""
    last = phrase.split()[-1].lower()
    if last in PLACE_NOUNS or last.endswith(PLACE_SUFFIXES):
        return True
    return not re.match(r"\s+[a-zåäöé]", text[end:])


def name_places(places: list[Place], grid: Grid, keys: np.ndarray, obs: Observations,
                 area: StudyArea) -> None:
    """Name each place: site, else the most named square or street, else stadsdel + number."""
    too_general = {geodata.slugify(v[0]) for v in area.stadsdelar.values()} | \
        {geodata.slugify(v[2]) for v in area.stadsdelar.values() if v[2]} | \
        {"stockholm", "stockholms stad"}
    findings = obs.findings
    numbered: Counter[str] = Counter()
    used: Counter[str] = Counter()
    for place in places:
        name, source = None, "stadsdel"
        if place.site:
            name, source = place.site, "site"
        if name is None and findings is not None and not findings.empty:
            name = _best_name(_texts_of_findings(place, grid, findings, obs.walks), too_general, 1)
            source = "finding" if name else source
        if name is None and obs.incident_texts is not None:
            texts = obs.incident_texts(tuple(place.geometry.bounds))
            mentions = Counter(n for t in texts for n in set(place_names_in(t)))
            name = _best_name(mentions, too_general, MIN_INCIDENT_MENTIONS)
            source = "incident" if name else source
        if name is None:
            base = place.stadsdel_name or area.name
            numbered[base] += 1
            name = f"{base} {numbered[base]}"
        used[name] += 1
        if used[name] > 1:
            name = f"{name} ({used[name]})"
        place.name, place.name_source = name, source


def _texts_of_findings(place: Place, grid: Grid, findings: gpd.GeoDataFrame,
                       walks: Mapping[str, str]) -> Counter[str]:
    """Names mentioned by the findings in a place and the areas of their walks."""
    points = representative_points(findings.geometry)
    cell = grid.keys_of(shapely.get_x(points), shapely.get_y(points))
    inside = np.isin(cell, place.cells)
    mentions: Counter[str] = Counter()
    rows = findings.iloc[np.flatnonzero(inside)]
    for text in rows["description"].fillna(""):
        mentions.update(set(place_names_in(str(text))))
    for walk in dict.fromkeys(rows["walk_id"].dropna()) if "walk_id" in rows else ():
        mentions.update(set(place_names_in(walks.get(walk, ""), leading=True)))
    return mentions


def _best_name(mentions: Counter[str], too_general: set[str], minimum: int) -> str | None:
    ranked = sorted(((n, name) for name, n in mentions.items()
                     if geodata.slugify(name) not in too_general and n >= minimum),
                    key=lambda t: (-t[0], t[1]))
    return ranked[0][1] if ranked else None


__all__ = ["MIN_INCIDENT_MENTIONS", "PLACE_NOUNS", "PLACE_SUFFIXES", "name_places",
           "place_names_in"]
