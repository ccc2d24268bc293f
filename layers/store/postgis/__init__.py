"""The PostGIS store: the same layers in PostgreSQL tables, for a city with many users.

Selected with ``TRYGGHETSKARTAN_DATABASE=postgresql://…`` (see
:func:`layers.store.open_store`). The tables are generated from :mod:`layers.core.schema`
like the GeoPackage ones: a ``fid`` identity key (QGIS wants an integer key), the
schema's fields (``str`` text, ``int`` bigint, ``float`` double precision, ``bool``
boolean, ``datetime`` timestamptz, ``date`` date), a ``geom geometry(<type>, 3011)``
column with a GiST index, and ``id text UNIQUE NOT NULL`` (stadsdelar are unique on
``code``, stadsdelsområden on ``(code, division)``).

A write is one transaction. Rows go in by ``COPY`` into a temporary table and then
``INSERT … SELECT … ON CONFLICT DO NOTHING``: a million incidents load without a round
trip per row, and rows whose id is already stored are left as they are, exactly as
:class:`layers.store.geopackage.GeoPackageStore` does with ``INSERT OR IGNORE``.
Geometries travel as hex WKB and are read back as WKB. A big frame (an import) is
copied into its temporary (unlogged, session-private) table *before* the write
transaction begins, so the transaction itself is one short ``INSERT … SELECT``. A
big first load (at least ``rebuild_min_rows`` rows that at least double the table;
module ``bulk``) is staged in place order and inserted with the table's indexes set
aside and built again afterwards, in the same transaction, holding the table's
exclusive lock.

Every connection sets ``lock_timeout`` (the store's busy timeout) and, when given,
``statement_timeout`` (the web app's): a wait past them raises
:class:`~layers.store.base.StoreBusy`. The table ``store_contents`` (one row per
table: a version counter bumped in the transaction that changes it) gives
:meth:`PostGISStore.data_version`.

``incident_cells`` (not a layer: derived, PostGIS only) counts the incidents per
250 m cell, local month and year, category, stadsdelsområde and precision, kept by
every write in its own transaction; :meth:`PostGISStore.grid_counts` reads it so the
city grid of a year does not scan millions of incidents.

Modules: ``store`` (creating the tables, schema version, upgrade, backup), built on
``connection`` (timeouts, one connection per thread, errors in Swedish), ``writes``,
``reads``, ``cells`` (the grid's summary), ``bulk`` (big loads), ``tables`` (the DDL)
and ``values`` (how values and geometries travel). The connection handling both backends share is in
:mod:`layers.store.connection`. A helper several modules use is public in its module
and imported under its former private name (``ident as _ident``), so the code moved
from the one-file store reads as before.
"""

from __future__ import annotations

from layers.store.postgis.cells import CELL_BASE, CELLS
from layers.store.postgis.store import PostGISStore
from layers.store.postgis.tables import table_ddl

__all__ = ["CELL_BASE", "CELLS", "PostGISStore", "table_ddl"]
