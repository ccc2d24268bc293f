"""Schema versions and ``trygghetskartan migrate`` (issue 13, acceptance 5).

``tests/data/store-0.1.0/`` is a store written by release 0.1.0 (a reduced demo: 400
incidents, 86 findings, 8 sites, 6 walks, three users, tokens, a measure and a log
entry; see ``tests/data/README.md``). Migrating it must keep every row of every
layer, with the same values, and the app must refuse it until it is migrated.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_test_app
from infra import login

from layers.core.schema import ATTRIBUTE_TABLES, SCHEMA_VERSION, SPATIAL_LAYERS
from layers.store import open_store
from layers.store.migrate import MIGRATIONS, StoreVersionError, check, migrate, plan
from mapapp.cli import cli

FIXTURE = Path(__file__).parent / "data" / "store-0.1.0"
#: Tables that came after 0.1.0: audit_log with schema version 2; notify_outbox is a
#: new table that ``initialize`` adds to any store (no version needed); the EST tables
#: (problems, actions, action_history) with schema version 3.
NEWER_TABLES = {"audit_log", "notify_outbox", "problems", "actions", "action_history"}
#: Tables the 0.1.0 store has.
OLD_TABLES = [n for n in (*SPATIAL_LAYERS, *ATTRIBUTE_TABLES) if n not in NEWER_TABLES]


@pytest.fixture
def old_dir(tmp_path: Path) -> Path:
    """A copy of the 0.1.0 store in its own data folder."""
    folder = tmp_path / "old"
    shutil.copytree(FIXTURE, folder)
    return folder


def raw_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every 0.1.0 table, read with plain sqlite3, in fid order."""
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY fid').fetchall()
                for t in OLD_TABLES}
    finally:
        conn.close()


def test_fixture_is_small_and_made_by_0_1_0():
    size = (FIXTURE / "trygghetskartan.gpkg").stat().st_size
    assert size < 2 * 1024 * 1024
    conn = sqlite3.connect(FIXTURE / "trygghetskartan.gpkg")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert "store_meta" not in names and not NEWER_TABLES & names
    assert set(OLD_TABLES) <= names


def test_old_store_is_version_1_and_refused(old_dir: Path):
    store = open_store(old_dir)
    try:
        assert store.schema_version() == 1
        with pytest.raises(StoreVersionError, match="trygghetskartan migrate"):
            check(store)
    finally:
        store.close()
    # create_app and the CLI refuse it too, and say what to do
    with pytest.raises(StoreVersionError, match="äldre än programmets"):
        make_test_app(old_dir)
    result = CliRunner().invoke(cli, ["users", "list", "--data-dir", str(old_dir)])
    assert result.exit_code == 1 and "trygghetskartan migrate" in result.output


def test_an_old_store_swapped_in_under_a_running_app_gets_503(data_dir: Path):
    app = make_test_app(data_dir)  # built on a current store
    shutil.copy(FIXTURE / "trygghetskartan.gpkg", data_dir / "trygghetskartan.gpkg")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert "trygghetskartan migrate" in response.get_data(as_text=True)
    response = app.test_client().get("/api/findings")
    assert response.status_code == 503 and "migrate" in response.get_json()["error"]


def test_migrate_keeps_every_row_of_every_layer(old_dir: Path):
    gpkg = old_dir / "trygghetskartan.gpkg"
    before = raw_rows(gpkg)
    store = open_store(old_dir)
    frames_before = {t: store.read(t) for t in OLD_TABLES}
    assert sum(len(rows) for rows in before.values()) > 600
    assert {t: len(before[t]) for t in ("incidents", "findings", "sites", "walks", "users",
                                        "api_tokens", "site_measures")} == {
        "incidents": 400, "findings": 86, "sites": 8, "walks": 6, "users": 3,
        "api_tokens": 3, "site_measures": 1}
    done = migrate(store, old_dir / "backups")
    assert (done.current, done.target) == (1, SCHEMA_VERSION)
    assert store.schema_version() == SCHEMA_VERSION
    check(store)
    # schema version 3: the EST tables are there, empty
    assert all(store.count(t) == 0 for t in ("problems", "actions", "action_history"))
    after = raw_rows(gpkg)
    for table in OLD_TABLES:
        assert len(after[table]) == len(before[table]), table
        if table not in ("api_tokens", "users"):  # the two tables the step fills in
            # columns added since 0.1.0 (nullable, appended by initialize) are empty
            width = len(before[table][0]) if before[table] else 0
            assert [row[:width] for row in after[table]] == before[table], table
            assert all(v is None for row in after[table] for v in row[width:]), table
        got = store.read(table)
        want = frames_before[table]
        assert list(got["id"] if "id" in got else got.index) == \
            list(want["id"] if "id" in want else want.index), table
    assert store.count("audit_log") == 0
    store.close()
    # the backup made first holds the 0.1.0 store as it was
    (backup,) = (old_dir / "backups").iterdir()
    assert raw_rows(backup / "store.gpkg") == before
    # no leftovers of the copy that was swapped in
    assert sorted(p.name for p in old_dir.iterdir()
                  if p.is_file()) in (["trygghetskartan.gpkg"],
                                      ["trygghetskartan.gpkg", "trygghetskartan.gpkg-shm",
                                       "trygghetskartan.gpkg-wal"])


