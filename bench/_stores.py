"""Where a benchmark's store lives: ``--store geopackage`` (a folder) or ``--store postgis``.

Not a benchmark itself (hence the underscore). PostGIS: the server of
``TRYGGHETSKARTAN_DATABASE`` when it is set, else a throwaway cluster started for the
run exactly as the tests start one (``tests/pg_cluster.py``: Debian's PostgreSQL and
PostGIS, deleted at the end). Each store gets its own schema in that database, so
several stores (one per repeated run) live side by side and a kept one can be reused.
Everything goes through :func:`layers.store.open_store`, like the app.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORE_KINDS = ("geopackage", "postgis")
_SERVERS: dict[int, str] = {}


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--store {geopackage,postgis}`` to a benchmark's arguments."""
    parser.add_argument(
        "--store", choices=STORE_KINDS, default="geopackage",
        help="the store backend (default geopackage); postgis uses TRYGGHETSKARTAN_DATABASE "
             "or a throwaway cluster started for the run")


def postgis_server(stack: contextlib.ExitStack) -> str:
    """URL of the PostGIS database of this run (started once per ``stack``)."""
    if id(stack) in _SERVERS:
        return _SERVERS[id(stack)]
    url = os.environ.get("TRYGGHETSKARTAN_DATABASE")
    if not url:
        sys.path.insert(0, str(ROOT / "tests"))
        from pg_cluster import PgCluster

        cluster = PgCluster()
        url = cluster.start()
        stack.callback(cluster.stop)
        print(f"throwaway PostgreSQL cluster for this run: {url}")
    _SERVERS[id(stack)] = url
    stack.callback(_SERVERS.pop, id(stack), None)
    return url


def schema_url(server: str, schema: str, *, fresh: bool) -> str:
    """URL of the store in ``schema`` of the server's database (emptied when ``fresh``)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server, autocommit=True) as conn:
        if fresh:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    separator = "&" if "?" in server else "?"
    return f"{server}{separator}options=-csearch_path%3D{schema}%2Cpublic"


def store_location(kind: str, folder: Path, name: str, stack: contextlib.ExitStack, *,
                   fresh: bool) -> str:
    """The location :func:`layers.store.open_store` opens for a benchmark's store.

    GeoPackage: ``folder`` (deleted first when ``fresh``); PostGIS: schema ``name``.
    """
    if kind == "geopackage":
        if fresh and folder.exists():
            shutil.rmtree(folder)
        return str(folder)
    return schema_url(postgis_server(stack), name, fresh=fresh)


def app_config(location: str) -> dict[str, str]:
    """The app setting that points the web app at a store location."""
    return {"DATABASE": location} if "://" in location else {"DATA_DIR": location}


class LoadSampler:
    """Samples the machine's 1-minute load average every few seconds during a run
    (the machine is shared: the figures only mean something next to the load)."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        """min / mean / max of the samples so far, as text."""
        s = self.samples or [os.getloadavg()[0]]
        return (f"load average (1 min, {os.cpu_count()} CPUs) min {min(s):.1f} / "
                f"mean {sum(s) / len(s):.1f} / max {max(s):.1f} over {len(s)} samples")
