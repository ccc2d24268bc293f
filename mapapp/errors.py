"""Errors that reach the top: a Swedish page (HTML) or JSON (under ``/api/``), never
Werkzeug's English page.

An uncaught exception gets an error id: the server log has the id with the
traceback (:meth:`App.log_exception`), and the answer (500) shows the same id, so a
user's report can be found in the log. Every HTTP error without a handler of its
own (405, 415, 429, …) gets a Swedish title and, unless the view gave a Swedish
description, a Swedish message. The specific handlers (400, 403, 404, 413, 503 for
StoreBusy, CSRF) are in :func:`mapapp._register_page_helpers`.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, Response, g, has_request_context, jsonify, render_template, request
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException, InternalServerError

LOGGER = logging.getLogger(__name__)

#: Swedish titles of the HTTP errors (the message defaults to the same text).
TITLES = {
    400: "Felaktig förfrågan",
    401: "Inloggning krävs",
    403: "Åtkomst nekad",
    404: "Sidan finns inte",
    405: "Metoden är inte tillåten",
    406: "Formatet kan inte levereras",
    408: "Förfrågan tog för lång tid",
    409: "Konflikt",
    410: "Sidan finns inte längre",
    411: "Längd saknas",
    412: "Villkoret uppfylls inte",
    413: "Filen är för stor",
    414: "Adressen är för lång",
    415: "Filtypen stöds inte",
    416: "Intervallet kan inte levereras",
    422: "Uppgifterna kunde inte behandlas",
    428: "Villkor krävs",
    429: "För många förfrågningar",
    431: "Förfrågans huvuden är för stora",
    500: "Ett oväntat fel inträffade",
    501: "Funktionen finns inte",
    503: "Tjänsten är inte tillgänglig",
}
MESSAGES = {
    401: "Logga in för att fortsätta.",
    405: "Adressen tar inte emot den här sortens förfrågan.",
    413: "Förfrågan är för stor. Inget sparades.",
    414: "Adressen är för lång för att tolkas.",
    415: "Filtypen eller innehållstypen stöds inte. Inget sparades.",
    429: "För många förfrågningar på kort tid. Vänta en stund och försök igen.",
    431: "Förfrågans huvuden är för stora för att tolkas.",
}


def new_error_id() -> str:
    """A short random id that ties an error answer to its lines in the server log."""
    return secrets.token_hex(6)


class App(Flask):
    """Flask, with the error id in the log line of every uncaught exception."""

    def log_exception(self, exc_info: tuple) -> None:
        error_id = new_error_id()
        if has_request_context():
            g.error_id = error_id
            self.logger.error("Fel-id %s: oväntat fel vid %s %s", error_id, request.method,
                              request.path, exc_info=exc_info)
        else:
            self.logger.error("Fel-id %s: oväntat fel", error_id, exc_info=exc_info)


def swedish_message(exc: HTTPException) -> str:
    """The view's own description when it gave one, else a Swedish text for the code."""
    description = exc.description
    if description and description != type(exc).description:
        return description
    code = exc.code or 500
    return MESSAGES.get(code, TITLES.get(code, "Förfrågan kunde inte behandlas.") + ".")


def error_response(status: int, title: str, message: str, error_id: str | None = None):
    """A Swedish error page, or ``{"error": …}`` JSON for the API (with ``error_id``)."""
    if request.path.startswith("/api/"):
        body = {"error": message}
        if error_id:
            body["error_id"] = error_id
        return jsonify(body), status
    try:
        return render_template("error.html", title=title, message=message,
                               error_id=error_id), status
    except Exception:  # the page itself failed (a broken store, say): plain Swedish HTML
        LOGGER.exception("the error page could not be rendered")
        text = escape(message) + (Markup(" (fel-id <code>%s</code>)") % error_id
                                  if error_id else "")
        page = Markup('<!doctype html><html lang="sv"><head><meta charset="utf-8">'
                      "<title>%s</title></head><body><h1>%s</h1><p>%s</p></body></html>"
                      ) % (title, title, text)
        return Response(str(page), mimetype="text/html"), status


def init_app(app: Flask) -> None:
    """Register the handlers for HTTP errors without their own and for uncaught ones."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        response, status = error_response(code, TITLES.get(code, f"Fel {code}"),
                                          swedish_message(exc))
        response = app.make_response((response, status))
        # keep what the protocol needs (Allow on 405, WWW-Authenticate on 401, …)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError):
        error_id = g.get("error_id")
        if error_id is None:
            # an explicit abort(500): nothing was logged by log_exception yet
            error_id = new_error_id()
            LOGGER.error("Fel-id %s: %s %s gav 500", error_id, request.method, request.path)
        message = (f"Ett oväntat fel inträffade. Ange fel-id {error_id} om du kontaktar "
                   "förvaltningen; felet finns i serverns logg.")
        return error_response(500, TITLES[500], message, error_id)
