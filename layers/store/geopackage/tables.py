"""Creating the GeoPackage's tables: the spec's metadata tables, one feature table
per layer (with its RTree) and one attribute table per table of the schema; columns
added to the schema since a store was made are added to its tables.
"""

from __future__ import annotations

import sqlite3

import pyproj

from layers.core.schema import STORE_EPSG, WEB_EPSG, LayerSchema
from layers.store.base import META_TABLE
from layers.store.geopackage.encoding import GEOM, SQL_TYPES
from layers.store.geopackage.rtree import create_rtree


def _srs_rows() -> list[tuple]:
    rows = [
        ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian"),
        ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic"),
    ]
    for code in (WEB_EPSG, 3006, STORE_EPSG):
        crs = pyproj.CRS.from_epsg(code)
        rows.append((crs.name, code, "EPSG", code, crs.to_wkt("WKT1_GDAL"), crs.name))
    return rows


def create_metadata_tables(conn: sqlite3.Connection) -> None:
    conn.execute("""CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
        organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
        definition TEXT NOT NULL, description TEXT)""")
    conn.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)",
                     _srs_rows())
    conn.execute("""CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT UNIQUE, description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""")
    conn.execute("""CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL,
        geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
        z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""")
    conn.execute("""CREATE TABLE IF NOT EXISTS gpkg_extensions (
        table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
        definition TEXT NOT NULL, scope TEXT NOT NULL,
        CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""")


def _column_ddl(schema: LayerSchema) -> list[str]:
    cols = []
    for f in schema.fields:
        ddl = f'"{f.name}" {SQL_TYPES[f.kind]}'
        if f.name == "id":
            ddl += " NOT NULL UNIQUE"
        cols.append(ddl)
    return cols


def create_layer(conn: sqlite3.Connection, schema: LayerSchema) -> None:
    name = schema.name
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name=?", (name,)).fetchone():
        return
    cols = ["fid INTEGER PRIMARY KEY AUTOINCREMENT", f"{GEOM} {schema.geometry_type}",
            *_column_ddl(schema)]
    unique = ""
    if name == "stadsdelsomraden":
        unique = ', UNIQUE ("code", "division")'
    elif "id" not in schema.names:
        unique = ', UNIQUE ("code")'
    conn.execute(f'CREATE TABLE "{name}" ({", ".join(cols)}{unique})')
    if schema.time_field:
        conn.execute(f'CREATE INDEX "idx_{name}_time" ON "{name}" ("{schema.time_field}")')
    for col in ("category", "sdo_code", "status"):
        if col in schema.names:
            conn.execute(f'CREATE INDEX "idx_{name}_{col}" ON "{name}" ("{col}")')
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
        "VALUES (?, 'features', ?, ?, ?)", (name, name, schema.label, STORE_EPSG))
    conn.execute("INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)",
                 (name, GEOM, schema.geometry_type, STORE_EPSG))
    create_rtree(conn, name)


def missing_columns(conn: sqlite3.Connection, schema: LayerSchema) -> list[str]:
    """The schema's fields that the stored table lacks (it was made by older code)."""
    stored = {r[0] for r in conn.execute("SELECT name FROM pragma_table_info(?)",
                                         (schema.name,))}
    return [f.name for f in schema.fields if f.name not in stored]


def create_attribute_table(conn: sqlite3.Connection, schema: LayerSchema) -> None:
    name = schema.name
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name=?", (name,)).fetchone():
        # no migration system: a field added to the schema later is added as an empty
        # column, so a store made by an older version still opens
        for column in missing_columns(conn, schema):
            kind = SQL_TYPES[schema.field(column).kind]
            conn.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {kind}')
        return
    cols = ["fid INTEGER PRIMARY KEY AUTOINCREMENT", *_column_ddl(schema)]
    conn.execute(f'CREATE TABLE "{name}" ({", ".join(cols)})')
    if schema.time_field:
        conn.execute(f'CREATE INDEX "idx_{name}_time" ON "{name}" ("{schema.time_field}")')
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
        "VALUES (?, 'attributes', ?, ?)", (name, name, schema.label))


def table_exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (name,)).fetchone() is not None


def set_version(conn: sqlite3.Connection, version: int) -> None:
    conn.execute(f'INSERT OR REPLACE INTO "{META_TABLE}" VALUES (\'schema_version\', ?)',
                 (str(version),))
