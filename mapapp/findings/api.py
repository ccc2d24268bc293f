"""``POST /api/findings``: findings from JSON, GeoJSON or a file with a bearer token.

Every row valid or nothing stored: a request with any invalid row is refused whole
(422, a JSON list of row, field, message).
"""

from __future__ import annotations

import shutil

from layers.core.errors import FileRejected, RowError
from layers.domain import findings as core
from layers.domain.access import RECORD_ROLE
from mapapp.access import require_write, role_required, user_name
from mapapp.extensions import csrf
from mapapp.findings.blueprint import bp
from mapapp.store_ import get_store
from mapapp.uploads import api_file, api_folder, data_folder, keep_upload, kept_path
from mapapp.views import api_errors, created, token_required


@bp.post("/api/findings")
@csrf.exempt
@role_required(RECORD_ROLE)
@token_required
def api_create():
    """Create findings from JSON, GeoJSON or a file; all rows or none (422 per row).

    Only bearer tokens are accepted here (this route has no CSRF check, so a
    browser session must not count).
    """
    store = get_store()
    folder = api_folder()
    try:
        path, name, row_map = api_file(folder)
        upload = core.prepare_upload(store, path, display_name=name, user=user_name())
        if upload.prepared.errors:
            return api_errors(upload.prepared.errors, row_map)
        require_write(RECORD_ROLE, upload.frame["sdo_code"] if len(upload.frame) else ())
        target = kept_path(path.suffix)
        note = f"Via API:t; sparad i datamappen som {target.relative_to(data_folder()).as_posix()}."
        report = core.commit_upload(store, upload, user=user_name(), allow_partial=False,
                                    notes=[note])
        keep_upload(path, target)
    except FileRejected as exc:
        return api_errors([RowError(None, None, str(exc))])
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def position(row: int) -> int:
        return row if row_map is None else row_map(row)

    rows = upload.prepared.rows
    duplicates = [{"row": position(rows[d.position]), "existing_id": d.existing_id,
                   "distance_m": round(d.distance_m, 1)} for d in upload.duplicates.values()]
    body = {"inserted": report.inserted, "unchanged": report.unchanged,
            "ids": upload.frame["id"].tolist(), "likely_duplicates": duplicates}
    return created(body, report.inserted > 0)
