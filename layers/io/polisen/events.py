"""The police events feed read into incident rows, with a report of what it found."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas
import pandas as pd

from layers.core.schema import LOCAL_TZ, STORE_EPSG, WEB_EPSG
from layers.io.polisen.categories import police_category
from layers.io.polisen.places import default_places, place_key, places_from

LOGGER = logging.getLogger(__name__)


#: Value of the ``source`` column for every imported event.
SOURCE = "polisen"
#: The police's site; event URLs in the feed are relative to it.
POLICE_BASE_URL = "https://polisen.se"
#: Municipality whose events are matched against the stadsdelar (compared case-folded).
STOCKHOLM = "stockholm"


#: A one-digit hour in "2026-01-17 7:24:39 +01:00".
_ONE_DIGIT_HOUR_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(\d):")
_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"
#: "17 januari 23.39, Misshandel, Stockholm" (also "01 oktober 15:27, …").
_NAME_TIME_RE = re.compile(
    r"^\s*(?P<day>\d{1,2})\s+(?P<month>[^\W\d_]+)\s+(?P<hour>\d{1,2})[.:](?P<minute>\d{2})(?!\d)"
)
SWEDISH_MONTHS: dict[str, int] = {
    name: number
    for number, name in enumerate(
        ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
         "september", "oktober", "november", "december"),
        start=1,
    )
}
_REQUIRED_FIELDS = ("id", "datetime", "type")


class PoliceFormatError(ValueError):
    """A police events file that cannot be read, with a Swedish message.

    ``index`` is the 1-based number of the event in the file (None for the file as a
    whole) and ``field`` the field that is wrong (None when it is not about one field).
    """

    def __init__(self, message: str, index: int | None = None, field: str | None = None):
        super().__init__(message)
        self.index = index
        self.field = field


@dataclass
class PoliceReport:
    """What :func:`read_police_events` did with a file."""

    n_events: int = 0
    n_stadsdel: int = 0
    n_kommun: int = 0
    #: Event types not in :data:`POLICE_TYPE_TO_CATEGORY` (loaded as "ovrigt") -> count.
    unknown_types: dict[str, int] = field(default_factory=dict)
    #: Events left out because an earlier event in the file had the same id.
    n_duplicates: int = 0
    #: Events whose name had no readable time: they keep the publication time.
    n_time_from_published: int = 0

    @property
    def share_stadsdel(self) -> float:
        """Share of the events placed in a stadsdel (0.0 for an empty file)."""
        return self.n_stadsdel / self.n_events if self.n_events else 0.0

    def summary_sv(self) -> str:
        """Return the report as Swedish text for the user."""
        text = (
            f"{_sv_int(self.n_events)} händelser lästa: "
            f"{_sv_int(self.n_stadsdel)} placerade i stadsdel, "
            f"{_sv_int(self.n_kommun)} endast på kommunnivå (visas inte som punkter)."
        )
        if self.n_duplicates:
            text += f" {_sv_int(self.n_duplicates)} dubbletter (samma id) hoppades över."
        if self.n_time_from_published:
            text += (
                f" {_sv_int(self.n_time_from_published)} händelser saknar läsbar tidpunkt i "
                "rubriken och fick polisens publiceringstid."
            )
        if self.unknown_types:
            listed = ", ".join(
                f"{name} ({_sv_int(n)})"
                for name, n in sorted(self.unknown_types.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            text += f" Okända händelsetyper, lästa som övrigt: {listed}."
        return text


def _sv_int(n: int) -> str:
    """Format an integer the Swedish way, with a space between thousands: 3 312."""
    return f"{n:,}".replace(",", " ")


def _load_events(path: Path) -> list[dict]:
    try:
        with open(path, encoding="utf-8-sig") as f:
            data = json.load(f)
    except json.JSONDecodeError as exc:
        raise PoliceFormatError(
            f"Filen är inte giltig JSON (rad {exc.lineno}, kolumn {exc.colno}): {exc.msg}."
        ) from exc
    except UnicodeDecodeError as exc:
        raise PoliceFormatError("Filen är inte UTF-8-kodad text.") from exc
    if not isinstance(data, list):
        raise PoliceFormatError(
            "Filen ska innehålla en JSON-lista med polisens händelser, "
            f"men innehåller {_json_kind(data)}."
        )
    return data


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "ett objekt"
    if isinstance(value, str):
        return "en text"
    if isinstance(value, bool | int | float):
        return "ett tal"
    if value is None:
        return "null"
    return "en lista"


def _check_event(number: int, event: object) -> dict:
    """Return the event if it has the required fields, else raise PoliceFormatError."""
    if not isinstance(event, dict):
        raise PoliceFormatError(
            f"Händelse {number}: är inte ett JSON-objekt utan {_json_kind(event)}.", number
        )
    for name in _REQUIRED_FIELDS:
        value = event.get(name)
        if value is None:
            raise PoliceFormatError(f"Händelse {number}: fältet '{name}' saknas.", number, name)
        if isinstance(value, str) and not value.strip():
            raise PoliceFormatError(f"Händelse {number}: fältet '{name}' är tomt.", number, name)
    if isinstance(event["id"], bool) or not isinstance(event["id"], int | str):
        raise PoliceFormatError(
            f"Händelse {number}: fältet 'id' ska vara ett tal, inte {event['id']!r}.", number, "id"
        )
    for name in ("datetime", "type"):
        if not isinstance(event[name], str):
            raise PoliceFormatError(
                f"Händelse {number}: fältet '{name}' ska vara en text, inte {event[name]!r}.",
                number,
                name,
            )
    return event


def _parse_gps(number: int, location: object) -> tuple[float, float]:
    """Return (lon, lat) from the event's ``location.gps`` ("lat,lon")."""
    gps = location.get("gps") if isinstance(location, dict) else None
    if not isinstance(gps, str) or not gps.strip():
        raise PoliceFormatError(
            f"Händelse {number}: fältet 'location.gps' saknas.", number, "location.gps"
        )
    try:
        lat_text, lon_text = gps.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        lat = lon = float("nan")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise PoliceFormatError(
            f"Händelse {number}: fältet 'location.gps' ska vara 'latitud,longitud', inte {gps!r}.",
            number,
            "location.gps",
        )
    return lon, lat


