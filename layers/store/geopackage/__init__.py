"""The embedded default store: one GeoPackage file (SQLite) in the data folder.

We write the GeoPackage tables ourselves with :mod:`sqlite3` rather than through
GDAL, because an import must be *one* transaction across several tables (the layer
and the import log) and GDAL commits per layer. The file follows the OGC
GeoPackage 1.4 encoding (standard geometry blobs, ``gpkg_contents``,
``gpkg_geometry_columns`` and the RTree spatial index extension with its
triggers), so QGIS, ArcGIS, ``ogrinfo`` and fiona open it as usual.

Modules: ``store`` (the file, its connection and transactions, schema version,
upgrade, backup), ``writes``, ``reads``, ``tables`` (creating the tables),
``rtree`` (the spatial index, also filled in bulk) and ``encoding`` (geometry blobs
and column values). The connection handling both backends share is in
:mod:`layers.store.connection`.
"""

from __future__ import annotations

from layers.store.geopackage.encoding import GEOM, decode_geometries, encode_geometries
from layers.store.geopackage.store import FILE_NAME, GeoPackageStore

__all__ = ["FILE_NAME", "GEOM", "GeoPackageStore", "decode_geometries", "encode_geometries"]
