"""Backups of a store and restoring them (``trygghetskartan backup DIR`` / ``restore``).

A backup is a folder ``trygghetskartan-<time>[-<label>]`` with the store's copy
(``store.gpkg``: SQLite's online backup of the GeoPackage; ``store.pgdump``:
``pg_dump --format=custom`` of the PostGIS tables), the photos folder when the
store has one, and ``manifest.json``: backend, schema version, program version,
time and the row count of every table. ``restore`` copies it into a store and
then checks that every table has the rows the manifest lists.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from layers.core import audit, clock
from layers.core.errors import StoreError
from layers.core.schema import ATTRIBUTE_TABLES, SCHEMA_VERSION, SPATIAL_LAYERS
from layers.store.base import Store

LOGGER = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: The copy's file name per backend.
STORE_FILES = {"geopackage": "store.gpkg", "postgis": "store.pgdump"}
PHOTOS = "photos"


def _version() -> str:
    try:
        return metadata.version("trygghetskartan")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "okänd"


def row_counts(store: Store) -> dict[str, int]:
    """Rows per table of every layer and table the schema knows and the store has
    (a store of an older schema version lacks the newer tables)."""
    counts = {}
    for name in (*SPATIAL_LAYERS, *ATTRIBUTE_TABLES):
        try:
            counts[name] = store.count(name)
        except Exception:  # noqa: BLE001 - the backend's "no such table"
            LOGGER.info("table %s not in %r", name, store)
    return counts


@dataclass(frozen=True)
class Restored:
    """What ``restore`` put back: the backup's manifest and the rows now stored."""

    manifest: dict
    counts: dict[str, int]


def backup(store: Store, folder: Path, *, label: str = "",
           photos: Path | None = None) -> Path:
    """Write a backup of ``store`` (and its ``photos`` folder) under ``folder``.

    Returns the new backup folder. The store stays in use meanwhile.
    """
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    name = f"trygghetskartan-{stamp}" + (f"-{label}" if label else "")
    target = Path(folder) / name
    n = 1
    while target.exists():
        n += 1
        target = Path(folder) / f"{name}-{n}"
    target.mkdir(parents=True)
    try:
        counts = row_counts(store)
        store.backup_to(target / STORE_FILES[store.kind])
        if photos is not None and Path(photos).is_dir():
            shutil.copytree(photos, target / PHOTOS)
        manifest = {"kind": store.kind, "schema_version": store.schema_version(),
                    "program_version": _version(), "created_at": clock.now().isoformat(),
                    "counts": counts}
        (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                       encoding="utf-8")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    LOGGER.info("backup of %r written to %s", store, target)
    return target


def read_manifest(folder: Path) -> dict:
    """The manifest of a backup folder; StoreError (Swedish) when it is not one."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise StoreError(f"{folder} är ingen säkerhetskopia från Trygghetskartan "
                         f"({MANIFEST} saknas).")
    return json.loads(path.read_text(encoding="utf-8"))


def restore(store: Store, folder: Path, *, photos: Path | None = None,
            force: bool = False) -> Restored:
    """Put the backup in ``folder`` into ``store`` and check every table's rows.

    The store must be empty (no incidents, findings, sites, walks or users) unless
    ``force``: a restore replaces everything. The backup must come from the same
    backend and a schema version this code can read (an older one: restore, then
    ``migrate``).
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest["kind"] != store.kind:
        raise StoreError(f"Säkerhetskopian är från ett {manifest['kind']}-lager och kan inte "
                         f"återställas i ett {store.kind}-lager.")
    if int(manifest["schema_version"]) > SCHEMA_VERSION:
        raise StoreError(f"Säkerhetskopian har schemaversion {manifest['schema_version']}, "
                         f"nyare än programmets {SCHEMA_VERSION}.")
    if not force and store.schema_version() > 0 and _has_data(store):
        raise StoreError("Lagret innehåller redan data. Återställ till ett tomt lager, eller "
                         "ange --force för att ersätta allt i det.")
    with audit.paused():
        store.restore_from(folder / STORE_FILES[store.kind])
    if photos is not None and (folder / PHOTOS).is_dir():
        shutil.copytree(folder / PHOTOS, photos, dirs_exist_ok=True)
    counts = row_counts(store)
    wrong = {name: (want, counts.get(name)) for name, want in manifest["counts"].items()
             if counts.get(name) != want}
    if wrong:
        listed = ", ".join(f"{n}: {got} i stället för {want}" for n, (want, got) in wrong.items())
        raise StoreError(f"Återställningen gav fel antal rader ({listed}).")
    return Restored(manifest, counts)


def _has_data(store: Store) -> bool:
    """Does the store hold anything a restore would overwrite?"""
    try:
        return any(store.count(name) for name in
                   ("incidents", "findings", "sites", "walks", "users"))
    except Exception:  # tables missing: an older or partial store counts as data too
        return True
