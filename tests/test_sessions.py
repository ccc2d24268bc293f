"""Sessions, log-in throttling and API tokens (issue 17, points 5 and 8).

The store-touching tests run on both backends: the app's store is the test's
GeoPackage, or a fresh PostGIS schema (marked ``postgis``; skipped without
PostgreSQL + PostGIS except under CI=true). Time is moved with the ``clock``
fixture (``layers.store.sessions.now``), never by sleeping.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner
from infra import create_user, login, make_test_app

from layers.core.schema import LOCAL_TZ
from layers.store import sessions, touches
from mapapp.cli import cli
from mapapp.store_ import get_store

BACKENDS = ["geopackage", pytest.param("postgis", marks=pytest.mark.postgis)]


@pytest.fixture(params=BACKENDS)
def store_config(request, data_dir) -> dict:
    """App config that puts the store on the backend of this run."""
    if request.param == "geopackage":
        return {}
    from layers.store import open_store

    url = request.getfixturevalue("postgis_schema_url")
    store = open_store(url)
    store.initialize()  # no reference layers needed: the app will not load them
    store.close()
    return {"DATABASE": url}


@pytest.fixture
def make_app(data_dir, store_config):
    """Build apps on the backend of this run (extra config per call); their stores'
    connections are closed at the end."""
    apps = []

    def make(**config):
        apps.append(make_test_app(data_dir, **store_config, **config))
        return apps[-1]

    yield make
    for app in apps:
        store = app.extensions.get("trygghetskartan.store")
        if store is not None:
            store.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def clock(monkeypatch):
    """Move time: ``clock.advance(minutes=61)``."""

    class Clock:
        offset = pd.Timedelta(0)

        def advance(self, **kwargs) -> None:
            self.offset += pd.Timedelta(**kwargs)

    fake = Clock()
    real = sessions.now
    monkeypatch.setattr(sessions, "now", lambda: real() + fake.offset)
    return fake


def run_cli(app, *args: str, password: str | None = None):
    """Run a verb on the app's store (``--data-dir``, or the PostGIS URL in the env)."""
    env = {"TRYGGHETSKARTAN_PASSWORD": password} if password else {}
    if app.config.get("DATABASE"):
        env["TRYGGHETSKARTAN_DATABASE"] = app.config["DATABASE"]
        extra = []
    else:
        extra = ["--data-dir", app.config["DATA_DIR"]]
    result = CliRunner().invoke(cli, [*args, *extra], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def signed_in(app, name: str, role: str = "läsare"):
    create_user(app, name, role)
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def with_cookie(app, value: str):
    """A new browser that holds a copy of someone's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", value)
    return thief


def is_signed_out(client) -> bool:
    response = client.get("/findings")
    return response.status_code == 302 and "/auth/login" in response.headers["Location"]


def csrf(client, path: str = "/auth/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# --- sessions end when they should ----------------------------------------------------


def test_a_cookie_copied_before_logout_is_worthless_after_it(app):
    client = signed_in(app, "anna")
    copy = cookie_of(client)
    assert not is_signed_out(with_cookie(app, copy))
    client.post("/auth/logout", data={"csrf_token": csrf(client, "/findings")})
    assert is_signed_out(client)
    assert is_signed_out(with_cookie(app, copy))
    with app.app_context():
        assert get_store().count("sessions") == 0


def test_the_session_cookie_does_not_carry_the_user(app):
    client = signed_in(app, "anna")
    from itsdangerous import URLSafeTimedSerializer

    data = URLSafeTimedSerializer(app.secret_key, salt="cookie-session",
                                  signer_kwargs={"key_derivation": "hmac",
                                                 "digest_method": "sha1"}).loads(
        cookie_of(client))
    assert "user" not in data and "anna" not in str(data)
    with app.app_context():
        row = get_store().read("sessions").iloc[0]
    assert row["user_id"] == "anna" and row["id"] != data["sid"]
    assert row["id"] == sessions.token_hash(data["sid"])


def test_changing_the_password_ends_the_other_sessions(app):
    client = signed_in(app, "anna")
    other = app.test_client()
    login(other, "anna")
    copy = cookie_of(client)
    response = client.post("/auth/password", data={
        "csrf_token": csrf(client, "/auth/password"), "old_password": "losenord123",
        "new_password": "nytt-losen-456", "new_password_again": "nytt-losen-456"})
    assert response.status_code == 302
    assert "Lösenordet är bytt" in client.get("/auth/password").get_data(as_text=True)
    assert not is_signed_out(client)  # this browser got a new session
    assert is_signed_out(other)
    assert is_signed_out(with_cookie(app, copy))
    assert login(app.test_client(), "anna", "nytt-losen-456").status_code == 302
    assert login(app.test_client(), "anna").status_code == 401


def test_the_password_page_wants_the_old_password(app):
    client = signed_in(app, "anna")
    response = client.post("/auth/password", data={
        "csrf_token": csrf(client, "/auth/password"), "old_password": "fel-losenord",
        "new_password": "nytt-losen-456", "new_password_again": "nytt-losen-456"})
    assert response.status_code == 400
    assert "nuvarande lösenordet är fel" in response.get_data(as_text=True)
    response = client.post("/auth/password", data={
        "csrf_token": csrf(client, "/auth/password"), "old_password": "losenord123",
        "new_password": "kort", "new_password_again": "kort"})
    assert response.status_code == 400 and "minst 8 tecken" in response.get_data(as_text=True)
    assert login(app.test_client(), "anna").status_code == 302
    # without CSRF nothing changes
    assert client.post("/auth/password", data={"old_password": "losenord123",
                                               "new_password": "nytt-losen-456",
                                               "new_password_again": "nytt-losen-456"}
                       ).status_code == 400
    assert login(app.test_client(), "anna").status_code == 302


def test_cli_password_disable_and_end_sessions_sign_people_out(app):
    anna = signed_in(app, "anna")
    result = run_cli(app, "users", "password", "anna", password="nytt-losen-456")
    assert result.exit_code == 0 and "1 sessioner avslutades" in result.output
    assert is_signed_out(anna)

    bertil = signed_in(app, "bertil")
    result = run_cli(app, "users", "disable", "bertil")
    assert result.exit_code == 0, result.output
    assert is_signed_out(bertil)
    assert login(app.test_client(), "bertil").status_code == 401
    assert run_cli(app, "users", "enable", "bertil").exit_code == 0
    assert login(app.test_client(), "bertil").status_code == 302

    cecilia, david = signed_in(app, "cecilia"), signed_in(app, "david")
    assert run_cli(app, "users", "end-sessions", "cecilia").exit_code == 0
    assert is_signed_out(cecilia) and not is_signed_out(david)
    result = run_cli(app, "users", "end-sessions", "--all")
    assert result.exit_code == 0, result.output
    assert is_signed_out(david)
    assert run_cli(app, "users", "end-sessions").exit_code == 2
    assert run_cli(app, "users", "disable", "okand").exit_code == 1


def test_admin_ends_one_users_or_everyones_sessions(app):
    admin = signed_in(app, "ada", "admin")
    anna, bertil = signed_in(app, "anna"), signed_in(app, "bertil")
    copy = cookie_of(anna)
    assert anna.get("/auth/sessions").status_code == 403
    page = admin.get("/auth/sessions").get_data(as_text=True)
    assert "Avsluta alla sessioner" in page and "anna" in page and "bertil" in page
    response = admin.post("/auth/sessions/end", data={"csrf_token": csrf(admin, "/auth/sessions"),
                                                      "user": "anna"})
    assert response.status_code == 302
    assert is_signed_out(anna) and is_signed_out(with_cookie(app, copy))
    assert not is_signed_out(bertil) and not is_signed_out(admin)
    response = admin.post("/auth/sessions/end", data={"csrf_token": csrf(admin, "/auth/sessions"),
                                                      "all": "1"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert is_signed_out(bertil) and is_signed_out(admin)


def test_idle_and_absolute_time_outs(make_app, clock):
    app = make_app(SESSION_IDLE_MINUTES=30, SESSION_MAX_HOURS=2)
    client = signed_in(app, "anna")
    clock.advance(minutes=25)
    assert not is_signed_out(client)  # marks the session as seen
    clock.advance(minutes=25)
    assert not is_signed_out(client)  # 25 minutes since last seen
    clock.advance(minutes=31)
    assert is_signed_out(client)
    with app.app_context():
        assert get_store().count("sessions") == 0  # the expired row went

    client = signed_in(app, "bertil")
    for _ in range(4):  # always active (100 minutes), but not longer than 2 hours in all
        clock.advance(minutes=25)
        assert not is_signed_out(client)
    clock.advance(minutes=25)
    assert is_signed_out(client)


def test_an_active_session_lives_while_its_last_seen_write_is_pending(make_app, clock,
                                                                      monkeypatch):
    """last_seen_at is written off the request thread, and dropped while an import holds
    the lock: the next request must not judge the session by the older stored value."""
    app = make_app(SESSION_IDLE_MINUTES=30, SESSION_MAX_HOURS=2)
    client = signed_in(app, "anna")
    touches.flush()
    monkeypatch.setattr(sessions, "touch", lambda *a, **k: None)  # every write dropped
    for _ in range(3):
        clock.advance(minutes=25)
        assert not is_signed_out(client)
    clock.advance(minutes=31)
    assert is_signed_out(client)


def test_last_seen_is_written_at_most_once_a_minute(app, clock, monkeypatch):
    client = signed_in(app, "anna")
    with app.app_context():
        store = get_store()
    writes = []
    original = type(store).update
    monkeypatch.setattr(type(store), "update",
                        lambda self, layer, *a, **k: writes.append(layer) or original(
                            self, layer, *a, **k))
    for _ in range(5):
        client.get("/findings")
    assert writes == []
    touches.flush()
    assert writes == []
    clock.advance(seconds=61)
    client.get("/findings")
    touches.flush()
    client.get("/findings")
    touches.flush()
    assert writes == ["sessions"]


# --- throttling ----------------------------------------------------------------------


def test_twenty_failures_lock_the_name_even_for_the_right_password(app, clock):
    create_user(app, "anna", "läsare")
    create_user(app, "bertil", "läsare")
    client = app.test_client()
    for _ in range(20):
        assert login(client, "anna", "fel-losenord").status_code == 401
    response = login(client, "anna")
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "För många misslyckade inloggningar" in text and "försök igen om 5 minuter" in text
    assert int(response.headers["Retry-After"]) <= 300
    # another user from the same address is not affected
    assert login(client, "bertil").status_code == 302
    # the lock is per name whatever its case
    assert login(app.test_client(), "ANNA ", "x").status_code == 429
    clock.advance(minutes=4)
    response = login(app.test_client(), "anna")
    assert response.status_code == 429 and "om 1 minut" in response.get_data(as_text=True)
    clock.advance(minutes=2)
    assert login(app.test_client(), "anna").status_code == 302


def test_failures_spread_over_more_than_the_window_do_not_lock(app, clock):
    create_user(app, "anna", "läsare")
    client = app.test_client()
    for _ in range(19):
        login(client, "anna", "fel-losenord")
    clock.advance(seconds=61)
    for _ in range(5):
        login(client, "anna", "fel-losenord")
    assert login(client, "anna").status_code == 302


def test_one_address_is_limited_across_names(make_app):
    app = make_app(LOGIN_MAX_FAILURES_PER_ADDRESS=5)
    create_user(app, "anna", "läsare")
    here, elsewhere = app.test_client(), app.test_client()
    here.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.8"
    for i in range(5):
        assert login(here, f"namn{i}", "fel-losenord").status_code == 401
    assert login(here, "anna").status_code == 429
    assert login(elsewhere, "anna").status_code == 302


def test_failed_attempts_are_pruned_and_do_not_store_the_name(app, clock):
    client = app.test_client()
    login(client, "mitt-hemliga-losenord", "x")
    with app.app_context():
        rows = get_store().read("login_attempts")
    assert len(rows) == 1 and "mitt-hemliga" not in str(rows.to_dict("records"))
    clock.advance(minutes=10)
    login(client, "someone", "x")
    with app.app_context():
        assert get_store().count("login_attempts") == 1


def test_known_and_unknown_names_cost_the_same_hash_work(app, monkeypatch):
    from layers.domain import users

    create_user(app, "anna", "läsare")
    create_user(app, "vilande", "läsare")
    run_cli(app, "users", "disable", "vilande")
    with app.app_context():
        store = get_store()
        users.authenticate(store, "okand", "x")  # the dummy hash exists from now on
        counts = {"check": 0, "generate": 0}
        check, generate = users.check_password_hash, users.generate_password_hash

        def counting(name, fn):
            def wrapped(*args, **kwargs):
                counts[name] += 1
                return fn(*args, **kwargs)
            return wrapped

        monkeypatch.setattr(users, "check_password_hash", counting("check", check))
        monkeypatch.setattr(users, "generate_password_hash", counting("generate", generate))
        for name in ("okand", "anna", "vilande"):
            counts.update(check=0, generate=0)
            assert users.authenticate(store, name, "fel-losenord") is None
            assert counts == {"check": 1, "generate": 0}, name
        # the dummy has the same scrypt parameters as a stored hash
        stored = store.read("users", users.Query(where={"id": "anna"}))["password_hash"].iloc[0]
        assert users._dummy_hash().split("$")[0] == stored.split("$")[0]
        assert stored.startswith("scrypt:")


# --- API tokens ----------------------------------------------------------------------


def test_tokens_expire_can_be_listed_and_revoked(app, clock):
    create_user(app, "ingrid", "inventerare")
    result = run_cli(app, "users", "token", "ingrid", "--days", "2", "--name", "mobilen")
    assert result.exit_code == 0, result.output
    short = result.output.strip()
    long = run_cli(app, "users", "token", "ingrid").output.strip()
    client = app.test_client()

    def get(token):
        return client.get("/api/findings", headers={"Authorization": f"Bearer {token}"})

    assert get(short).status_code == 200 and get(long).status_code == 200
    listing = run_cli(app, "users", "tokens", "ingrid").output
    assert "mobilen" in listing and listing.count("giltig") == 2
    clock.advance(days=3)
    response = get(short)
    assert response.status_code == 401 and "gått ut" in response.get_json()["error"]
    assert "utgången" in run_cli(app, "users", "tokens", "ingrid").output
    assert get(long).status_code == 200

    token_id = sessions.token_hash(long)[:12]
    assert token_id in run_cli(app, "users", "tokens", "ingrid").output
    result = run_cli(app, "users", "revoke", token_id)
    assert result.exit_code == 0, result.output
    response = get(long)
    assert response.status_code == 401 and "återkallad" in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert run_cli(app, "users", "revoke", "0000").exit_code == 1
    response = get("tk_inte-en-nyckel")
    assert response.status_code == 401 and "ogiltig" in response.get_json()["error"]


def test_a_token_records_when_it_was_last_used(app, clock):
    create_user(app, "ingrid", "inventerare")
    token = run_cli(app, "users", "token", "ingrid").output.strip()
    with app.app_context():
        assert get_store().read("api_tokens")["last_used_at"].isna().all()
    app.test_client().get("/api/findings", headers={"Authorization": f"Bearer {token}"})
    touches.flush()
    with app.app_context():
        used = get_store().read("api_tokens")["last_used_at"].iloc[0]
    assert abs(used - pd.Timestamp.now(tz=LOCAL_TZ)) < pd.Timedelta(minutes=1)
    line = run_cli(app, "users", "tokens", "ingrid").output.splitlines()[1]
    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", line)) == 3  # created, expires, used


def test_a_disabled_users_token_is_refused(app):
    create_user(app, "ingrid", "inventerare")
    token = run_cli(app, "users", "token", "ingrid").output.strip()
    run_cli(app, "users", "disable", "ingrid")
    response = app.test_client().get("/api/findings",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "avstängd" in response.get_json()["error"]
