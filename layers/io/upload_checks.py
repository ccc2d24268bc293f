"""Checks an upload passes before its preview: the template's example row and the city.

Both work on a :class:`layers.io.importer.PreparedImport` (any format, read and joined),
so every upload preview (findings and walks, web and API) refuses the same things:

* the CSV template's example row ("EXEMPEL (ta bort raden)") refuses the whole file,
  so a template uploaded as downloaded never stores an example as a real finding;
* a point outside Stockholm municipality (the bundled stadsdelar's union, with a
  small tolerance for points on the shore or a boundary) is a refused row that
  names the row and how far away it is; the other rows can still be stored.
"""

from __future__ import annotations

import logging

import numpy as np
import shapely

from layers.core.errors import FileRejected, RowError
from layers.io.importer import PreparedImport, district_index
from layers.store.base import Store

LOGGER = logging.getLogger(__name__)

#: The mark on the template's example row (see :func:`layers.domain.findings.template_csv`).
EXAMPLE_MARK = "EXEMPEL (ta bort raden)"
#: Points this close (m) to a stadsdel count as in the city (GPS error, the shore).
CITY_TOLERANCE_M = 100.0


def refuse_example_row(prepared: PreparedImport, column: str = "description") -> None:
    """Raise :class:`FileRejected` when a row of the file is the template's example row."""
    frame = prepared.frame
    if not len(frame) or column not in frame.columns:
        return
    marked = frame[column].fillna("").astype(str).str.contains(
        EXAMPLE_MARK, case=False, regex=False).to_numpy()
    if marked.any():
        row = prepared.rows[int(np.flatnonzero(marked)[0])]
        raise FileRejected(
            f"Filen {prepared.file_name} innehåller mallens exempelrad (rad {row}, "
            f"”{EXAMPLE_MARK}”). Ta bort exempelraden och ladda upp filen igen.")


def refuse_outside_city(store: Store, prepared: PreparedImport,
                        tolerance_m: float = CITY_TOLERANCE_M) -> list[RowError]:
    """Move rows whose place lies outside Stockholm's stadsdelar to the refused rows.

    Rows with a stadsdel are in the city; for the others the distance to the nearest
    stadsdel decides (``tolerance_m``). Returns the new errors (also added to
    ``prepared.errors``, in row order).
    """
    frame = prepared.frame
    if not len(frame) or "stadsdel" not in frame.columns:
        return []
    candidates = np.flatnonzero(frame["stadsdel"].isna().to_numpy())
    geoms = frame.geometry.to_numpy()
    candidates = [int(k) for k in candidates
                  if geoms[k] is not None and not shapely.is_empty(geoms[k])]
    if not candidates:
        return []
    index = district_index(store)
    if not len(index.polygons):  # an empty store has no city to compare with
        return []
    points = shapely.point_on_surface(geoms[candidates])
    _, gaps = index.tree.query_nearest(points, return_distance=True, all_matches=False)
    errors = []
    refused = []
    for k, gap in zip(candidates, gaps, strict=True):
        if gap <= tolerance_m:
            continue
        km = f"{gap / 1000:.1f}".replace(".", ",")
        errors.append(RowError(prepared.rows[k], None,
                               f"punkten ligger utanför Stockholms stad ({km} km från "
                               "närmaste stadsdel)"))
        refused.append(k)
    if refused:
        gone = {prepared.rows[k] for k in refused}
        keep = np.ones(len(frame), bool)
        keep[refused] = False
        prepared.frame = frame[keep].reset_index(drop=True)
        prepared.rows = [r for r, kept in zip(prepared.rows, keep, strict=True) if kept]
        prepared.outside = [r for r in prepared.outside if r not in gone]
        prepared.errors = sorted([*prepared.errors, *errors],
                                 key=lambda e: (e.row is None, e.row or 0))
    return errors


def check_upload(store: Store, prepared: PreparedImport) -> None:
    """Run every upload check: the example row (refuses the file), then the city."""
    refuse_example_row(prepared)
    refuse_outside_city(store, prepared)
