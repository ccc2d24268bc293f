"""/healthz: 200 when the store answers, for load balancers and monitoring."""

from __future__ import annotations

from flask import Blueprint, jsonify

from mapapp.store_ import get_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 when the store can be queried, else 503."""
    try:
        store = get_store()
        ok = store.ping()
    except Exception as exc:  # any failure to reach the store means unhealthy
        return jsonify({"status": "error", "detail": str(exc)}), 503
    return (jsonify({"status": "ok", "store": store.kind}), 200) if ok else \
        (jsonify({"status": "error", "store": store.kind}), 503)
