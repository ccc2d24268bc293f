"""The protocol of a trygghetsvandring: what it saw, for whom, from one click.

:func:`build_protocol` gathers a walk's facts (date, time, area, organisers,
darkness), its participants by group, its route and every finding grouped by the
owner who should fix it; :mod:`layers.documents.protocol_render` prints it as PDF
(WeasyPrint), DOCX (python-docx) or HTML. With ``owner`` the protocol holds only
that owner's part, so each owner can be sent their own file; the findings keep
the numbers they have in the whole protocol ("fynd 7" is the same finding in
every version). Findings are numbered in the order they were found.

Photos are read from the data folder's ``photos/`` (already without EXIF, see
:mod:`layers.io.photos`) and shrunk for print.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from PIL import Image

from layers.analysis.darkness import WalkLight
from layers.analysis.places import describe_findings
from layers.core.schema import (
    FINDING_STATUSES,
    LOCAL_TZ,
    OWNERS,
    PARTICIPANT_GROUPS,
    STORE_EPSG,
    WEB_EPSG,
)
from layers.documents.brief import Cell, Row, Table, format_int
from layers.domain.findings import CATEGORY_LABELS, SEVERITY_LABELS
from layers.domain.walks import Walk, load_walk
from layers.io.photos import is_photo_name
from layers.store.base import Store

LOGGER = logging.getLogger(__name__)

#: The owner key of findings nobody owns yet.
NO_OWNER = "ingen"
NO_OWNER_LABEL = "ingen ansvarig angiven"
#: Longest side of a photo in the protocol (pixels).
PHOTO_SIDE = 900


class ProtocolError(ValueError):
    """A protocol cannot be made (unknown walk or owner); the message is Swedish."""


@dataclass(frozen=True)
class ProtocolFinding:
    """One finding as the protocol prints it."""

    number: int
    id: str
    category: str
    severity: str
    severity_value: int | None
    description: str
    status: str
    found_at: str
    lat: float | None
    lon: float | None
    owner: str
    photo: bytes | None = None
    #: where it is in words: the nearest named place and distance, and the stadsdel
    place: str = ""


@dataclass(frozen=True)
class OwnerPart:
    """The findings of one owner, most severe first."""

    key: str
    label: str
    findings: list[ProtocolFinding]


@dataclass
class Protocol:
    """Everything a walk's protocol shows, in print order."""

    walk: Walk
    title: str
    facts: list[tuple[str, str]]
    participants: Table
    summary: Table
    parts: list[OwnerPart]
    owner: str | None = None
    created: dt.date = field(default_factory=dt.date.today)
    demo: bool = False

    @property
    def findings(self) -> list[ProtocolFinding]:
        return [f for part in self.parts for f in part.findings]

    @property
    def owner_label(self) -> str | None:
        if self.owner is None:
            return None
        return NO_OWNER_LABEL if self.owner == NO_OWNER else OWNERS.get(self.owner, self.owner)


def owner_choices() -> dict[str, str]:
    """Owner keys a protocol may be cut to (``ingen``: findings without an owner)."""
    return {**OWNERS, NO_OWNER: NO_OWNER_LABEL}


def _text(value: object) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _photo(photo_dir: Path | None, name: str) -> bytes | None:
    """A stored photo shrunk for print (JPEG), or None when missing or unreadable."""
    if photo_dir is None or not name or not is_photo_name(name):
        return None
    path = photo_dir / name
    if not path.is_file():
        return None
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=80)
            return out.getvalue()
    except OSError:
        LOGGER.warning("photo %s could not be read", path)
        return None


def _findings(store: Store, walk: Walk, photo_dir: Path | None) -> list[ProtocolFinding]:
    frame = walk.findings
    if frame.empty:
        return []
    frame = frame.sort_values(["found_at", "id"], kind="stable").reset_index(drop=True)
    points = frame.geometry.to_crs(WEB_EPSG)
    places = describe_findings(store, frame)
    out = []
    for i, (row, geom, place) in enumerate(zip(frame.itertuples(index=False), points, places,
                                               strict=True), start=1):
        centre = None if geom is None or geom.is_empty else geom.representative_point()
        severity = None if pd.isna(row.severity) else int(row.severity)
        found = pd.Timestamp(row.found_at).tz_convert(LOCAL_TZ) if not pd.isna(row.found_at) \
            else None
        out.append(ProtocolFinding(
            number=i, id=str(row.id),
            category=CATEGORY_LABELS.get(row.category, _text(row.category)),
            severity=SEVERITY_LABELS.get(severity, "") if severity else "",
            severity_value=severity,
            description=_text(row.description),
            status=FINDING_STATUSES.get(_text(row.status), _text(row.status)),
            found_at=f"{found:%Y-%m-%d %H:%M}" if found is not None else "",
            lat=None if centre is None else round(centre.y, 6),
            lon=None if centre is None else round(centre.x, 6),
            owner=_text(row.owner) or NO_OWNER,
            photo=_photo(photo_dir, _text(row.photo)),
            place=place.text,
        ))
    return out


def _parts(findings: list[ProtocolFinding]) -> list[OwnerPart]:
    """Findings grouped by owner, owners in the order of :data:`OWNERS`, nobody last."""
    order = [*OWNERS, NO_OWNER]
    keys = sorted({f.owner for f in findings},
                  key=lambda k: (order.index(k) if k in order else len(order), k))
    labels = owner_choices()
    return [OwnerPart(k, labels.get(k, k), sorted(
        [f for f in findings if f.owner == k],
        key=lambda f: (-(f.severity_value or 0), f.number))) for k in keys]


