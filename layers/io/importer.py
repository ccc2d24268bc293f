"""Imports: file → rows of a layer's schema → joins → one transaction in the store.

An import is two steps so the web upload can show a preview first:
:func:`prepare_import` reads, validates and joins without writing, and
:func:`commit_import` writes the valid rows and the import log in one transaction.
The CLI does both at once with :func:`import_file`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers.core.errors import FileRejected, RowError, RowsRejected
from layers.core.schema import IMPORTABLE, LOCAL_TZ, STADSDELAR, LayerSchema
from layers.io.joins import DEFAULT_SITE_DISTANCE_M, DistrictIndex, nearest_site
from layers.io.readers import DEFAULT_MAX_BYTES, read_table
from layers.io.validate import Validated, validate
from layers.store.base import Store
from layers.store.cache import ComputedPerStore

LOGGER = logging.getLogger(__name__)


@dataclass
class PreparedImport:
    """A validated and joined file, ready to be committed (or shown as a preview)."""

    layer: str
    file_name: str
    checksum: str
    source: str
    frame: gpd.GeoDataFrame
    rows: list[int]
    errors: list[RowError]
    n_read: int
    #: row numbers of valid rows that lie in Sweden but outside every stadsdel
    outside: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportReport:
    """What an import did, for the CLI, the web page and the import log."""

    layer: str
    file_name: str
    checksum: str
    n_read: int
    inserted: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    outside: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: str = "loaded"

    def summary_sv(self) -> str:
        """A Swedish summary of the import, one fact a line."""
        layer = IMPORTABLE[self.layer].label if self.layer in IMPORTABLE else self.layer
        lines = [f"Fil: {self.file_name} ({self.n_read} rader lästa, lager {layer})"]
        if self.status == "rejected":
            lines.append(f"AVVISAD: {len(self.errors)} fel. Inget sparades.")
        else:
            lines.append(f"{self.inserted} nya rader sparade, {self.unchanged} fanns redan "
                         "(samma id) och ändrades inte.")
            if self.errors:
                lines.append(f"{len(self.errors)} fel: de raderna sparades inte.")
        if self.outside:
            shown = ", ".join(str(r) for r in self.outside[:20])
            more = " …" if len(self.outside) > 20 else ""
            lines.append(f"{len(self.outside)} rader ligger utanför Stockholms stadsdelar "
                         f"(sparade utan stadsdel): rad {shown}{more}")
        lines += self.notes
        lines += [f"  {e}" for e in self.errors[:200]]
        if len(self.errors) > 200:
            lines.append(f"  … och {len(self.errors) - 200} fel till")
        return "\n".join(lines)


def file_checksum(path: Path) -> str:
    """Return the sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def district_index(store: Store) -> DistrictIndex:
    """The district index of the store's reference layers, built once per version of
    them (every upload joins against it; a findings upload leaves it as it was)."""
    key = ("district-index", store.layer_version(_DISTRICT_LAYERS))
    return _DISTRICT_INDEXES.get(store, key, lambda: DistrictIndex(
        store.read("stadsdelar"), store.read("stadsdelsomraden")))


_DISTRICT_LAYERS = ("stadsdelar", "stadsdelsomraden")
#: Built indexes per store (read-only once built, so threads share them).
_DISTRICT_INDEXES = ComputedPerStore(2, 3600.0)


def prepare_import(store: Store, layer: str, path: str | Path, *, crs: int | None = None,
                   source: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                   display_name: str | None = None,
                   site_distance: float = DEFAULT_SITE_DISTANCE_M) -> PreparedImport:
    """Read, validate and join a file without writing anything.

    Raises :class:`FileRejected` when the file as a whole cannot be read.
    """
    path = Path(path)
    name = display_name or path.name
    if layer not in IMPORTABLE:
        raise FileRejected(f"Okänt lager '{layer}'. Välj ett av: {', '.join(IMPORTABLE)}.")
    schema = IMPORTABLE[layer]
    checksum = file_checksum(path) if path.is_file() else ""
    notes: list[str] = []
    if source == "polisen":
        if layer != "incidents":
            raise FileRejected("--source polisen gäller bara lagret incidents.")
        validated, notes = _read_police(path, name)
        source_name = "polisen"
    else:
        source_name = source or "import"
        table = read_table(path, schema, crs=crs, max_bytes=max_bytes, display_name=name)
        validated = validate(table, schema, source=source_name)
        notes = list(table.notes)
    frame = validated.frame
    outside: list[int] = []
    if layer != STADSDELAR.name and len(frame):
        frame = join_layer(store, schema, frame, site_distance)
        outside_mask = frame["sdo_code"].isna().to_numpy().copy()
        if "precision" in frame.columns:
            # police events placed only in the municipality are in the city, not outside
            outside_mask &= frame["precision"].ne("kommun").to_numpy()
        outside = [int(r) for r in validated.rows[outside_mask]]
    return PreparedImport(layer, name, checksum, source_name, frame,
                          [int(r) for r in validated.rows], validated.errors, validated.n_read,
                          outside, notes)


