"""``trygghetskartan backup DIR`` and ``restore`` (issue 13, acceptance 6): a backup
restored into an empty store gives the same rows, on both backends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from infra import require_or_skip
from test_store_contract import sample_frame

from layers.core import audit
from layers.core.errors import StoreError
from layers.core.schema import ATTRIBUTE_TABLES, SCHEMA_VERSION, SPATIAL_LAYERS
from layers.domain.users import add_user, new_token
from layers.store import open_store
from layers.store.backup import STORE_FILES, backup, restore, row_counts
from mapapp.cli import cli

TABLES = (*SPATIAL_LAYERS, *ATTRIBUTE_TABLES)


def snapshot(store) -> dict[str, pd.DataFrame]:
    """Every row of every table, by id (or code) order, geometries as WKB."""
    out = {}
    for name in TABLES:
        frame = store.read(name)
        if "geometry" in frame:
            frame = pd.DataFrame(frame).assign(geometry=frame.geometry.to_wkb())
        key = "id" if "id" in frame else "code"
        out[name] = frame.sort_values([key, *(["division"] if "division" in frame else [])])\
            .reset_index(drop=True)
    return out


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert set(a) == set(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_cli_backup_then_restore_into_an_empty_store(demo_data_dir: Path, tmp_path: Path):
    store = open_store(demo_data_dir)
    add_user(store, "anna", "admin", "losenord123")
    new_token(store, "anna", label="appen")
    with audit.acting_as("anna"):
        store.update("findings", store.read("findings")["id"].iloc[0], {"status": "avvisad"})
    (demo_data_dir / "photos").mkdir()
    (demo_data_dir / "photos" / "a.jpg").write_bytes(b"\xff\xd8 not really a photo")
    before = snapshot(store)
    assert len(before["incidents"]) > 1000 and len(before["audit_log"]) == 3  # user, token, finding
    store.close()

    runner = CliRunner()
    result = runner.invoke(cli, ["backup", str(tmp_path / "kopior"),
                                 "--data-dir", str(demo_data_dir)])
    assert result.exit_code == 0, result.output
    (made,) = (tmp_path / "kopior").iterdir()
    manifest = json.loads((made / "manifest.json").read_text())
    assert manifest["kind"] == "geopackage" and manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["counts"]["incidents"] == len(before["incidents"])
    assert (made / STORE_FILES["geopackage"]).is_file()
    assert (made / "photos" / "a.jpg").is_file()

    empty = tmp_path / "ny"
    result = runner.invoke(cli, ["restore", str(made), "--data-dir", str(empty)])
    assert result.exit_code == 0, result.output
    assert "Återställt" in result.output
    restored = open_store(empty)
    try:
        assert restored.schema_version() == SCHEMA_VERSION
        assert_same(snapshot(restored), before)
    finally:
        restored.close()
    assert (empty / "photos" / "a.jpg").read_bytes() == b"\xff\xd8 not really a photo"

    # a store with data is not overwritten unless asked
    result = runner.invoke(cli, ["restore", str(made), "--data-dir", str(demo_data_dir)])
    assert result.exit_code == 1 and "innehåller redan data" in result.output
    result = runner.invoke(cli, ["restore", str(made), "--force",
                                 "--data-dir", str(demo_data_dir)])
    assert result.exit_code == 0, result.output


def test_backup_is_consistent_while_the_store_is_in_use(data_dir: Path, tmp_path: Path):
    store = open_store(data_dir)
    store.write({"findings": sample_frame("findings", n=3)})
    reader = open_store(data_dir)  # another connection reading meanwhile
    assert reader.count("findings") == 3
    made = backup(store, tmp_path / "b")
    store.write({"findings": sample_frame("findings", n=2, prefix="later")})
    target = open_store(tmp_path / "t")
    restore(target, made)
    assert target.count("findings") == 3 and store.count("findings") == 5
    for s in (store, reader, target):
        s.close()


def test_restore_refuses_what_is_no_backup_or_a_wrong_one(data_dir: Path, tmp_path: Path):
    store = open_store(data_dir)
    with pytest.raises(StoreError, match="ingen säkerhetskopia"):
        restore(open_store(tmp_path / "t"), tmp_path)
    made = backup(store, tmp_path / "b")
    manifest = json.loads((made / "manifest.json").read_text())
    (made / "manifest.json").write_text(json.dumps({**manifest, "kind": "postgis"}))
    with pytest.raises(StoreError, match="postgis-lager"):
        restore(open_store(tmp_path / "t"), made)
    (made / "manifest.json").write_text(json.dumps({**manifest,
                                                    "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(StoreError, match="nyare än programmets"):
        restore(open_store(tmp_path / "t"), made)
    # a copy that lost rows is caught by the manifest's counts
    (made / "manifest.json").write_text(json.dumps(
        {**manifest, "counts": {**manifest["counts"], "stadsdelar": 118}}))
    with pytest.raises(StoreError, match="stadsdelar: 117 i stället för 118"):
        restore(open_store(tmp_path / "t2"), made)
    store.close()


@pytest.mark.postgis
def test_postgis_backup_then_restore_into_an_empty_database(postgis_schema_url: str,
                                                            tmp_path: Path):
    """pg_dump of the store's tables, the schema emptied, pg_restore: the same rows."""
    import psycopg

    require_or_skip("pg_dump and pg_restore (apt-get install postgresql-client)",
                    shutil.which("pg_dump") is not None and shutil.which("pg_restore") is not None)
    store = open_store(postgis_schema_url)
    store.initialize()
    frames = {name: sample_frame(name, n=3) for name in
              ("incidents", "findings", "sites", "walks", "site_measures", "finding_history")}
    with audit.acting_as("anna"):
        store.write(frames)
        add_user(store, "anna", "admin", "losenord123")
        new_token(store, "anna")
    before = snapshot(store)
    assert len(before["audit_log"]) > 0
    made = backup(store, tmp_path / "kopior")
    assert (made / STORE_FILES["postgis"]).stat().st_size > 0
    with pytest.raises(StoreError, match="inte tomt"):
        store.restore_from(made / STORE_FILES["postgis"])
    store.close()

    with psycopg.connect(postgis_schema_url, autocommit=True) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    empty = open_store(postgis_schema_url)
    try:
        assert empty.schema_version() == 0
        done = restore(empty, made)
        assert done.counts == row_counts(empty)
        assert empty.schema_version() == SCHEMA_VERSION
        assert_same(snapshot(empty), before)
        # the data version table came back too: writes go on as before
        empty.write({"incidents": sample_frame("incidents", n=1, prefix="ny")})
        assert empty.count("incidents") == 4
    finally:
        empty.close()