def _participants_table(walk: Walk) -> Table:
    rows = [Row(g, label.capitalize(), {"n": Cell(format_int(walk.participants[g]),
                                                  walk.participants[g])})
            for g, label in PARTICIPANT_GROUPS.items() if g in walk.participants]
    total = walk.total
    rows.append(Row("total", "Totalt antal deltagare", {
        "n": Cell(format_int(total), total) if total is not None else Cell("uppgift saknas",
                                                                           numeric=False)},
        total=True))
    table = Table("participants", "Deltagare per grupp", "Grupp", [("n", "Antal")], rows)
    table.notes.append("Bara antal, inga namn. Grupperna överlappar (en boende kan också "
                       "räknas bland kvinnor eller unga), så totalen anges för sig.")
    return table


def _summary_table(parts: list[OwnerPart]) -> Table:
    rows = []
    for part in parts:
        high = sum(1 for f in part.findings if f.severity_value == 3)
        rows.append(Row(part.key, part.label.capitalize(), {
            "n": Cell(str(len(part.findings)), len(part.findings)),
            "high": Cell(str(high), high)}))
    n = sum(len(p.findings) for p in parts)
    rows.append(Row("total", "Alla fynd", {
        "n": Cell(str(n), n),
        "high": Cell(str(sum(r.cells["high"].value or 0 for r in rows)))}, total=True))
    return Table("owners", "Fynd per ansvarig", "Ansvarig",
                 [("n", "Fynd"), ("high", "Varav allvarlighet 3 (hög)")], rows)


def _facts(walk: Walk) -> list[tuple[str, str]]:
    row = walk.row
    light: WalkLight | None = walk.light
    time = " – ".join(t for t in (_text(row["start_time"]), _text(row["end_time"])) if t)
    facts = [
        ("Datum", _text(row["date"])),
        ("Tid", time or "uppgift saknas"),
        ("Område", _text(row["area"])),
        ("Stadsdelsområde", _text(row["sdo_code"]) or "uppgift saknas"),
        ("Arrangörer", _text(row["organisers"]) or "uppgift saknas"),
        ("Deltagare", format_int(walk.total) if walk.total is not None else "uppgift saknas"),
        ("Ljus", light.describe().capitalize() if light else "okänt (tid saknas)"),
        ("Rutt", f"{format_int(round(walk.route_length_m))} m" if walk.route is not None
         else "ingen rutt registrerad"),
    ]
    return facts


def build_protocol(store: Store, walk_id: str, *, owner: str | None = None,
                   photo_dir: Path | None = None, area_names: dict[str, str] | None = None
                   ) -> Protocol:
    """Gather a walk's protocol; ``owner`` keeps only that owner's findings."""
    walk = load_walk(store, walk_id)
    if walk is None:
        raise ProtocolError(f"Trygghetsvandringen {walk_id} finns inte.")
    if owner is not None and owner not in owner_choices():
        raise ProtocolError(f"Okänd ansvarig '{owner}'. Välj en av: "
                            f"{', '.join(owner_choices())}.")
    findings = _findings(store, walk, photo_dir)
    parts = _parts(findings)
    if owner is not None:
        parts = [p for p in parts if p.key == owner]
    facts = _facts(walk)
    names = area_names if area_names is not None else _area_names(store)
    facts = [(k, names.get(v, v) if k == "Stadsdelsområde" else v) for k, v in facts]
    n = sum(len(p.findings) for p in parts)
    facts.append(("Fynd i protokollet", str(n) if owner is None else
                  f"{n} av {len(findings)} (bara {owner_choices()[owner]})"))
    title = f"Trygghetsvandring {walk.row['date']} – {walk.row['area']}"
    return Protocol(walk, title, facts, _participants_table(walk), _summary_table(parts),
                    parts, owner, demo=str(walk_id).startswith("demo:"))


def _area_names(store: Store) -> dict[str, str]:
    """Stadsdelsområde code -> name (the newest division's name for a code)."""
    areas = store.read("stadsdelsomraden")
    if areas.empty:
        return {}
    areas = areas.sort_values("valid_from", key=lambda s: s.astype(str))
    return dict(zip(areas["code"], areas["name"], strict=True))


def file_name(protocol: Protocol, fmt: str) -> str:
    """A file name without spaces or Swedish letters: protokoll-2024-10-08-trafikkontoret.pdf."""
    import geodata

    area = geodata.slugify(str(protocol.walk.row["area"]))
    stem = f"protokoll-{protocol.walk.row['date']}-{area}"
    if protocol.owner:
        stem += f"-{protocol.owner}"
    return f"{stem[:120]}.{fmt}"


def findings_frame(protocol: Protocol) -> gpd.GeoDataFrame:
    """The protocol's findings as points in EPSG:3011 with their numbers (for the map)."""
    rows = [f for f in protocol.findings if f.lat is not None]
    frame = gpd.GeoDataFrame(
        {"number": [f.number for f in rows], "owner": [f.owner for f in rows]},
        geometry=gpd.points_from_xy([f.lon for f in rows], [f.lat for f in rows]),
        crs=WEB_EPSG)
    return frame.to_crs(STORE_EPSG)
