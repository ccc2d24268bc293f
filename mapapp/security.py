"""Security headers, the per-request script nonce, the cookie's Secure flag, ProxyFix.

Every response gets a Content-Security-Policy that lets the browser load only the
app's own files (and the basemap tiles of ``TILE_URL``), and run only scripts served
by the app or carrying this request's nonce. Templates therefore mark every inline
script ``<script nonce="{{ csp_nonce() }}">``; folium's own inline scripts get the
nonce where folium's output is produced (:mod:`mapapp.folium_`). Inline event
handlers (``onclick=``, ``onsubmit=``) are blocked: behaviour belongs in static JS
(``data-confirm`` on a form asks before sending, see ``static/js/common.js``).

Behind a TLS reverse proxy, ``PROXY_FIX`` (the number of proxies in front) makes
Werkzeug's ProxyFix trust their ``X-Forwarded-*`` headers, so ``request.is_secure``
and ``request.remote_addr`` are the client's; ``SESSION_COOKIE_SECURE = "auto"``
then marks the cookie Secure exactly when the client speaks https.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, g, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

_TRUE = {"1", "true", "yes", "on", "ja"}
_FALSE = {"0", "false", "no", "off", "nej", ""}


def csp_nonce() -> str:
    """This request's script nonce (made on first use; a Jinja global)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def tile_source(tile_url: str | None) -> str | None:
    """The CSP source of a tile URL template: its scheme and host, ``{s}`` as ``*``.

    ``https://{s}.tile.example.org/{z}/{x}/{y}.png`` → ``https://*.tile.example.org``.
    """
    if not tile_url:
        return None
    parts = urlsplit(tile_url)
    if not parts.scheme or not parts.netloc:
        return None  # a relative URL: served by the app itself ('self')
    host = parts.netloc.rsplit("@", 1)[-1]
    if host.startswith("{"):
        host = "*" + host[host.index("}") + 1:]
    return f"{parts.scheme}://{host}"


def content_security_policy(nonce: str, tile_url: str | None) -> str:
    """The policy for one response (see the module docstring)."""
    tiles = tile_source(tile_url)
    img = "'self' data: blob:" + (f" {tiles}" if tiles else "")
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        # Leaflet and Bootstrap set style attributes; styles cannot run code
        "style-src 'self' 'unsafe-inline'",
        f"img-src {img}",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def cookie_secure_setting(value: object) -> bool | str:
    """Read SESSION_COOKIE_SECURE: True, False or "auto" (from config or environment)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"SESSION_COOKIE_SECURE must be auto, true or false, not {value!r}")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session with SESSION_COOKIE_SECURE = "auto" support.

    The signed cookie keeps only the session token (see :mod:`mapapp.auth`), the
    CSRF token and flashed messages; who is signed in lives in the store.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        setting = app.config["SESSION_COOKIE_SECURE"]
        if setting == "auto":
            return has_request_context() and request.is_secure
        return bool(setting)


def _add_headers(response: Response) -> Response:
    from flask import current_app

    headers = response.headers
    headers.setdefault("Content-Security-Policy",
                       content_security_policy(csp_nonce(), current_app.config.get("TILE_URL")))
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # the origin only, and only over https: OpenStreetMap's tile servers want a referrer
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


def init_app(app: Flask) -> None:
    """Headers on every response, the nonce helper, the cookie flag and ProxyFix."""
    app.config["SESSION_COOKIE_SECURE"] = cookie_secure_setting(
        app.config.get("SESSION_COOKIE_SECURE", "auto"))
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.session_interface = SessionInterface()
    proxies = int(app.config.get("PROXY_FIX") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies, x_port=proxies, x_prefix=proxies)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_add_headers)