def _place_text(event: dict) -> str:
    """The part of ``name`` after the event type ("Stockholm" in "…, Brand, Stockholm")."""
    name = event.get("name")
    if not isinstance(name, str):
        return ""
    marker = f", {event['type'].strip()}, "
    if marker in name:
        return name.split(marker, 1)[1]
    return name.rsplit(",", 1)[-1] if "," in name else ""


def _absolute_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        return ""
    url = url.strip()
    if url.startswith(("http://", "https://")):
        return url
    return POLICE_BASE_URL + ("" if url.startswith("/") else "/") + url


def _parse_times(raw: list[str], numbers: list[int]) -> pd.Series:
    """Parse the feed's datetimes into time zone aware Europe/Stockholm Timestamps."""
    padded = pd.Series(
        [_ONE_DIGIT_HOUR_RE.sub(r"\1 0\2:", " ".join(t.split())) for t in raw], dtype=object
    )
    times = pd.to_datetime(padded, format=_DATETIME_FORMAT, utc=True, errors="coerce")
    bad = times.isna().to_numpy().nonzero()[0]
    if len(bad):
        i = int(bad[0])
        raise PoliceFormatError(
            f"Händelse {numbers[i]}: fältet 'datetime' har ett ogiltigt värde {raw[i]!r} "
            "(väntade till exempel '2026-01-17 07:24:39 +01:00').",
            numbers[i],
            "datetime",
        )
    return times.dt.tz_convert(LOCAL_TZ)


def event_time_from_name(name: object, published: pd.Timestamp) -> pd.Timestamp | None:
    """Return the time an event happened, read from its ``name``, or None.

    ``name`` starts with day, Swedish month name and clock time ("17 januari 23.39, …");
    the year is the one (publication year, the year before or after) that puts the
    time nearest to ``published`` (time zone aware). The time is Stockholm local time.
    Returns None when the name does not start that way or names no real date.
    """
    if not isinstance(name, str):
        return None
    match = _NAME_TIME_RE.match(name)
    if match is None:
        return None
    month = SWEDISH_MONTHS.get(match["month"].casefold())
    day, hour, minute = int(match["day"]), int(match["hour"]), int(match["minute"])
    if month is None or hour > 23 or minute > 59:
        return None
    local = published.tz_convert(LOCAL_TZ)
    best = None
    for year in (local.year - 1, local.year, local.year + 1):
        try:
            naive = pd.Timestamp(year=year, month=month, day=day, hour=hour, minute=minute)
        except ValueError:  # 30 februari, or 29 februari outside a leap year
            continue
        when = naive.tz_localize(LOCAL_TZ, ambiguous=True, nonexistent="shift_forward")
        if best is None or abs(when - local) < abs(best - local):
            best = when
    return best


def _event_times(published: pd.Series, names: list[object]) -> tuple[pd.Series, int]:
    """Event times from the names, else the publication times; and how many fell back."""
    times = []
    fallback = 0
    for name, when in zip(names, published, strict=True):
        parsed = event_time_from_name(name, when)
        if parsed is None:
            fallback += 1
            parsed = when
        times.append(parsed)
    return pd.Series(pd.DatetimeIndex(times, tz=LOCAL_TZ)), fallback