def join_layer(store: Store, schema: LayerSchema, frame: gpd.GeoDataFrame,
               site_distance: float = DEFAULT_SITE_DISTANCE_M, *,
               index: DistrictIndex | None = None,
               sites: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Add stadsdel, stadsdelsområde (and site, for points) to validated rows.

    ``index`` and ``sites`` default to what the store holds; pass them to join
    against rows that are about to be written in the same transaction.
    """
    index = index or district_index(store)
    preset = frame["stadsdel"].copy() if "stadsdel" in frame.columns else None
    frame = index.join(frame, schema.time_field)
    if preset is not None:
        # a reader that knows the stadsdel better than the point (police summaries) wins
        known = preset.notna().to_numpy()
        if known.any():
            frame.loc[known, "stadsdel"] = preset[known]
            when = frame[schema.time_field] if schema.time_field else None
            codes, names = index.area_of(frame["stadsdel"].to_numpy(dtype=object), when)
            frame["sdo_code"], frame["sdo_name"] = codes, names
    if "precision" in frame.columns:
        # a row known only to the municipality (the police put such events on the
        # centre of Stockholm) is in no particular stadsdel
        kommun = frame["precision"].eq("kommun").to_numpy()
        if kommun.any():
            for col in ("stadsdel", "sdo_code", "sdo_name"):
                if col in frame.columns:
                    frame[col] = frame[col].astype(object).where(~kommun, None)
    if "site_id" in schema.names:
        sites = store.read("sites") if sites is None else sites
        points = frame.geometry
        if "precision" in frame.columns:
            # only exactly placed rows can be said to be at a site
            exact = frame["precision"].isin(["exact", "street"]).to_numpy()
            points = points.where(exact, None)
        frame["site_id"] = nearest_site(points, sites, site_distance)
    return frame


def _read_police(path: Path, name: str) -> tuple[Validated, list[str]]:
    from layers.io.polisen import PoliceFormatError, read_police_events

    try:
        frame, report = read_police_events(path)
    except PoliceFormatError as exc:
        raise FileRejected(f"Filen {name}: {exc}") from exc
    except (ValueError, OSError) as exc:
        raise FileRejected(f"Filen {name} kunde inte läsas som polisens händelser: {exc}") \
            from exc
    from layers.core.schema import SENSITIVE_CODES, STRATEGIC_CODES

    frame["strategic"] = frame["category"].isin(STRATEGIC_CODES)
    frame["sensitive"] = frame["category"].isin(SENSITIVE_CODES)
    rows = pd.RangeIndex(1, len(frame) + 1).to_numpy()
    return Validated(frame, rows, [], len(frame)), [report.summary_sv()]


def commit_import(store: Store, prepared: PreparedImport, *, user: str | None = None,
                  allow_partial: bool = False,
                  extra: dict[str, pd.DataFrame] | None = None,
                  log_rejected: bool = True) -> ImportReport:
    """Write a prepared import and its log entry in one transaction.

    With errors and ``allow_partial`` False nothing is written and
    :class:`RowsRejected` is raised after the attempt is logged (not logged with
    ``log_rejected`` False: the web's refused uploads leave no row). ``extra`` rows
    (e.g. the walk an upload of findings belongs to) go into the same transaction.
    """
    report = ImportReport(prepared.layer, prepared.file_name, prepared.checksum,
                          prepared.n_read, errors=prepared.errors, outside=prepared.outside,
                          notes=prepared.notes)
    if prepared.errors and not allow_partial:
        report.status = "rejected"
        if log_rejected:
            store.write({"import_log": log_frame(report, prepared.source, user)})
        raise RowsRejected(prepared.errors, prepared.n_read)
    report.status = "partial" if prepared.errors else "loaded"

    def log_with_counts(results):
        report.inserted = results[prepared.layer].inserted
        report.unchanged = results[prepared.layer].unchanged
        return {"import_log": log_frame(report, prepared.source, user)}

    replace = (prepared.layer,) if prepared.layer == STADSDELAR.name else ()
    store.write({**(extra or {}), prepared.layer: prepared.frame}, replace=replace,
                then=log_with_counts)
    LOGGER.info("imported %s into %s: %d new, %d unchanged", prepared.file_name,
                prepared.layer, report.inserted, report.unchanged)
    return report


def log_frame(report: ImportReport, source: str, user: str | None) -> pd.DataFrame:
    """The import-log row of ``report`` (the importer and walk uploads write it)."""
    now = pd.Timestamp.now(tz=LOCAL_TZ)
    return pd.DataFrame([{
        "id": f"{now.isoformat()}:{report.checksum[:12]}:{report.layer}",
        "layer": report.layer,
        "file_name": report.file_name,
        "checksum": report.checksum,
        "source": source,
        "imported_at": now,
        "imported_by": user,
        "rows_read": report.n_read,
        "rows_loaded": report.inserted,
        "rows_unchanged": report.unchanged,
        "rows_rejected": len(report.errors),
        "rows_outside": len(report.outside),
        "status": report.status,
        "report": report.summary_sv()[:20000],
    }])


def import_file(store: Store, layer: str, path: str | Path, *, crs: int | None = None,
                source: str | None = None, user: str | None = None,
                allow_partial: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                site_distance: float = DEFAULT_SITE_DISTANCE_M) -> ImportReport:
    """Import a file into a layer: all rows or (unless ``allow_partial``) nothing."""
    prepared = prepare_import(store, layer, path, crs=crs, source=source, max_bytes=max_bytes,
                              site_distance=site_distance)
    return commit_import(store, prepared, user=user, allow_partial=allow_partial)
