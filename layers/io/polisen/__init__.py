"""Importer for the Swedish Police's public events (the polisen.se events JSON).

The police publish a feed of events ("händelser") as a JSON list; each event has an
``id``, a ``datetime`` such as ``"2026-01-17 7:24:39 +01:00"`` (the hour may have one
digit), a ``name`` (``"17 januari 06.32, Brand, Stockholm"``), a ``summary``, a ``url``
relative to https://polisen.se, a ``type`` (Swedish event type) and a ``location`` with
the municipality's ``name`` and ``gps`` (``"lat,lon"``).

The GPS point is only the centre of the municipality, so it must never be drawn as the
place of the event. Within Stockholm municipality the summary usually names the place
("Personrån i Kista", "Skadad person utomhus i Hornstull"), so :func:`read_police_events`
looks for the names of the 117 stadsdelar, and a small curated gazetteer of squares,
stations and streets that lie unambiguously in one stadsdel, in the summary. A found
event gets precision ``"stadsdel"`` and the stadsdel's representative point; any other
event keeps precision ``"kommun"`` and the municipality point. The ``precision`` column
tells the rest of the app never to draw either as an exact point.

Matching rules (see :class:`PlaceMatcher`):

* whole words, case-insensitive, longest names first ("Hässelby gård" before a bare
  "Hässelby", which is not a stadsdel and is left unplaced; "Farsta strand" before
  "Farsta");
* a trailing genitive ``-s`` is accepted ("Kistas", "Skärholmens centrum");
* names that are also common Swedish nouns only match with a capital letter ("Kista" but
  not "kista", a coffin; "Slussen" but not "slussen", a lock; "Söder" but not "söder",
  south);
* the first mention wins ("från Västertorp till Bromma" is placed in Västertorp);
* names of stadsdelsområden ("Rinkeby-Kista", "Kungsholmens stadsdelsområde") and of
  sports clubs ("Djurgårdens IF") are not places of a stadsdel and are ignored;
* only events whose municipality is Stockholm are matched: the same place names exist
  elsewhere in Sweden.

The event type is mapped to an incident category with :data:`POLICE_TYPE_TO_CATEGORY`;
unknown types become ``"ovrigt"`` and are counted in the :class:`PoliceReport`.

Times: the feed's ``datetime`` is when the police *published* the event, often hours
after it happened. The event's own time is in ``name`` ("17 januari 23.39, …": day,
Swedish month name, hour.minute or hour:minute, Stockholm local time) without a year;
:func:`event_time_from_name` takes the year that puts that time nearest to the
publication (so "28 december 23.24" published 2023-01-02 is in 2022, and an event
announced in April for "01 maj" is in the same year). An event whose name has no
readable time keeps the publication time and is counted in the report.

Modules: :mod:`.categories` (event type -> incident category), :mod:`.places` (the
place names of the summaries) and :mod:`.events` (the feed read into incident rows).
"""

from __future__ import annotations

from layers.io.polisen.categories import (
    POLICE_TYPE_PREFIXES,
    POLICE_TYPE_TO_CATEGORY,
    police_category,
)
from layers.io.polisen.events import (
    SOURCE,
    PoliceFormatError,
    PoliceReport,
    event_time_from_name,
    read_police_events,
)
from layers.io.polisen.places import GAZETTEER, PlaceMatcher

__all__ = ["GAZETTEER", "POLICE_TYPE_PREFIXES", "POLICE_TYPE_TO_CATEGORY", "SOURCE",
           "PlaceMatcher", "PoliceFormatError", "PoliceReport", "event_time_from_name",
           "police_category", "read_police_events"]
