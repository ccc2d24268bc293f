"""Disclosure control (issue 17, points 2–4): cache keys and what a count may reveal.

* Acceptance 2: every cached grid answer equals the answer computed afresh, whatever
  order category sets and filters are asked in (the cache once served the robbery
  grid as "all categories").
* Acceptance 3a: as an anonymous visitor and as a läsare, no two grid answers whose
  category sets differ only by sensitive codes differ at all: the sensitive
  categories are left out of every sum, and naming one is refused (403).
* Acceptance 3b: the raw responses those roles get (pages, embedded JSON, the API)
  never hold a suppressed count of 1–4.

The rule is :func:`layers.core.privacy.counted_categories`; ``docs/privacy.md`` explains it.
"""

from __future__ import annotations

import json
import random
import re

import pytest
from infra import create_user, login

from layers.analysis import aggregate
from layers.analysis.lighting import lighting_conflicts
from layers.core import privacy
from layers.core.periods import Period
from layers.core.schema import INCIDENT_CATEGORIES, SENSITIVE_CODES
from layers.domain.sites import figures_for_sites
from layers.io.filters import CATEGORY_GROUPS, parse_categories
from mapapp.store_ import get_store

PERIOD = "2024-T1"
CELL = 500
ALL_CODES = tuple(c.code for c in INCIDENT_CATEGORIES)
PUBLIC_CODES = tuple(c for c in ALL_CODES if c not in SENSITIVE_CODES)
#: JSON members that hold an incident count (or a text of one).
COUNT_KEYS = frozenset({
    "count", "previous", "total", "total_previous", "imprecise", "strategic", "incidents",
    "previous_incidents", "sensitive_incidents", "n_incidents", "n_sensitive", "dark",
    "daylight", "weight", "site_before", "site_after", "ring_before", "ring_after",
})
#: JSON members whose values are counts per category.
COUNT_MAPS = frozenset({"by_category", "categories"})


def client_as(app, role: str | None):
    client = app.test_client()
    if role:
        create_user(app, f"user-{role}", role)
        login(client, f"user-{role}")
    return client


def grid_url(category: str = "", **params: str) -> str:
    query = {"period": PERIOD, "cell": str(CELL), **params}
    if category:
        query["category"] = category
    return "/api/incidents/grid?" + "&".join(f"{k}={v}" for k, v in query.items())


def cells(body: dict) -> dict[str, dict]:
    """Per-cell numbers of a grid answer (everything a visitor could difference)."""
    return {f["id"]: f["properties"] for f in body["features"]} | {
        "_totals": {k: body[k] for k in ("total", "total_previous", "imprecise")}}


# --- acceptance 2: cache keys -------------------------------------------------------------


@pytest.mark.parametrize("role", [None, "admin"])
def test_cached_grids_equal_fresh_ones_in_any_order(demo_app, role):
    client = client_as(demo_app, role)
    filters = [{}, {"sdn": "jarva"}, {"stadsdel": "rinkeby"},
               {"bbox": "18.03,59.30,18.11,59.325"}]
    sets = ["ran", "", "stold", "stold", "", "ran", "vald", "strategiska", "",
            "ran,stold", "egendom", ""]
    if role == "admin":
        sets += ["sexualbrott", "", "sexualbrott,vald_nara_relation", "vald", ""]
    asked = []
    aggregate.clear_cache()
    for k, category in enumerate(sets):
        for params in filters[k % 2:] + filters[:k % 2]:  # alternate the filter order
            url = grid_url(category, **params)
            response = client.get(url)
            assert response.status_code == 200, url
            asked.append((url, response.get_json()))
    for url, cached in asked:
        aggregate.clear_cache()
        fresh = client.get(url).get_json()
        assert cached == fresh, url
    # and the direct computation agrees with the sum over its categories
    with demo_app.app_context():
        store = get_store()
        flt = parse_filter_for(PERIOD)
        every = aggregate.incident_grid(store, flt, CELL, PUBLIC_CODES)
        by_code = sum(int(aggregate.incident_grid(store, flt, CELL, (c,)).totals.sum())
                      for c in PUBLIC_CODES)
        assert int(every.totals.sum()) == by_code


def parse_filter_for(period: str):
    from layers.io.filters import parse_filter

    return parse_filter({"period": period})


def test_cache_key_holds_every_filter_field(demo_app):
    from layers.io.filters import parse_filter

    with demo_app.app_context():
        store = get_store()
        base = parse_filter({"period": PERIOD})
        keys = {
            aggregate.cache_key(store, "grid", f, visibility=v, size=s, bbox=True)
            for f in (base, base.with_(categories=("ran",)), base.with_(sdn="jarva"),
                      base.with_(stadsdel="rinkeby"), base.with_(period=Period.year(2024)),
                      base.with_(bbox=(18.0, 59.3, 18.1, 59.4)))
            for v in (privacy.VISIBILITY_PUBLIC, privacy.VISIBILITY_FULL)
            for s in (250, 500)}
        assert len(keys) == 6 * 2 * 2
        # "all" and the list of every code are one query
        assert aggregate.cache_key(store, "grid", base, visibility="x") == aggregate.cache_key(
            store, "grid", base.with_(categories=tuple(reversed(ALL_CODES))), visibility="x")


