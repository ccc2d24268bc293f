"""Stores for the layers, picked by configuration: GeoPackage (default) or PostGIS;
with their migrations, backup and restore, and the session and last-use bookkeeping.

May import: ``layers.core`` only. No module outside this package imports a backend.
"""

from __future__ import annotations

import os
from pathlib import Path

from layers.store.base import DEFAULT_BUSY_TIMEOUT, Query, Store, StoreBusy, WriteResult
from layers.store.geopackage import GeoPackageStore

__all__ = ["Query", "Store", "StoreBusy", "WriteResult", "GeoPackageStore", "open_store",
           "store_location"]

DATABASE_ENV = "TRYGGHETSKARTAN_DATABASE"
DATA_DIR_ENV = "TRYGGHETSKARTAN_DATA_DIR"


def store_location(data_dir: str | Path | None, default_dir: str | Path | None) -> str:
    """Find the store the same way for every verb and the web app.

    ``--data-dir`` wins, then ``TRYGGHETSKARTAN_DATABASE`` (a PostGIS URL), then
    ``TRYGGHETSKARTAN_DATA_DIR``, then the Flask instance folder.
    """
    if data_dir:
        return str(data_dir)
    if os.environ.get(DATABASE_ENV):
        return os.environ[DATABASE_ENV]
    if os.environ.get(DATA_DIR_ENV):
        return os.environ[DATA_DIR_ENV]
    if default_dir is None:
        raise ValueError("ingen datamapp angiven")
    return str(default_dir)


def open_store(location: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
               statement_timeout: float | None = None) -> Store:
    """Open the store at a folder / .gpkg path, or a ``postgresql://`` URL.

    ``busy_timeout``: seconds a write waits for another writer's lock before
    :class:`StoreBusy`; ``statement_timeout`` (PostGIS only): seconds any statement
    may run, for the web app, whose requests must end (SQLite reads never wait).
    """
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from layers.store.postgis import PostGISStore

        return PostGISStore(text, busy_timeout=busy_timeout,
                            statement_timeout=statement_timeout)
    return GeoPackageStore(Path(text), busy_timeout=busy_timeout)
