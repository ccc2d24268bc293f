"""The fuzz suite's checks: a module-wide app (:class:`Fuzzer`), the answer's
properties (:func:`check_answer`) and "nothing changed" (:func:`assert_unchanged`)."""

from __future__ import annotations

import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from infra import create_user, login, make_test_app
from werkzeug import exceptions

#: Tables that change on every request for reasons other than the upload (sign-in).
SESSION_TABLES = {"users", "api_tokens", "sessions", "login_attempts"}
#: Werkzeug's English default texts: none may reach a user.
WERKZEUG_TEXTS = sorted({cls.description for cls in vars(exceptions).values()
                         if isinstance(cls, type) and issubclass(cls, exceptions.HTTPException)
                         and isinstance(cls.description, str) and cls.description})
WERKZEUG_TEXTS += ["Internal Server Error", "Werkzeug"]


@dataclass
class Fuzzer:
    """An app on its own store, an admin browser session and an admin bearer token."""

    app: object
    data_dir: Path
    client: object
    headers: dict[str, str]
    csrf: str
    examples: dict[str, int] = field(default_factory=dict)
    #: The state after the last request that was checked (the next one's "before").
    known: tuple[tuple[str, ...], set[str]] | None = None

    def dump(self) -> tuple[str, ...]:
        """Every row of every data table as SQL (sign-in tables left out)."""
        path = next(self.data_dir.glob("*.gpkg"))
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        lines = []
        try:
            for line in conn.iterdump():
                match = re.match(r'INSERT INTO "([^"]+)" VALUES\(\'?([^\',]*)', line)
                if match and (match.group(1) in SESSION_TABLES or (
                        match.group(1) == "gpkg_contents" and match.group(2) in SESSION_TABLES)):
                    continue  # sign-in bookkeeping (and its last-change time)
                lines.append(line)
        finally:
            conn.close()
        return tuple(lines)

    def files(self) -> set[str]:
        """Every file under the data folder except the store itself."""
        return {p.relative_to(self.data_dir).as_posix() for p in self.data_dir.rglob("*")
                if p.is_file() and not p.name.startswith("trygghetskartan.gpkg")
                and p.name != "secret_key"}

    def state(self) -> tuple[tuple[str, ...], set[str]]:
        self.known = (self.dump(), self.files())
        return self.known

    def before(self) -> tuple[tuple[str, ...], set[str]]:
        """The state right before a request, read now.

        (Reusing the state checked after the previous example let a write that
        landed between two examples count against the next refusal.)
        """
        return self.state()

    def flashes(self) -> list[tuple[str, str]]:
        """The flashed messages waiting in the browser session (and clear them)."""
        with self.client.session_transaction() as sess:
            return sess.pop("_flashes", [])

    def count(self, route: str) -> None:
        self.examples[route] = self.examples.get(route, 0) + 1


def check_answer(response, *, api: bool | None) -> None:
    """Never 5xx; an error is a Swedish page or JSON, never Werkzeug's English page.

    ``api``: the error must be JSON (True), a Swedish page (False) or either (None:
    walk mode's sync answers row errors as JSON and a malformed request as a page).
    """
    status = response.status_code
    body = response.get_data(as_text=True)
    assert status < 500, f"{status}: {body[:2000]}"
    if status < 400:
        return
    for text in WERKZEUG_TEXTS:
        assert text not in body, f"Werkzeug's page ({status}): {body[:500]}"
    if api is None:
        api = response.mimetype == "application/json"
    if api:
        payload = response.get_json(silent=True)
        assert payload is not None, f"{status} without JSON: {body[:500]}"
        if isinstance(payload, dict) and "errors" in payload and "error" not in payload:
            payload = payload["errors"]  # {"errors": [{field, message}, ...]}
        messages = ([payload.get("error")] if isinstance(payload, dict)
                    else [e.get("message") for e in payload])
        assert messages and all(isinstance(m, str) and m.strip() for m in messages), payload
    else:
        assert '<html lang="sv">' in body, body[:500]


def assert_unchanged(fuzzer: Fuzzer, before: tuple, what: str) -> None:
    """After a refusal: the store's layers as before, no file left behind."""
    dump, files = fuzzer.state()
    if dump != before[0]:
        gone, new = set(before[0]) - set(dump), set(dump) - set(before[0])
        raise AssertionError(f"{what}: refused, but the store changed: "
                             f"{sorted(gone)[:3]} -> {sorted(new)[:3]}")
    assert files <= before[1], f"{what}: refused, but files were left: {files - before[1]}"




def admin_app(data_dir: Path, reference_store_file: Path, user: str = "fuzz"):
    """An app on a copy of the reference store in ``data_dir``, as in production for
    errors (no exception propagation); returns (app, signed-in admin client, bearer
    headers, CSRF token)."""
    from layers.domain.users import new_token
    from mapapp.store_ import get_store

    shutil.copy(reference_store_file, data_dir / reference_store_file.name)
    app = make_test_app(data_dir, PROPAGATE_EXCEPTIONS=False)
    create_user(app, user, "admin")
    with app.app_context():
        token = new_token(get_store(), user)
    client = app.test_client()
    assert login(client, user).status_code == 302
    page = client.get("/findings/new").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return app, client, {"Authorization": f"Bearer {token}"}, csrf
