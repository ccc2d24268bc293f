"""Uploaded files on the web: the data folder, pending uploads, kept files, photos.

Files live under the data folder (:func:`data_folder`): photos in ``photos/`` (EXIF
stripped, see :mod:`layers.io.photos`), uploads waiting for their confirm in
``uploads/pending/<token>/`` (the token is kept in the session, the uploader's name
in the folder), the bodies of API and walk uploads while they are read in
``uploads/api/`` and ``uploads/walks/``, and confirmed uploads in
``uploads/<date>/`` under a generated name. The findings and walks blueprints
upload through here, in one code path.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import shutil
import time
from pathlib import Path

from flask import Flask, abort, current_app, g, request, session
from werkzeug.datastructures import FileStorage

from layers.core.errors import FileRejected, RowError
from layers.core.filenames import display_name, stored_name, suffix_of
from layers.domain.findings import api_payload_file
from layers.io.photos import PhotoRejected, clean_photo, store_photo
from layers.io.readers import FORMATS
from mapapp.access import user_name
from mapapp.store_ import location_for

#: ``kind`` of a pending upload that is a GPX walk (track and waypoints), from /walks.
GPX_WALK = "gpx_walk"
#: Uploads not confirmed within this many seconds are deleted.
PENDING_MAX_AGE_S = 24 * 3600
#: API and walk upload folders older than this were left by a killed request (a request
#: that finishes, stored or refused, removes its own folder at once).
ABANDONED_MAX_AGE_S = 15 * 60
#: The file in a pending upload's folder naming the user who uploaded it.
PENDING_OWNER_FILE = ".owner"
#: Pending uploads remembered per session.
PENDING_PER_SESSION = 5
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def data_folder(*parts: str) -> Path:
    """A folder under the data folder (the GeoPackage's folder, else the instance folder)."""
    location = location_for(current_app)
    if "://" in location:
        base = Path(current_app.instance_path)
    else:
        base = Path(location)
        if base.suffix.lower() == ".gpkg":
            base = base.parent
    return base.joinpath(*parts)


def remove_old_folders(root: Path, max_age_s: float) -> None:
    """Delete the sub-folders of ``root`` not changed for ``max_age_s`` seconds."""
    if not root.is_dir():
        return
    limit = time.time() - max_age_s
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < limit:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def clean_abandoned_uploads(app: Flask) -> None:
    """Remove the payload folders that killed API or walk uploads left behind."""
    with app.app_context():
        for kind in ("api", "walks"):
            remove_old_folders(data_folder("uploads", kind), ABANDONED_MAX_AGE_S)


# --- pending uploads (previewed, then confirmed or cancelled) ---------------------------


def pending_dir(token: str) -> Path:
    """The folder of the pending upload ``token`` (404 for a malformed token)."""
    if not _TOKEN_RE.match(token):
        abort(404)
    return data_folder("uploads", "pending", token)


def pending_owner(folder: Path) -> str | None:
    """The name of the user who uploaded the pending upload in ``folder``."""
    try:
        return (folder / PENDING_OWNER_FILE).read_text(encoding="utf-8")
    except OSError:
        return None


def check_pending_owner(folder: Path, *, admin_may: bool = False) -> None:
    """404 for an upload that is gone, 403 for someone else's (admin may cancel it)."""
    if not folder.is_dir():
        abort(404, description="Uppladdningen finns inte längre. Ladda upp filen igen.")
    if pending_owner(folder) != user_name() and not (admin_may and g.user.role == "admin"):
        abort(403, description="Uppladdningen tillhör en annan användare.")


def pending(token: str) -> tuple[dict, Path]:
    """The session's record of this user's pending upload and its file, or 404/403."""
    folder = pending_dir(token)
    check_pending_owner(folder)
    meta = session.get("uploads", {}).get(token)
    if meta is None:
        abort(404, description="Uppladdningen finns inte längre. Ladda upp filen igen.")
    files = [p for p in folder.iterdir() if p.is_file() and p.name != PENDING_OWNER_FILE]
    if not files:
        abort(404)
    return meta, files[0]


def forget(token: str) -> None:
    """Drop the pending upload ``token`` from the session."""
    uploads = dict(session.get("uploads", {}))
    uploads.pop(token, None)
    session["uploads"] = uploads


def start_pending(upload: FileStorage, suffix: str, meta: dict) -> str:
    """Keep an uploaded file until its preview is confirmed; return the preview's token.

    ``meta`` (kept in the session) has the file's ``name`` and what the confirm needs;
    ``kind`` "gpx_walk" makes it a GPX walk (see :mod:`mapapp.findings.upload`). Every
    upload page (findings and walks) previews through here, in one code path.
    """
    remove_old_folders(data_folder("uploads", "pending"), PENDING_MAX_AGE_S)
    token = secrets.token_urlsafe(18)
    folder = pending_dir(token)
    folder.mkdir(parents=True)
    (folder / PENDING_OWNER_FILE).write_text(user_name(), encoding="utf-8")
    upload.save(folder / f"upload{suffix}")
    uploads = dict(session.get("uploads", {}))
    uploads[token] = meta
    # only the newest few; older ones are cleaned up with their folders
    for old in list(uploads)[:-PENDING_PER_SESSION]:
        shutil.rmtree(pending_dir(old), ignore_errors=True)
        uploads.pop(old)
    session["uploads"] = uploads
    return token


# --- files kept for good ------------------------------------------------------------------


def kept_path(suffix: str) -> Path:
    """Where an uploaded file is kept for good: ``uploads/<date>/<generated name>``.

    The user's file name is never part of a path; it is kept as data (the import
    log's ``file_name``, the messages).
    """
    return data_folder("uploads", dt.date.today().isoformat(), stored_name(suffix))


def keep_upload(path: Path, target: Path) -> None:
    """Move an uploaded file to where it is kept (after its rows were stored)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, target)


def keep_file(path: Path) -> None:
    """Keep an imported file in the data folder under a generated name, as the findings
    uploads are kept (the user's file name is data in the import log, never a path)."""
    keep_upload(path, kept_path(path.suffix))


def api_folder() -> Path:
    """A new folder for one API request's body (removed when the request is done)."""
    folder = data_folder("uploads", "api", secrets.token_hex(12))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def request_file(folder: Path) -> tuple[Path, str] | None:
    """Save the request's ``file`` in ``folder``: (path, name for messages), or None
    without one; a file of an unknown format is refused (FileRejected)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    name = display_name(upload.filename)
    suffix = suffix_of(name)
    if suffix not in FORMATS:
        raise FileRejected(f"Filen {name}: okänt filformat '{suffix}'. Tillåtna: "
                           f"{', '.join(sorted(FORMATS))}.")
    path = folder / f"upload{suffix}"
    upload.save(path)
    return path, name


def api_file(folder: Path) -> tuple[Path, str, object]:
    """Save the API request's body as a file: (path, name for messages, row mapping)."""
    saved = request_file(folder)
    if saved is not None:
        return saved[0], saved[1], None
    payload = request.get_json(silent=True, force=True)
    if payload is None:
        raise FileRejected("Anropet är inte giltig JSON. Skicka en lista med objekt, en "
                           "GeoJSON FeatureCollection eller en fil (fältet 'file').")
    return api_payload_file(payload, folder)


def save_request_photo(errors: list[RowError], field: str = "photo"
                       ) -> tuple[Path | None, tuple[float, float] | None]:
    """Clean (EXIF off) and store the request's photo: (its path, its GPS position).

    (None, None) without a photo; a refused photo adds a Swedish error on "foto".
    """
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        return None, None
    try:
        cleaned = clean_photo(upload.read())
    except PhotoRejected as exc:
        errors.append(RowError(1, "foto", str(exc)))
        return None, None
    name = store_photo(data_folder("photos"), cleaned)
    return data_folder("photos", name), cleaned.gps
