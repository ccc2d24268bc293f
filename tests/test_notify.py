"""Status mails (issue 12, acceptance 4) against a real SMTP server started by the test.

An aiosmtpd server on 127.0.0.1 receives what the app sends. Assigning a finding sends
one mail to the owner (NOTIFY_OWNERS), fixing it one to the reporter (the address she
set on /auth/notifications), each in Swedish with the finding's place and a link. With
the server down the status change still succeeds, the mail waits in the outbox and is
sent on the next run after the server is back. Without SMTP nothing is queued and
nothing fails; a daily digest waits for its hour and comes as one mail.
"""

from __future__ import annotations

import socket
import time
from email import message_from_bytes, policy

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_test_app
from test_findings_web import csrf_token, post_form, user_client

from layers.core import clock
from layers.domain.notify import DIGEST_HOUR, MAX_ATTEMPTS, SmtpSettings, send_pending
from layers.store.base import Query
from mapapp.cli import cli
from mapapp.notify import run_sender_once, start_sender
from mapapp.store_ import get_store

aiosmtpd = pytest.importorskip("aiosmtpd.controller")

SENDER = "trygghetskartan@example.se"
OWNER_ADDRESS = "trygghet@trafikkontoret.example.se"
REPORTER_ADDRESS = "ingrid@example.se"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list = []
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def start(self) -> Inbox:
        self.controller = aiosmtpd.Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def inbox(port):
    box = Inbox(port)
    yield box
    box.stop()


def mail_app(data_dir, port: int, **extra):
    return make_test_app(data_dir, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_FROM=SENDER,
                         SMTP_TLS="none", NOTIFY_OWNERS={"trafikkontoret": OWNER_ADDRESS},
                         **extra)


def _people(app, *, notify: str = "genast"):
    """Ingrid records a finding and sets her address; Hanna (handläggare) handles it."""
    ingrid = user_client(app, "ingrid", "inventerare")
    assert post_form(ingrid).status_code == 302
    response = ingrid.post("/auth/notifications", data={
        "csrf_token": csrf_token(ingrid, "/auth/notifications"), "email": REPORTER_ADDRESS,
        "notify": notify})
    assert response.status_code == 302
    hanna = user_client(app, "hanna", "handläggare")
    with app.app_context():
        finding_id = get_store().read("findings")["id"].iloc[0]
    return ingrid, hanna, finding_id


def _status(client, finding_id: str, status: str, **fields):
    return client.post(f"/findings/{finding_id}/status", data={
        "csrf_token": csrf_token(client, f"/findings/{finding_id}"), "status": status,
        **fields})


def _outbox(app):
    with app.app_context():
        return get_store().read("notify_outbox")


def test_assigning_mails_the_owner_and_fixing_mails_the_reporter(data_dir, inbox, port):
    app = mail_app(data_dir, port)
    inbox.start()
    _, hanna, fid = _people(app)

    assert _status(hanna, fid, "tilldelad", owner="trafikkontoret").status_code == 302
    assert _outbox(app)["status"].tolist() == ["pending"]  # queued, not sent in the request
    assert inbox.messages == []
    report = run_sender_once(app)
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    assert len(inbox.messages) == 1
    to, mail = inbox.messages[0]
    assert to == [OWNER_ADDRESS] and mail["To"] == OWNER_ADDRESS and mail["From"] == SENDER
    assert mail["Subject"].startswith("Fynd att åtgärda: belysning")
    body = mail.get_content()
    assert "har tilldelats trafikkontoret att åtgärda" in body
    assert "Plats: stadsdel Husby" in body  # no site in this store: the stadsdel
    assert f"http://localhost/findings/{fid}" in body

    assert _status(hanna, fid, "atgardad").status_code == 302
    report = run_sender_once(app)
    assert report.sent == 1 and len(inbox.messages) == 2
    to, mail = inbox.messages[1]
    assert to == [REPORTER_ADDRESS]
    assert mail["Subject"].startswith("Ditt fynd är åtgärdad: belysning")
    assert "Fyndet du registrerade har markerats som åtgärdad." in mail.get_content()

    # a second run sends nothing more; every row is marked sent
    assert run_sender_once(app).sent == 0 and len(inbox.messages) == 2
    outbox = _outbox(app)
    assert outbox["status"].tolist() == ["sent", "sent"]
    assert sorted(outbox["kind"]) == ["atgardad", "tilldelad"]


