"""Findings read by filter, times to fix, owner lists and the upload template."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers.core.schema import (
    FINDING_CATEGORIES,
    FINDING_STATUSES,
    FINDINGS,
    LOCAL_TZ,
    OPEN_STATUSES,
    OWNERS,
    WEB_EPSG,
)
from layers.domain.findings.records import CATEGORY_LABELS
from layers.indicators.asof import days_to_fix
from layers.io.exporters import export_frame, spreadsheet_safe
from layers.store.base import Query, Store


@dataclass(frozen=True)
class FindingFilter:
    """The list's filters; an empty tuple means "all"."""

    status: tuple[str, ...] = ()
    owner: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    sdo_code: tuple[str, ...] = ()
    walk_id: tuple[str, ...] = ()

    @classmethod
    def from_values(cls, get: Callable[[str], list[str]]) -> FindingFilter:
        """Build a filter from request-like values (``get(name)`` returns a list).

        Unknown statuses, owners and categories are ignored.
        """
        def pick(name: str, allowed: Iterable[str] | None = None) -> tuple[str, ...]:
            values = [v.strip() for v in get(name) if v and v.strip()]
            if allowed is not None:
                allowed = set(allowed)
                values = [v for v in values if v in allowed]
            return tuple(dict.fromkeys(values))

        return cls(status=pick("status", FINDING_STATUSES), owner=pick("owner", OWNERS),
                   category=pick("category", CATEGORY_LABELS), sdo_code=pick("sdo"),
                   walk_id=pick("walk"))

    def query(self) -> Query:
        where = {name: values for name, values in (
            ("status", self.status), ("owner", self.owner), ("category", self.category),
            ("sdo_code", self.sdo_code), ("walk_id", self.walk_id)) if values}
        return Query(where=where)

    def args(self) -> dict[str, list[str]]:
        """The filter as query-string values (for links that keep it)."""
        return {k: list(v) for k, v in (("status", self.status), ("owner", self.owner),
                                         ("category", self.category), ("sdo", self.sdo_code),
                                         ("walk", self.walk_id)) if v}


def read_findings(store: Store, flt: FindingFilter | None = None) -> gpd.GeoDataFrame:
    """Findings matching a filter, the most recently recorded first."""
    frame = store.read("findings", (flt or FindingFilter()).query())
    return frame.sort_values(["created_at", "found_at", "id"], ascending=[False, False, True],
                             kind="stable", na_position="last").reset_index(drop=True)


def area_choices(store: Store) -> dict[str, str]:
    """Stadsdelsområden that have findings: code -> name, by name."""
    frame = store.read("findings")
    pairs = frame[["sdo_code", "sdo_name"]].dropna().drop_duplicates("sdo_code")
    return dict(sorted(zip(pairs["sdo_code"], pairs["sdo_name"], strict=True),
                       key=lambda kv: kv[1]))


