"""Errors that reach the top (issue 16): a Swedish page or JSON with an error id that is
also in the server log, never Werkzeug's English page."""

from __future__ import annotations

import logging
import re

import pytest
from infra import make_test_app
from werkzeug import exceptions


@pytest.fixture
def crashing_app(data_dir):
    app = make_test_app(data_dir, PROPAGATE_EXCEPTIONS=False)

    def boom():
        raise RuntimeError("hemligt internt fel")

    app.add_url_rule("/krasch", "krasch", boom)
    app.add_url_rule("/api/krasch", "api_krasch", boom)
    return app


def _logged_ids(caplog) -> list[str]:
    return [m for r in caplog.records if r.levelno >= logging.ERROR
            for m in re.findall(r"Fel-id ([0-9a-f]{12})", r.getMessage())]


def test_uncaught_error_gives_a_swedish_page_with_the_logged_id(crashing_app, caplog):
    caplog.set_level(logging.ERROR)
    response = crashing_app.test_client().get("/krasch")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and '<html lang="sv">' in body
    assert "Ett oväntat fel inträffade" in body and "hemligt internt fel" not in body
    assert "Internal Server Error" not in body
    shown = re.search(r"fel-id ([0-9a-f]{12})", body).group(1)
    assert _logged_ids(caplog) == [shown]
    # the log line has the traceback, so the id leads to the cause
    (record,) = [r for r in caplog.records if shown in r.getMessage()]
    assert record.exc_info and "hemligt internt fel" in str(record.exc_info[1])


def test_uncaught_api_error_gives_json_with_the_logged_id(crashing_app, caplog):
    caplog.set_level(logging.ERROR)
    response = crashing_app.test_client().get("/api/krasch")
    assert response.status_code == 500 and response.is_json
    body = response.get_json()
    assert body["error_id"] in body["error"] and _logged_ids(caplog) == [body["error_id"]]
    assert "hemligt" not in response.get_data(as_text=True)


def test_every_id_is_new(crashing_app, caplog):
    client = crashing_app.test_client()
    ids = {client.get("/api/krasch").get_json()["error_id"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize(("method", "path", "status"), [
    ("delete", "/", 405), ("put", "/api/incidents", 405), ("get", "/finns/inte", 404),
    ("post", "/api/incidents/grid", 405),
])
def test_http_errors_are_swedish_never_werkzeugs(app, method, path, status):
    response = getattr(app.test_client(), method)(path)
    body = response.get_data(as_text=True)
    assert response.status_code == status
    defaults = [cls.description for cls in vars(exceptions).values()
                if isinstance(cls, type) and issubclass(cls, exceptions.HTTPException)
                and isinstance(cls.description, str)]
    assert not any(text in body for text in defaults)
    if path.startswith("/api/"):
        assert response.get_json()["error"]
    else:
        assert '<html lang="sv">' in body
    if status == 405:
        assert "GET" in response.headers["Allow"]
