"""The fuzz suite's profiles and its shared app.

Profiles (hypothesis): ``ci`` (the default) runs ``FUZZ_CI_EXAMPLES`` examples per
fuzz test, derandomized so CI is repeatable; ``TRYGGHETSKARTAN_FUZZ_EXAMPLES=N`` (what
``./dev.sh fuzz`` sets, 10 000 by default) spreads N examples over the collected fuzz
tests, with a random seed. Figures of both runs are in ``tests/fuzz/README.md``.

One app and store per module: building an app per example would cost more than
the example. A fuzz test therefore checks each answer against the store as it was
just before that request (:meth:`Fuzzer.state`), never against an empty store.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from infra import create_user, login, make_test_app
from werkzeug import exceptions

#: Examples per fuzz test in CI (figures in tests/fuzz/README.md).
FUZZ_CI_EXAMPLES = 60
#: The @given tests of this folder: a long run shares its examples among them.
FUZZ_TESTS = 7
_COMMON = {"deadline": None, "print_blob": True,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much]}
settings.register_profile("ci", max_examples=FUZZ_CI_EXAMPLES, derandomize=True,
                          database=None, **_COMMON)
_TOTAL = os.environ.get("TRYGGHETSKARTAN_FUZZ_EXAMPLES")
if _TOTAL:
    # hypothesis reads the profile when the tests are defined: choose it here
    settings.register_profile("long", max_examples=max(1, -(-int(_TOTAL) // FUZZ_TESTS)),
                              derandomize=False, **_COMMON)
    settings.load_profile("long")
else:
    settings.load_profile("ci")


def pytest_collection_modifyitems(config, items) -> None:
    """Refuse to run when FUZZ_TESTS is too small (a long run would do more examples)."""
    here = Path(__file__).parent
    names = sorted({i.originalname for i in items if Path(str(i.fspath)).parent == here
                    and getattr(getattr(i, "obj", None), "is_hypothesis_test", False)})
    if len(names) > FUZZ_TESTS:
        raise pytest.UsageError(f"tests/fuzz has {len(names)} fuzz tests; set FUZZ_TESTS in "
                                f"tests/fuzz/conftest.py to that ({names})")


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
    known: tuple[str, set[str]] | None = None

    def dump(self) -> str:
        """A digest of every row of every data table (sign-in tables left out)."""
        path = next(self.data_dir.glob("*.gpkg"))
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        digest = hashlib.sha256()
        try:
            for line in conn.iterdump():
                match = re.match(r'INSERT INTO "([^"]+)" VALUES\(\'?([^\',]*)', line)
                if match and (match.group(1) in SESSION_TABLES or (
                        match.group(1) == "gpkg_contents" and match.group(2) in SESSION_TABLES)):
                    continue  # sign-in bookkeeping (and its last-change time)
                digest.update(line.encode("utf-8", "surrogatepass"))
        finally:
            conn.close()
        return digest.hexdigest()

    def files(self) -> set[str]:
        """Every file under the data folder except the store itself."""
        return {p.relative_to(self.data_dir).as_posix() for p in self.data_dir.rglob("*")
                if p.is_file() and not p.name.startswith("trygghetskartan.gpkg")
                and p.name != "secret_key"}

    def state(self) -> tuple[str, set[str]]:
        self.known = (self.dump(), self.files())
        return self.known

    def before(self) -> tuple[str, set[str]]:
        """The state before a request: the last one checked, else read now.

        Only this fixture's requests change the store, so the state checked after
        one example is the state before the next (it saves a dump per example).
        """
        known, self.known = self.known, None
        return known if known is not None else self.state()

    def flashes(self) -> list[tuple[str, str]]:
        """The flashed messages waiting in the browser session (and clear them)."""
        with self.client.session_transaction() as sess:
            return sess.pop("_flashes", [])

    def count(self, route: str) -> None:
        self.examples[route] = self.examples.get(route, 0) + 1


def check_answer(response, *, api: bool) -> None:
    """Never 5xx; an error is a Swedish page or JSON, never Werkzeug's English page."""
    status = response.status_code
    body = response.get_data(as_text=True)
    assert status < 500, f"{status}: {body[:2000]}"
    if status < 400:
        return
    for text in WERKZEUG_TEXTS:
        assert text not in body, f"Werkzeug's page ({status}): {body[:500]}"
    if api:
        payload = response.get_json(silent=True)
        assert payload is not None, f"{status} without JSON: {body[:500]}"
        messages = ([payload.get("error")] if isinstance(payload, dict)
                    else [e.get("message") for e in payload])
        assert messages and all(isinstance(m, str) and m.strip() for m in messages), payload
    else:
        assert '<html lang="sv">' in body, body[:500]


def assert_unchanged(fuzzer: Fuzzer, before: tuple[str, set[str]], what: str) -> None:
    """After a refusal: the store's layers as before, no file left behind."""
    dump, files = fuzzer.state()
    assert dump == before[0], f"{what}: refused, but the store changed"
    assert files <= before[1], f"{what}: refused, but files were left: {files - before[1]}"


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory: pytest.TempPathFactory, reference_store_file: Path):
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    shutil.copy(reference_store_file, data_dir / reference_store_file.name)
    # uncaught errors go through the app's own 500 handler, as in production
    app = make_test_app(data_dir, PROPAGATE_EXCEPTIONS=False)
    create_user(app, "fuzz", "admin")
    from layers.users import new_token
    from mapapp.store_ import get_store

    with app.app_context():
        token = new_token(get_store(), "fuzz")
    client = app.test_client()
    assert login(client, "fuzz").status_code == 302
    page = client.get("/findings/new").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    fuzzer = Fuzzer(app, data_dir, client, {"Authorization": f"Bearer {token}"}, csrf)
    yield fuzzer
    if fuzzer.examples:
        print("\nfuzz examples per route:", dict(sorted(fuzzer.examples.items())))