# --- acceptance 3a: differencing ------------------------------------------------------------


def _requestable_sets() -> list[str]:
    """Every category set a visitor can ask for that matters, as written."""
    rng = random.Random(17)
    sets = ["", *ALL_CODES, *CATEGORY_GROUPS]
    sets += [",".join(rng.sample(PUBLIC_CODES, rng.randint(2, 6))) for _ in range(5)]
    sets += [f"{group},{code}" for group in ("egendom", "strategiska") for code in ("ran",)]
    with_sensitive = []
    for s in sets:
        for extra in (*SENSITIVE_CODES, ",".join(SENSITIVE_CODES)):
            with_sensitive.append(f"{s},{extra}" if s else extra)
    return sets + with_sensitive


@pytest.mark.parametrize("role", [None, "läsare"])
def test_no_sensitive_count_can_be_derived_by_differencing(demo_app, role):
    client = client_as(demo_app, role)
    answers: dict[tuple[str, ...], list[tuple[str, dict]]] = {}
    refused = 0
    for category in _requestable_sets():
        _, codes = parse_categories(category)
        codes = codes or ALL_CODES
        response = client.get(grid_url(category))
        named = set(category.split(",")) & set(SENSITIVE_CODES)
        if named:
            assert response.status_code == 403, category
            refused += 1
            continue
        assert response.status_code == 200, category
        body = response.get_json()
        assert not set(body["categories"]) & set(SENSITIVE_CODES), category
        # requests that differ only by sensitive codes land in one group ...
        key = tuple(sorted(c for c in codes if c not in SENSITIVE_CODES))
        answers.setdefault(key, []).append((category, cells(body)))
        if set(codes) & set(SENSITIVE_CODES):
            assert body["restricted"] == privacy.SENSITIVE_NOTE, category
        # ... and the same set with its sensitive members spelled out as the
        # non-sensitive codes is one more member of the group
        if key and set(codes) & set(SENSITIVE_CODES):
            explicit = client.get(grid_url(",".join(key))).get_json()
            answers[key].append((",".join(key), cells(explicit)))
    assert refused > 50
    compared = 0
    for group in answers.values():
        first_category, first = group[0]
        for category, other in group[1:]:
            assert other == first, (first_category, category)
            compared += 1
    # at least: "" and "vald" against their code lists, and duplicates of those sets
    assert compared >= 4


# --- acceptance 3b: raw responses hold no suppressed figure -----------------------------------


