"""Schema versions and upgrades of a store (``trygghetskartan migrate``).

Every store records the version of its schema (``store_meta``, see
:data:`layers.core.schema.SCHEMA_VERSION`); a store made by release 0.1.0 has none and
counts as version 1. The web app and the CLI refuse a store whose version differs
from the code's (:func:`check`): an older one is upgraded by ``migrate`` (a backup
first, then every step in one transaction or on a copy swapped in), a newer one
needs newer code. Steps never drop data: they add tables and columns and fill in
values the code used to derive on the fly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from layers.core.errors import StoreError
from layers.core.schema import SCHEMA_VERSION
from layers.store.backup import backup
from layers.store.base import Migration, Store

LOGGER = logging.getLogger(__name__)

#: The steps, oldest first. ``Migration.version`` is the version the step leads to.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=2,
        description=(
            "Ändringslogg (audit_log); API-nycklar utan förfallodag får skapad + 365 dagar, "
            "utan återkallad-flagga får nej; användare utan aktiv-flagga blir aktiva."
        ),
        sql={
            "geopackage": (
                # stored as the GeoPackage's ISO 8601 UTC text with milliseconds
                "UPDATE api_tokens SET expires_at = "
                "strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '+365 days') "
                "WHERE expires_at IS NULL AND created_at IS NOT NULL",
                "UPDATE api_tokens SET revoked = 0 WHERE revoked IS NULL",
                "UPDATE users SET active = 1 WHERE active IS NULL",
            ),
            "postgis": (
                "UPDATE api_tokens SET expires_at = created_at + interval '365 days' "
                "WHERE expires_at IS NULL AND created_at IS NOT NULL",
                "UPDATE api_tokens SET revoked = false WHERE revoked IS NULL",
                "UPDATE users SET active = true WHERE active IS NULL",
            ),
        },
    ),
    Migration(
        version=3,
        description=(
            "EST-cykeln: problemregister (problems), handlingsplan (actions) och dess "
            "historik (action_history); nya tomma tabeller, inga rader ändras."
        ),
        # initialize() creates the tables; the version says they are there
        sql={"geopackage": (), "postgis": ()},
    ),
    Migration(
        version=4,
        description=(
            "PostGIS: rutnätets summatabell (incident_cells: händelser per 250 m-ruta, "
            "månad, kategori och stadsdelsområde) skapas och fylls från händelserna."
        ),
        # the PostGIS store creates and fills the table as it brings its tables up
        # to the code's schema (initialize), before the steps; the GeoPackage has none
        sql={},
    ),
    Migration(
        version=5,
        description=(
            "PostGIS: ett rumsligt index på händelsernas plats och tid tillsammans "
            "(GiST på geom och occurred_at, med tillägget btree_gist), så att en ruta och "
            "en period läses utan att gå igenom hela periodens eller rutans händelser."
        ),
        # initialize() creates btree_gist and the index (CREATE INDEX IF NOT EXISTS)
        # as it brings the tables up to the code's schema; the GeoPackage has none
        sql={},
    ),
)


class StoreVersionError(StoreError):
    """The store's schema is not the code's: migrate it, or run newer code."""


@dataclass(frozen=True)
class Plan:
    """What ``migrate`` would do to one store."""

    current: int
    target: int
    steps: tuple[Migration, ...]

    @property
    def needed(self) -> bool:
        return bool(self.steps)

    def describe(self) -> str:
        """The plan in Swedish, one line per step."""
        if self.current > self.target:
            return (f"Lagret har schemaversion {self.current}, nyare än programmets "
                    f"{self.target}: uppgradera Trygghetskartan i stället.")
        if not self.steps:
            return (f"Inget att göra: lagret har redan schemaversion {self.current} "
                    "(den senaste).")
        lines = [f"Lagret har schemaversion {self.current}; programmet använder {self.target}. "
                 "Steg:"]
        lines += [f"  {s.version}: {s.description}" for s in self.steps]
        return "\n".join(lines)


def plan(store: Store, target: int = SCHEMA_VERSION) -> Plan:
    """The steps that bring ``store`` to ``target`` (none for a blank or current store)."""
    current = store.schema_version()
    if current == 0:  # blank: initialize() creates the current schema
        return Plan(target, target, ())
    steps = tuple(m for m in MIGRATIONS if current < m.version <= target)
    return Plan(current, target, steps)


def check(store: Store) -> None:
    """Refuse (StoreVersionError, in Swedish) a store that is not at the code's version."""
    current = store.schema_version()
    if current in (0, SCHEMA_VERSION):
        return
    if current > SCHEMA_VERSION:
        raise StoreVersionError(
            f"Lagret har schemaversion {current} men den här versionen av Trygghetskartan "
            f"kan bara läsa version {SCHEMA_VERSION}. Uppgradera programmet (eller återställ "
            "en säkerhetskopia gjord med den här versionen).")
    raise StoreVersionError(
        f"Lagret har schemaversion {current}, äldre än programmets {SCHEMA_VERSION}. "
        "Be administratören köra `trygghetskartan migrate` (den gör en säkerhetskopia "
        "först); `trygghetskartan migrate --dry-run` visar vad som ändras.")


def checked(store: Store) -> Store:
    """Return ``store`` when its version is the code's; else close it and raise."""
    try:
        check(store)
    except StoreError:
        store.close()
        raise
    return store


def migrate(store: Store, backup_dir: Path | None, *, dry_run: bool = False) -> Plan:
    """Upgrade ``store`` to the code's version; return the plan that was carried out.

    A backup goes to ``backup_dir`` first (None: no backup, for tests and for
    operators who just made one). A store newer than the code raises
    StoreVersionError and is left alone.
    """
    todo = plan(store)
    if todo.current > todo.target:
        raise StoreVersionError(todo.describe())
    if dry_run or not todo.needed:
        return todo
    if backup_dir is not None:
        made = backup(store, Path(backup_dir), label=f"fore-migrering-v{todo.current}")
        LOGGER.info("backup before migration written to %s", made)
    store.upgrade(list(todo.steps), todo.target)
    LOGGER.info("store migrated from version %d to %d", todo.current, todo.target)
    return todo
