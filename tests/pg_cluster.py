"""Start a throwaway PostgreSQL + PostGIS cluster for the tests.

The cluster lives in a temporary folder, listens on a free port on 127.0.0.1 only,
trusts every local connection and is deleted when stopped. As root it runs as the
``postgres`` user (``runuser -u postgres --``) because PostgreSQL refuses to run as root.

Used by the session fixture ``postgis_url`` in ``tests/conftest.py``; can also be run
by hand to get a database for manual work::

    .venv/bin/python tests/pg_cluster.py      # prints the URL, Ctrl-C stops it
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

LOGGER = logging.getLogger(__name__)

DATABASE = "trygghetskartan_test"
PG_BINARIES = ("initdb", "pg_ctl", "postgres")
# Durability is pointless for a cluster that is deleted after the tests.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
    "timezone": "'Europe/Stockholm'",
}


class PgUnavailable(Exception):
    """PostgreSQL or PostGIS is missing or could not be started; the message says what."""


def _version_key(bindir: Path) -> tuple[int, ...]:
    """Sort key for Debian's /usr/lib/postgresql/<version>/bin folders."""
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name)) or (0,)


def _has_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in PG_BINARIES)


def postgis_control(bindir: Path) -> Path | None:
    """Return where postgis.control should be for the server in ``bindir``, if knowable."""
    bindir = bindir.resolve()
    # Debian: /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15/extension
    if bindir.parent.parent == Path("/usr/lib/postgresql"):
        return Path("/usr/share/postgresql") / bindir.parent.name / "extension/postgis.control"
    pg_config = bindir / "pg_config"
    if os.access(pg_config, os.X_OK):
        result = subprocess.run(
            [str(pg_config), "--sharedir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            return Path(result.stdout.strip()) / "extension/postgis.control"
    return None


def find_bindir() -> Path:
    """Find the folder with initdb, pg_ctl and postgres, preferring one with PostGIS.

    ``TRYGGHETSKARTAN_PG_BINDIR`` overrides the search. Raises PgUnavailable.
    """
    override = os.environ.get("TRYGGHETSKARTAN_PG_BINDIR")
    if override:
        candidates = [Path(override)]
    else:
        candidates = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True
        )
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    usable = [c for c in candidates if _has_binaries(c)]
    if not usable:
        where = override or "/usr/lib/postgresql/*/bin or PATH"
        raise PgUnavailable(
            f"PostgreSQL server binaries ({', '.join(PG_BINARIES)}) not found in {where}; "
            "install Debian's postgresql and postgis packages"
        )
    for bindir in usable:
        control = postgis_control(bindir)
        if control is None or control.is_file():
            return bindir
    control = postgis_control(usable[0])
    raise PgUnavailable(
        f"PostGIS extension files for the PostgreSQL in {usable[0]} not found ({control}); "
        "install Debian's postgis package (postgresql-NN-postgis-3)"
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgCluster:
    """A throwaway cluster: ``start()`` returns the database URL, ``stop()`` deletes all."""

    def __init__(self, bindir: Path | None = None, database: str = DATABASE) -> None:
        self.bindir = bindir or find_bindir()
        self.database = database
        self.root: Path | None = None
        self.port: int | None = None
        self.run_as: str | None = None
        self._running = False

    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _command(self, *args: str) -> list[str]:
        if self.run_as:
            return ["runuser", "-u", self.run_as, "--", *args]
        return list(args)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        # cwd matters: as another user, root's working folder may not be readable.
        return subprocess.run(
            self._command(*args),
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def _prepare_root(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="trygghetskartan-pg-"))
        if os.geteuid() != 0:
            return
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise PgUnavailable(
                "running as root but there is no 'postgres' user to run PostgreSQL as; "
                "install Debian's postgresql package"
            ) from None
        if not shutil.which("runuser"):
            raise PgUnavailable("running as root but runuser (util-linux) is missing")
        os.chown(self.root, user.pw_uid, user.pw_gid)
        self.run_as = "postgres"

    def _initdb(self) -> None:
        result = self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.datadir),
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        if result.returncode != 0:
            raise PgUnavailable(f"initdb failed:\n{result.stdout}{result.stderr}")

    def _configure(self, port: int) -> None:
        settings = dict(SERVER_SETTINGS, port=str(port))
        settings["unix_socket_directories"] = f"'{self.root}'"
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        # postgresql.auto.conf is read last, so it wins over earlier runs' settings.
        with open(self.datadir / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
            conf.write(lines)

    def _pg_ctl_start(self) -> subprocess.CompletedProcess[str]:
        return self._run(
            str(self.bindir / "pg_ctl"),
            "-D", str(self.datadir),
            "-l", str(self.root / "server.log"),
            "-w", "-t", "60",
            "start",
        )

    def _server_log(self) -> str:
        assert self.root is not None
        try:
            return (self.root / "server.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def start(self) -> str:
        """Create, start and fill the cluster; return the URL of the PostGIS database.

        Raises PgUnavailable with the reason when it cannot.
        """
        started = time.monotonic()
        self._prepare_root()
        try:
            self._initdb()
            # A free port can be taken between the check and the bind: try again then.
            for _attempt in range(3):
                self.port = free_port()
                self._configure(self.port)
                result = self._pg_ctl_start()
                if result.returncode == 0:
                    self._running = True
                    break
                if "could not bind" not in self._server_log():
                    break
            if not self._running:
                raise PgUnavailable(
                    f"pg_ctl start failed:\n{result.stdout}{result.stderr}\n{self._server_log()}"
                )
            self._create_database()
        except BaseException:
            self.stop()
            raise
        LOGGER.info("PostGIS test cluster at %s (%.1f s)", self.url, time.monotonic() - started)
        return self.url

    def _create_database(self) -> None:
        import psycopg

        admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        with psycopg.connect(self.url, autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.Error as exc:
                raise PgUnavailable(
                    f"CREATE EXTENSION postgis failed in the PostgreSQL of {self.bindir}: "
                    f"{exc}; install the postgis package that matches this server version"
                ) from exc

    def stop(self) -> None:
        """Stop the server (if running) and delete its folder."""
        if self._running:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "stop")
            self._running = False
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Start a cluster, print its URL, and stop it on Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        cluster = PgCluster()
        url = cluster.start()
    except PgUnavailable as exc:
        LOGGER.error("%s", exc)
        return 1
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"export TRYGGHETSKARTAN_TEST_DATABASE={url}", flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