def _json_violations(value: object, path: str = "") -> list[str]:
    """Count members of value 1–4 (numbers or digit texts) anywhere in a JSON value."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in COUNT_KEYS and _small(item):
                found.append(f"{where}={item!r}")
            elif key in COUNT_MAPS and isinstance(item, dict):
                found += [f"{where}.{k}={v!r}" for k, v in item.items() if _small(v)]
            found += _json_violations(item, where)
    elif isinstance(value, list):
        for k, item in enumerate(value):
            found += _json_violations(item, f"{path}[{k}]")
    return found


def _small(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return 0 < value < 5
    return isinstance(value, str) and value.strip() in {"1", "2", "3", "4"}


def _html_violations(text: str) -> list[str]:
    """Embedded JSON and table cells of a page that hold a count of 1–4."""
    found = []
    for blob in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', text, re.S):
        found += _json_violations(json.loads(blob))
    # numeric table cells and the key figures: the only places pages write counts
    cells_ = re.findall(r'<td class="num[^"]*"[^>]*>\s*(?:<strong>)?\s*([^<]*?)\s*(?:</strong>)?'
                        r'\s*</td>', text)
    found += [f"td={c}" for c in cells_ if _small(c)]
    figures = re.findall(r'data-figure="(incidents|sensitive|rate)">([^<]*)<', text)
    found += [f"{k}={v}" for k, v in figures if _small(v)]
    return found


def _urls(app) -> list[str]:
    with app.app_context():
        store = get_store()
        from layers.analysis.areas import area_catalogue

        areas = sorted(area_catalogue(store).current)
        sites = store.read("sites")["id"].astype(str).tolist()
    urls = ["/lighting", "/lighting?period=2024-T1", "/lighting?period=2025-03&distance=100",
            "/api/incidents?period=2025-03&limit=10000",
            "/api/findings?limit=10000", "/api/sites", "/api/stadsdelar?limit=1000",
            "/api/stadsdelsomraden", "/api/priority", "/api/priority?format=geojson",
            "/api/priority?sdn=jarva&period=2025-T3", "/priority", "/sites", "/",
            grid_url(), grid_url("ran"), grid_url("vald", cell="100"),
            grid_url("strategiska", sdn="jarva"), "/api/incidents/grid?period=2025-03&cell=250"]
    urls += [f"/sites/{site_id}" for site_id in sites]
    urls += [f"/sdn/{code}?period=2025-03" for code in areas]
    urls += [f"/sdn/{code}/nyckeltal?period=2025-02" for code in areas]
    urls += [f"/sdn/{code}/nyckeltal?period=2025-03&category=ran" for code in areas]
    return urls


@pytest.mark.parametrize("role", [None, "läsare"])
def test_raw_responses_hold_no_suppressed_count(demo_app, role):
    client = client_as(demo_app, role)
    failures = []
    for url in _urls(demo_app):
        response = client.get(url)
        if response.status_code in (301, 302, 401, 403):
            assert role is None, url  # only the anonymous visitor is sent away
            continue
        assert response.status_code == 200, url
        if response.is_json:
            failures += [f"{url}: {v}" for v in _json_violations(response.get_json())]
        else:
            failures += [f"{url}: {v}" for v in _html_violations(response.get_data(as_text=True))]
    assert not failures, failures[:20]


def test_the_store_does_hold_small_counts_those_pages_hide(demo_app):
    """Acceptance 3b means something: the figures hidden above exist exactly."""
    with demo_app.app_context():
        store = get_store()
        table = lighting_conflicts(store, Period.year(2025))
        assert ((table["dark"] > 0) & (table["dark"] < 5)).any()
        figures = figures_for_sites(store, store.read("sites"))
        exact = [v for f in figures.values() for v in (f.total.site_before, f.total.site_after,
                                                     f.total.ring_before, f.total.ring_after)
                 if v is not None]
        groups = [v for f in figures.values() for c in f.groups.values()
                  for v in (c.site_before, c.site_after) if v is not None]
        assert any(0 < v < 5 for v in exact + groups)
        grid = aggregate.incident_grid(store, parse_filter_for(PERIOD), CELL, PUBLIC_CODES)
        assert ((grid.totals > 0) & (grid.totals < 5)).any()


def test_sensitive_categories_only_as_one_figure_per_area(demo_app):
    lasare = client_as(demo_app, "läsare")
    html = lasare.get("/sdn/jarva/nyckeltal?period=2025-02").get_data(as_text=True)
    shown = re.search(r'data-figure="sensitive">([^<]+)<', html).group(1)
    assert shown == "&lt;5" or int(shown.replace("\u00a0", "")) >= 5
    assert privacy.SENSITIVE_NOTE in html
    assert lasare.get("/sdn/jarva/nyckeltal?category=sexualbrott").status_code == 403
    page = lasare.get("/sdn/jarva?category=vald_nara_relation")
    assert page.status_code == 403 and "stadsdelsområde" in page.get_data(as_text=True)
    admin = client_as(demo_app, "admin")
    exact = admin.get("/sdn/jarva/nyckeltal?period=2025-02").get_data(as_text=True)
    assert re.search(r'data-figure="sensitive">(\d+)<', exact)


def test_counted_categories_rule():
    rule = privacy.counted_categories
    assert rule(None, None).codes == PUBLIC_CODES
    assert rule(None, "").note == privacy.SENSITIVE_NOTE
    assert rule(None, "stold").codes == ("stold",) and rule(None, "stold").note is None
    assert set(rule(None, "vald").left_out) == set(SENSITIVE_CODES)
    with pytest.raises(privacy.SensitiveRefused):
        rule(None, "stold,sexualbrott")

    class Staff:
        def can(self, role: str) -> bool:
            return True

    staff = Staff()
    assert rule(staff, None).codes == PUBLIC_CODES  # "all" is the same figure for everyone
    assert rule(staff, "vald").codes == rule(None, "vald").codes
    assert set(rule(staff, "vald,sexualbrott").codes) == {*rule(None, "vald").codes,
                                                          "sexualbrott"}
    assert rule(staff, "vald,sexualbrott").left_out == ("vald_nara_relation",)


#: A count of 1–4 stated in a sentence: "3 händelser", "stöld (2)".
_SMALL_IN_WORDS = re.compile(r"(?<![\d,])([1-4]) händelser?\b|\(([1-4])\)")


@pytest.mark.parametrize("role", [None, "läsare"])
def test_priority_sentences_state_no_suppressed_count(demo_app, role):
    """The plain sentences of /priority and /api/priority (issue 14) say "färre än 5",
    never 1–4, and the backtest beside them gives only shares."""
    client = client_as(demo_app, role)
    for query in ("", "?sdn=jarva&period=2025-T3", "?sdn=skarholmen&period=2024-T1"):
        api = client.get(f"/api/priority{query}").get_json()
        for place in api["places"]:
            words = " ".join([place["first_sentence"], *place["plain"]])
            assert not _SMALL_IN_WORDS.search(words), words
        page = client.get(f"/priority{query}").get_data(as_text=True)
        sentences = re.findall(r'class="tk-place-(?:first|plain)[^"]*">([^<]*)<', page)
        assert len(sentences) >= 4 * len(api["places"])
        assert not [s for s in sentences if _SMALL_IN_WORDS.search(s)]
        backtest = re.search(r'<section class="tk-backtest.*?</section>', page, re.S).group(0)
        assert not re.search(r"\d+ händelser", backtest)