def read_police_events(
    path: str | Path,
    stadsdelar: geopandas.GeoDataFrame | None = None,
) -> tuple[geopandas.GeoDataFrame, PoliceReport]:
    """Read a police events JSON file into incident rows, with a report.

    Returns one row per event (in file order; a repeated id is kept once) with the
    columns ``id`` (``"polisen:<event id>"``), ``occurred_at`` (time zone aware,
    Europe/Stockholm: the time in the event's ``name``, see :func:`event_time_from_name`,
    else the publication time ``datetime``), ``category`` (a code of
    :data:`layers.core.schema.INCIDENT_CATEGORIES`), ``source`` (``"polisen"``),
    ``precision`` (``"stadsdel"`` when the summary names a place in Stockholm,
    else ``"kommun"``), ``victim_gender`` (None: the feed never says), ``description``
    (the summary and the event's absolute URL on polisen.se), ``stadsdel`` (the code of
    the stadsdel found, else None) and ``geometry`` in EPSG:3011: the stadsdel's
    representative point, or the municipality point from the feed. Neither is an exact
    place; the ``precision`` column says so.

    ``stadsdelar`` (columns ``code``, ``name``, ``geometry``) defaults to
    ``geodata.stadsdelar()``. Raises :class:`PoliceFormatError`, with a Swedish message
    naming the event and the field, for a file that is not a JSON list of events or an
    event without ``id``, ``datetime``, ``type`` or ``location.gps``.
    """
    path = Path(path)
    events = _load_events(path)
    if stadsdelar is None:
        matcher, points = default_places()
    else:
        matcher, points = places_from(stadsdelar)

    ids: list[str] = []
    numbers: list[int] = []
    raw_times: list[str] = []
    names: list[object] = []
    categories: list[str] = []
    stadsdel_codes: list[str | None] = []
    descriptions: list[str] = []
    lons: list[float] = []
    lats: list[float] = []
    seen: set[str] = set()
    unknown: Counter[str] = Counter()
    n_duplicates = 0

    for number, raw in enumerate(events, start=1):
        event = _check_event(number, raw)
        event_id = f"{SOURCE}:{str(event['id']).strip()}"
        lon, lat = _parse_gps(number, event.get("location"))
        if event_id in seen:
            n_duplicates += 1
            continue
        seen.add(event_id)

        event_type = " ".join(event["type"].split())
        category = police_category(event_type)
        if category is None:
            unknown[event_type] += 1
            category = "ovrigt"

        summary = event.get("summary")
        summary = " ".join(summary.split()) if isinstance(summary, str) else ""
        code = None
        location = event.get("location")
        municipality = location.get("name") if isinstance(location, dict) else None
        if isinstance(municipality, str) and place_key(municipality) == STOCKHOLM:
            code = matcher.find(summary) or matcher.find(_place_text(event))

        url = _absolute_url(event.get("url"))
        ids.append(event_id)
        numbers.append(number)
        raw_times.append(event["datetime"])
        names.append(event.get("name"))
        categories.append(category)
        stadsdel_codes.append(code)
        descriptions.append(f"{summary}\n{url}".strip() if url else summary)
        lons.append(lon)
        lats.append(lat)

    published = _parse_times(raw_times, numbers)
    occurred_at, n_time_fallback = _event_times(published, names)
    municipality_points = geopandas.GeoSeries.from_xy(lons, lats, crs=WEB_EPSG).to_crs(STORE_EPSG)
    placed = pd.Series(stadsdel_codes, dtype=object).notna().to_numpy()
    geometry = municipality_points.to_numpy()
    if placed.any():
        placed_codes = [c for c in stadsdel_codes if c is not None]
        geometry[placed] = points.loc[placed_codes].to_numpy()

    frame = geopandas.GeoDataFrame(
        {
            "id": ids,
            "occurred_at": occurred_at.reset_index(drop=True),
            "category": categories,
            "source": SOURCE,
            "precision": ["stadsdel" if p else "kommun" for p in placed],
            "victim_gender": pd.Series([None] * len(ids), dtype=object),
            "description": descriptions,
            "stadsdel": pd.Series(stadsdel_codes, dtype=object),
        },
        geometry=geopandas.GeoSeries(geometry, crs=STORE_EPSG),
        crs=STORE_EPSG,
    )

    n_stadsdel = int(placed.sum())
    report = PoliceReport(
        n_events=len(frame),
        n_stadsdel=n_stadsdel,
        n_kommun=len(frame) - n_stadsdel,
        unknown_types=dict(unknown),
        n_duplicates=n_duplicates,
        n_time_from_published=n_time_fallback,
    )
    if unknown:
        LOGGER.warning("unknown police event types read as 'ovrigt': %s", dict(unknown))
    LOGGER.info(
        "read %d police events from %s: %d in a stadsdel, %d at municipality level",
        report.n_events,
        path,
        report.n_stadsdel,
        report.n_kommun,
    )
    return frame, report