def test_with_the_server_down_the_change_succeeds_and_the_mail_goes_next_run(data_dir, inbox,
                                                                            port):
    app = mail_app(data_dir, port)  # nothing listens on the port yet
    _, hanna, fid = _people(app)
    with clock.frozen("2025-06-02 09:59"):
        response = _status(hanna, fid, "tilldelad", owner="trafikkontoret")
    assert response.status_code == 302
    with app.app_context():
        assert get_store().read("findings")["status"].tolist() == ["tilldelad"]
    with clock.frozen("2025-06-02 10:00"):
        report = run_sender_once(app)
    assert (report.sent, report.retrying) == (0, 1)
    row = _outbox(app).iloc[0]
    assert row["status"] == "pending" and int(row["attempts"]) == 1
    assert "SMTP-servern svarar inte" in row["last_error"]

    inbox.start()
    with clock.frozen("2025-06-02 10:00:30"):
        # the first retry waits a minute
        assert run_sender_once(app).waiting == 1 and inbox.messages == []
    with clock.frozen("2025-06-02 10:02"):
        report = run_sender_once(app)
    assert report.sent == 1
    assert [to for to, _ in inbox.messages] == [[OWNER_ADDRESS]]
    row = _outbox(app).iloc[0]
    assert row["status"] == "sent" and int(row["attempts"]) == 2
    with clock.frozen("2025-06-02 11:00"):
        assert run_sender_once(app).sent == 0
    assert len(inbox.messages) == 1


def test_a_mail_that_never_goes_is_given_up_after_max_attempts(data_dir, port, caplog):
    app = mail_app(data_dir, port)
    _, hanna, fid = _people(app)
    with clock.frozen("2025-06-02 09:59"):
        assert _status(hanna, fid, "tilldelad", owner="trafikkontoret").status_code == 302
    with app.app_context():
        store = get_store()
        settings = SmtpSettings("127.0.0.1", port, SENDER, "none", timeout=2)
        when = clock.as_local("2025-06-02 10:00")
        for _ in range(MAX_ATTEMPTS):
            send_pending(store, settings, now=when)
            when += pd.Timedelta(hours=2)
        row = store.read("notify_outbox").iloc[0]
    assert row["status"] == "failed" and int(row["attempts"]) == MAX_ATTEMPTS
    assert "given up" in caplog.text


def test_without_smtp_nothing_is_queued_and_nothing_fails(app, data_dir):
    _, hanna, fid = _people(app)
    assert _status(hanna, fid, "tilldelad", owner="trafikkontoret").status_code == 302
    assert _status(hanna, fid, "atgardad").status_code == 302
    with app.app_context():
        assert get_store().read("findings")["status"].tolist() == ["atgardad"]
    assert _outbox(app).empty
    assert run_sender_once(app).sent == 0
    page = hanna.get("/auth/notifications").get_data(as_text=True)
    assert "E-post är inte konfigurerad" in page


def test_a_refused_status_change_queues_no_mail(data_dir, port):
    app = mail_app(data_dir, port)
    _, hanna, fid = _people(app)
    # the page was opened when the finding was "tilldelad": the change is refused
    response = _status(hanna, fid, "atgardad", seen_status="tilldelad")
    assert response.status_code == 302
    with app.app_context():
        assert get_store().read("findings")["status"].tolist() == ["ny"]
    assert _outbox(app).empty


def test_owner_without_address_and_reporter_who_opted_out_get_nothing(data_dir, port):
    app = mail_app(data_dir, port)
    _, hanna, fid = _people(app, notify="aldrig")
    assert _status(hanna, fid, "tilldelad", owner="polisen").status_code == 302
    assert _status(hanna, fid, "avvisad", comment="Dubblett").status_code == 302
    assert _outbox(app).empty


def test_daily_digest_waits_for_its_hour_and_comes_as_one_mail(data_dir, inbox, port):
    app = mail_app(data_dir, port)
    inbox.start()
    ingrid, hanna, first = _people(app, notify="dagligen")
    assert post_form(ingrid, description="Buskage skymmer gångvägen",
                     category="vegetation").status_code == 302
    with app.app_context():
        second = get_store().read("findings", Query(where={"category": "vegetation"}))[
            "id"].iloc[0]
    with clock.frozen("2025-06-02 15:00"):
        assert _status(hanna, first, "avvisad", comment="Inte vårt område").status_code == 302
        assert _status(hanna, second, "tilldelad", owner="polisen").status_code == 302
        assert _status(hanna, second, "atgardad").status_code == 302
        assert run_sender_once(app).waiting == 2
    assert inbox.messages == []
    with clock.frozen(f"2025-06-03 {DIGEST_HOUR:02d}:01"):
        report = run_sender_once(app)
    assert report.sent == 2 and len(inbox.messages) == 1
    to, mail = inbox.messages[0]
    assert to == [REPORTER_ADDRESS]
    assert mail["Subject"] == "Trygghetskartan: 2 ändringar av dina fynd"
    body = mail.get_content()
    assert "avvisad" in body and "åtgärdad" in body and "Inte vårt område" in body