def fix_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per owner: open, fixed and rejected findings and the median days to fix."""
    columns = ["owner", "label", "open", "fixed", "rejected", "median_days"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    work = pd.DataFrame({
        "owner": frame["owner"].fillna("").astype(str),
        "status": frame["status"],
        "days": days_to_fix(frame),
    })
    rows = []
    for owner, group in work.groupby("owner", sort=False):
        rows.append({
            "owner": owner,
            "label": OWNERS.get(owner, "ingen ansvarig") if owner else "ingen ansvarig",
            "open": int(group["status"].isin(OPEN_STATUSES).sum()),
            "fixed": int((group["status"] == "atgardad").sum()),
            "rejected": int((group["status"] == "avvisad").sum()),
            "median_days": float(group["days"].median()) if group["days"].notna().any()
            else None,
        })
    return pd.DataFrame(rows, columns=columns).sort_values("label").reset_index(drop=True)


#: The columns of an owner's list: (Swedish header, how to get it from the findings).
OWNER_LIST_HEADERS = ("id", "datum", "kategori", "allvarlighet", "beskrivning", "ansvarig",
                      "status", "status ändrad", "åtgärdad", "dagar till åtgärd", "stadsdel",
                      "stadsdelsområde", "vandring", "breddgrad", "längdgrad")


def _local_text(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values, utc=True).dt.tz_convert(LOCAL_TZ)
    return ts.dt.strftime("%Y-%m-%d %H:%M").astype(object).where(ts.notna(), None)


def owner_list(frame: gpd.GeoDataFrame,
               stadsdel_names: dict[str, str] | None = None) -> pd.DataFrame:
    """The findings as a work list with Swedish headers and labels (one row a finding).

    The place is a point in WGS 84 (a line's point on the line), 6 decimals (10 cm);
    ``stadsdel_names`` maps stadsdel codes to the names shown.
    """
    points = frame.geometry.copy()
    lines = points.notna() & (points.geom_type != "Point")
    if lines.any():
        points[lines] = points[lines].representative_point()
    wgs = points.to_crs(WEB_EPSG) if len(points) else points
    out = pd.DataFrame({
        "id": frame["id"],
        "datum": _local_text(frame["found_at"]),
        "kategori": frame["category"].map(CATEGORY_LABELS).fillna(frame["category"]),
        "allvarlighet": frame["severity"],
        "beskrivning": frame["description"],
        "ansvarig": frame["owner"].map(OWNERS),
        "status": frame["status"].map(FINDING_STATUSES),
        "status ändrad": _local_text(frame["status_changed_at"]),
        "åtgärdad": _local_text(frame["fixed_at"]),
        "dagar till åtgärd": days_to_fix(frame),
        "stadsdel": frame["stadsdel"].map(stadsdel_names).fillna(frame["stadsdel"])
        if stadsdel_names else frame["stadsdel"],
        "stadsdelsområde": frame["sdo_name"],
        "vandring": frame["walk_id"],
        "breddgrad": wgs.y.round(6) if len(wgs) else [],
        "längdgrad": wgs.x.round(6) if len(wgs) else [],
    }, columns=list(OWNER_LIST_HEADERS))
    return out


def owner_list_csv(frame: gpd.GeoDataFrame,
                   stadsdel_names: dict[str, str] | None = None) -> bytes:
    """An owner's list as CSV for Excel: ``;``, decimal commas, UTF-8 with BOM, no formulas."""
    table = spreadsheet_safe(owner_list(frame, stadsdel_names))
    text = table.to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")


def owner_list_gpkg(frame: gpd.GeoDataFrame, path: Path) -> None:
    """An owner's list as a GeoPackage layer ``findings`` (the schema's fields + days)."""
    out = frame.copy()
    out["days_to_fix"] = days_to_fix(frame)
    export_frame(out, path, FINDINGS.name)


TEMPLATE_HEADERS = ("datum", "kategori", "allvarlighet", "beskrivning", "ansvarig",
                    "breddgrad", "längdgrad", "vandring", "id")


def template_csv() -> bytes:
    """The CSV template for a walk's findings, Swedish headers and one example row."""
    example = ("2025-05-14 21:30", "belysning", "3",
               "EXEMPEL (ta bort raden): trasig gatlampa vid gångvägen", "trafikkontoret",
               "59,40312", "17,94460", "", "")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerow(example)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_help() -> list[tuple[str, str]]:
    """What each template column means, for the upload page."""
    return [
        ("datum", "när fyndet gjordes: ÅÅÅÅ-MM-DD TT:MM (svensk tid)"),
        ("kategori", ", ".join(c.label for c in FINDING_CATEGORIES)),
        ("allvarlighet", "1 (låg), 2 (medel) eller 3 (hög)"),
        ("beskrivning", "vad som gör platsen otrygg (valfri, högst 4000 tecken)"),
        ("ansvarig", ", ".join(OWNERS.values()) + " (valfri)"),
        ("breddgrad, längdgrad", "platsen i WGS 84, t.ex. 59,40312 och 17,94460"),
        ("vandring", "valfri; annars den vandring du väljer nedan"),
        ("id", "valfritt eget id; samma id laddas aldrig upp två gånger"),
    ]
