"""``trygghetskartan users add``: ``--sdo`` is resolved against the store's areas."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from layers.domain.users import get_user
from mapapp.cli import cli


def add(data_dir: Path, *args: str):
    result = CliRunner().invoke(cli, ["users", "add", *args, "--data-dir", str(data_dir)],
                                env={"TRYGGHETSKARTAN_PASSWORD": "hemligt-lösen"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_sdo_name_is_stored_as_its_code(data_dir, store):
    for name, sdo in (("hanna", "Järva"), ("hugo", "JARVA"), ("hilda", "jarva")):
        result = add(data_dir, name, "--role", "handläggare", "--sdo", sdo)
        assert result.exit_code == 0, result.output
        assert get_user(store, name).sdo_code == "jarva"


def test_unknown_sdo_is_refused(data_dir, store):
    result = add(data_dir, "atle", "--role", "handläggare", "--sdo", "Atlantis")
    assert result.exit_code == 1, result.output
    assert "Okänt stadsdelsområde 'Atlantis'" in result.output
    assert "Järva" in result.output and "Södermalm" in result.output
    assert get_user(store, "atle") is None


# --- issue 13: list, role, disable/enable, password, tokens, revoke ------------------------


def run(data_dir: Path, *args: str, password: str = "hemligt-lösen"):
    result = CliRunner().invoke(cli, [*args, "--data-dir", str(data_dir)],
                                env={"TRYGGHETSKARTAN_PASSWORD": password})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def signed_in(data_dir: Path, name: str, password: str = "hemligt-lösen"):
    """A test client of an app on ``data_dir``, signed in as ``name``."""
    from conftest import make_test_app
    from infra import login

    client = make_test_app(data_dir).test_client()
    return client, login(client, name, password)


def test_list_role_disable_enable_password(data_dir: Path, store):
    add(data_dir, "anna", "--role", "admin")
    add(data_dir, "bertil", "--role", "inventerare", "--sdo", "Järva",
        "--display-name", "Bertil B")
    listing = run(data_dir, "users", "list")
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0].split()[:4] == ["namn", "roll", "område", "status"]
    assert lines[1].split()[:4] == ["anna", "admin", "–", "aktiv"]
    assert lines[2].split()[:4] == ["bertil", "inventerare", "jarva", "aktiv"]

    assert run(data_dir, "users", "role", "bertil", "handläggare").exit_code == 0
    assert get_user(store, "bertil").role == "handläggare"
    assert run(data_dir, "users", "role", "bertil", "kung").exit_code == 2
    # the last active admin can neither lose the role nor be disabled
    refused = run(data_dir, "users", "role", "anna", "läsare")
    assert refused.exit_code == 1 and "enda aktiva administratören" in refused.output
    assert run(data_dir, "users", "disable", "anna").exit_code == 1
    assert get_user(store, "anna").role == "admin"

    client, response = signed_in(data_dir, "bertil")
    assert response.status_code == 302 and client.get("/findings/new").status_code == 200
    result = run(data_dir, "users", "disable", "bertil")
    assert result.exit_code == 0 and "1 sessioner avslutades" in result.output
    assert client.get("/findings/new").status_code == 302  # signed out at once
    assert signed_in(data_dir, "bertil")[1].status_code == 401  # and cannot sign in
    assert "avstängd" in run(data_dir, "users", "list").output
    assert run(data_dir, "users", "enable", "bertil").exit_code == 0
    assert signed_in(data_dir, "bertil")[1].status_code == 302

    assert run(data_dir, "users", "password", "bertil", password="ett-nytt-losen").exit_code == 0
    assert signed_in(data_dir, "bertil")[1].status_code == 401
    assert signed_in(data_dir, "bertil", "ett-nytt-losen")[1].status_code == 302
    assert run(data_dir, "users", "role", "okand", "läsare").exit_code == 1


def test_tokens_are_listed_hashed_and_a_revoked_one_gets_401(data_dir: Path, store):
    import hashlib

    from conftest import make_test_app

    add(data_dir, "ivar", "--role", "inventerare")
    token = run(data_dir, "users", "token", "ivar", "--name", "mobilappen").output.strip()
    assert token.startswith("tk_")
    stored = store.read("api_tokens")
    # only the sha256 is stored, never the token
    assert stored["id"].tolist() == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored.to_string()
    app = make_test_app(data_dir)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"json": [{}], "headers": headers}
    assert app.test_client().post("/api/findings", **body).status_code == 422  # accepted
    listing = run(data_dir, "users", "tokens", "ivar").output
    token_id = stored["id"].iloc[0][:12]
    assert token_id in listing and "mobilappen" in listing and "giltig" in listing
    result = run(data_dir, "users", "revoke", token_id)
    assert result.exit_code == 0 and "återkallad" in result.output
    response = app.test_client().post("/api/findings", **body)
    assert response.status_code == 401
    assert response.get_json()["error"] == "API-nyckeln är återkallad."
    assert "återkallad" in run(data_dir, "users", "tokens", "ivar").output
    assert run(data_dir, "users", "revoke", "ffffffffff").exit_code == 1


def test_admin_page_disables_a_user_and_their_sessions_end(data_dir: Path):
    import re

    add(data_dir, "anna", "--role", "admin")
    add(data_dir, "bertil", "--role", "inventerare")
    anna, _ = signed_in(data_dir, "anna")
    bertil, _ = signed_in(data_dir, "bertil")
    page = anna.get("/admin/users").get_data(as_text=True)
    assert 'data-user="bertil"' in page and "Stäng av" in page
    assert "<title>Användare – Trygghetskartan</title>" in page
    assert page.count('id="new-user-form"') == 1
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert anna.post("/admin/users/bertil/active", data={"active": "0"}).status_code == 400
    assert anna.post("/admin/users/bertil/active",
                     data={"csrf_token": token, "active": "0"}).status_code == 303
    assert bertil.get("/findings/new").status_code == 302
    assert signed_in(data_dir, "bertil")[1].status_code == 401
    assert anna.post("/admin/users/nobody/active",
                     data={"csrf_token": token, "active": "0"}).status_code == 404
    assert bertil.get("/admin/users").status_code == 302
    # a new user from the admin page, bound to an area given by name
    assert anna.post("/admin/users", data={
        "csrf_token": token, "name": "cecilia", "role": "handläggare", "sdo": "Järva",
        "password": "kort"}).status_code == 303
    assert "minst 8 tecken" in anna.get("/admin/users").get_data(as_text=True)
    assert anna.post("/admin/users", data={
        "csrf_token": token, "name": "cecilia", "role": "handläggare", "sdo": "Järva",
        "display_name": "Cecilia C", "password": "langt-losen"}).status_code == 303
    assert signed_in(data_dir, "cecilia", "langt-losen")[1].status_code == 302
    listing = run(data_dir, "users", "list").output
    assert "cecilia" in listing and "jarva" in listing
