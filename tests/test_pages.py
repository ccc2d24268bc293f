"""Fast bbox pages: the pages of a query hold exactly the rows a plain read finds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from layers.io.filters import parse_filter
from mapapp.store_ import get_store

# every test here that uses a store runs on GeoPackage and on PostGIS
pytestmark = pytest.mark.both_stores


@pytest.mark.parametrize("args", [
    {"bbox": "18.03,59.30,18.11,59.325", "period": "2025-T2"},
    {"bbox": "17.75,59.2,18.25,59.45", "period": "2024-03", "category": "ran,hot"},
    {"bbox": "17.0,59.0,17.01,59.01", "period": "2025"},
])
def test_pages_cover_the_plain_read_once_and_in_a_stable_order(demo_app, args):
    with demo_app.app_context():
        store = get_store()
        flt = parse_filter({**args, "limit": "700"})
        want = store.read("incidents", flt.incident_query())["id"].tolist()

        def all_pages() -> list[str]:
            got: list[str] = []
            offset = 0
            while True:
                query = flt.with_(offset=offset).incident_query(paged=True)
                page = store.read_page("incidents", query)
                got += page["id"].tolist()[:700]
                if len(page) <= 700:
                    return got
                offset += 700

        first = all_pages()
        assert sorted(first) == sorted(want) and len(set(first)) == len(first)
        assert all_pages() == first


def test_without_bbox_pages_are_in_time_order(demo_app):
    with demo_app.app_context():
        store = get_store()
        query = parse_filter({"period": "2025-05", "limit": "50"}).incident_query(paged=True)
        page = store.read_page("incidents", query)
        assert len(page) == 51 and page["occurred_at"].is_monotonic_increasing
        whole = store.read_page("incidents", replace(query, limit=None))
        assert page["id"].tolist() == whole["id"].tolist()[:51]