def test_migration_fills_in_what_0_1_0_left_empty(old_dir: Path):
    store = open_store(old_dir)
    migrate(store, None)
    tokens = store.read("api_tokens")
    assert tokens["expires_at"].notna().all() and tokens["revoked"].notna().all()
    legacy = tokens[tokens["id"] == "0" * 64].iloc[0]
    assert legacy["expires_at"] == pd.Timestamp("2025-03-01 10:00", tz="Europe/Stockholm")
    assert not legacy["revoked"]
    assert tokens["revoked"].sum() == 1  # the token revoked in 0.1.0 stays revoked
    users = store.read("users").set_index("id")
    assert users["active"].to_dict() == {"anna": True, "ivar": True, "gamla": False}
    store.close()


def test_migrated_store_serves_the_app(old_dir: Path):
    result = CliRunner().invoke(cli, ["migrate", "--data-dir", str(old_dir)])
    assert result.exit_code == 0, result.output
    assert f"schemaversion {SCHEMA_VERSION}" in result.output
    app = make_test_app(old_dir)
    client = app.test_client()
    login(client, "anna")
    assert client.get("/admin/users").status_code == 200
    response = client.get("/api/findings?limit=500")
    assert response.status_code == 200 and len(response.get_json()["features"]) == 86


def test_dry_run_changes_nothing(old_dir: Path):
    gpkg = old_dir / "trygghetskartan.gpkg"
    before = raw_rows(gpkg)
    result = CliRunner().invoke(cli, ["migrate", "--dry-run", "--data-dir", str(old_dir)])
    assert result.exit_code == 0, result.output
    assert "schemaversion 1" in result.output and MIGRATIONS[0].description in result.output
    assert raw_rows(gpkg) == before and not (old_dir / "backups").exists()
    store = open_store(old_dir)
    assert store.schema_version() == 1
    store.close()


def test_dry_run_on_a_current_store_has_nothing_to_do(data_dir: Path):
    result = CliRunner().invoke(cli, ["migrate", "--dry-run", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "Inget att göra" in result.output
    result = CliRunner().invoke(cli, ["migrate", "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and "Inget att göra" in result.output
    assert not (data_dir / "backups").exists()


def test_a_store_newer_than_the_code_is_refused(data_dir: Path):
    conn = sqlite3.connect(data_dir / "trygghetskartan.gpkg")
    conn.execute("UPDATE store_meta SET value = ? WHERE key = 'schema_version'",
                 (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(StoreVersionError, match="Uppgradera programmet"):
        make_test_app(data_dir)
    result = CliRunner().invoke(cli, ["migrate", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "nyare än programmets" in result.output
    result = CliRunner().invoke(cli, ["serve", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "Uppgradera programmet" in result.output


def test_a_failing_step_leaves_the_old_store_untouched(old_dir: Path, monkeypatch):
    import layers.store.migrate as migrate_module
    from layers.store.base import Migration

    gpkg = old_dir / "trygghetskartan.gpkg"
    before = raw_rows(gpkg)
    broken = Migration(2, "trasig", {"geopackage": ("UPDATE users SET active = 1",
                                                    "UPDATE no_such_table SET x = 1"),
                                     "postgis": ("UPDATE no_such_table SET x = 1",)})
    monkeypatch.setattr(migrate_module, "MIGRATIONS", (broken,))
    store = open_store(old_dir)
    with pytest.raises(Exception, match="no_such_table"):
        migrate(store, None)
    assert store.schema_version() == 1
    store.close()
    assert raw_rows(gpkg) == before
    assert not list(old_dir.glob("*migrating*"))


def test_blank_store_gets_the_current_version(tmp_path: Path):
    store = open_store(tmp_path / "blank")
    assert store.schema_version() == 0 and not plan(store).needed
    store.initialize()
    assert store.schema_version() == SCHEMA_VERSION
    store.close()


@pytest.mark.postgis
def test_postgis_store_of_0_1_0_migrates_in_one_transaction(old_dir: Path,
                                                           postgis_schema_url: str):
    """A PostGIS store laid out as 0.1.0 did (no store_meta, no audit_log) upgrades."""
    import psycopg

    old = open_store(old_dir)
    store = open_store(postgis_schema_url)
    try:
        store.initialize()
        with psycopg.connect(postgis_schema_url, autocommit=True) as conn:
            conn.execute("DROP TABLE store_meta")
            conn.execute("DROP TABLE audit_log")
            for table in ("problems", "actions", "action_history"):
                conn.execute(f"DROP TABLE {table}")
        assert store.schema_version() == 1
        frames = {t: old.read(t) for t in OLD_TABLES}
        from layers.core import audit

        with audit.paused():
            store.write({t: f for t, f in frames.items() if len(f)})
        with psycopg.connect(postgis_schema_url, autocommit=True) as conn:
            conn.execute("UPDATE api_tokens SET expires_at = NULL, revoked = NULL "
                         "WHERE id = %s", ["0" * 64])
        with pytest.raises(StoreVersionError):
            check(store)
        migrate(store, None)
        assert store.schema_version() == SCHEMA_VERSION
        for table, frame in frames.items():
            assert store.count(table) == len(frame), table
        token = store.read("api_tokens").set_index("id").loc["0" * 64]
        assert token["expires_at"] == pd.Timestamp("2025-03-01 10:00", tz="Europe/Stockholm")
        assert store.count("audit_log") == 0
        assert all(store.count(t) == 0 for t in ("problems", "actions", "action_history"))
    finally:
        store.close()
        old.close()