def test_notifications_page_refuses_a_bad_address(app):
    client = user_client(app, "lasse", "läsare")
    response = client.post("/auth/notifications", data={
        "csrf_token": csrf_token(client, "/auth/notifications"), "email": "inte en adress",
        "notify": "genast"})
    assert response.status_code == 422
    assert "ingen giltig e-postadress" in response.get_data(as_text=True)
    with app.app_context():
        row = get_store().read("users", Query(where={"id": "lasse"})).iloc[0]
    assert row["email"] is None


def test_cli_notify_sends_what_waits(data_dir, inbox, port, monkeypatch):
    app = mail_app(data_dir, port)
    _, hanna, fid = _people(app)
    assert _status(hanna, fid, "tilldelad", owner="trafikkontoret").status_code == 302
    inbox.start()
    for key, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", str(port)),
                       ("SMTP_FROM", SENDER), ("SMTP_TLS", "none")):
        monkeypatch.setenv(f"TRYGGHETSKARTAN_{key}", value)
    result = CliRunner().invoke(cli, ["notify", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "1 skickade" in result.output
    assert [to for to, _ in inbox.messages] == [[OWNER_ADDRESS]]
    monkeypatch.setenv("TRYGGHETSKARTAN_SMTP_TLS", "kanske")
    result = CliRunner().invoke(cli, ["notify", "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and "SMTP_TLS" in result.output


def test_the_serve_thread_sends_in_the_background(data_dir, inbox, port):
    app = mail_app(data_dir, port)
    inbox.start()
    _, hanna, fid = _people(app)
    assert start_sender(make_test_app(data_dir)) is None  # no SMTP: no thread
    thread = start_sender(app, interval=0.2)
    try:
        assert _status(hanna, fid, "tilldelad", owner="trafikkontoret").status_code == 302
        deadline = time.monotonic() + 15
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [to for to, _ in inbox.messages] == [[OWNER_ADDRESS]]
    finally:
        thread.stop.set()
        thread.join(timeout=10)
    assert _outbox(app)["status"].tolist() == ["sent"]


@pytest.mark.postgis
def test_outbox_and_sender_on_postgis(postgis_schema_url, inbox, port):
    """The same outbox on PostGIS: queued with the change, claimed, sent once."""
    from test_findings_domain import add_finding

    from layers.domain import findings as core
    from layers.domain.notify import messages_hook
    from layers.domain.users import add_user
    from layers.io.reference import load_reference
    from layers.store import open_store

    store = open_store(postgis_schema_url)
    try:
        store.initialize()
        load_reference(store)
        add_finding(store, "t:1")
        add_user(store, "test", "inventerare", "losenord123")
        store.update("users", "test", {"email": REPORTER_ADDRESS, "notify": "genast"})
        settings = SmtpSettings("127.0.0.1", port, SENDER, "none", timeout=5)
        hook = messages_hook(store, settings=settings,
                             owners={"trafikkontoret": OWNER_ADDRESS},
                             link=lambda fid: f"https://karta.example.se/findings/{fid}")
        with clock.frozen("2025-06-02 10:00"):
            core.change_status(store, "t:1", "tilldelad", user="hanna", owner="trafikkontoret",
                               notify=hook)
            core.change_status(store, "t:1", "atgardad", user="hanna", notify=hook)
            assert send_pending(store, settings).retrying == 2  # the server is not up yet
        inbox.start()
        with clock.frozen("2025-06-02 10:05"):
            assert send_pending(store, settings).sent == 2
            assert send_pending(store, settings).sent == 0
        assert sorted(to[0] for to, _ in inbox.messages) == [REPORTER_ADDRESS, OWNER_ADDRESS]
        assert "https://karta.example.se/findings/t:1" in inbox.messages[0][1].get_content()
        assert store.read("notify_outbox")["status"].tolist() == ["sent", "sent"]
    finally:
        store.close()
