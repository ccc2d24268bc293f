"""Acceptance 1 of issue 11: one set of figures.

On the demo store, for every current stadsdelsområde and two tertials, each indicator
as shown on the key figures panel (``/sdn/<code>/nyckeltal``, the panel of
``/sdn/<code>``), ``/stad``, ``/sites/<id>``, ``/api/indicators`` and the brief's HTML,
DOCX text and (for a few areas) PDF text is the same text, for a läsare and for an
admin. Pages and the API follow the user's role (exact counts for an admin); ``/stad``
and the briefs are published documents and always show the public level, so they are
compared with what a läsare sees.

Also: ``docs/indicators.md`` is generated from :mod:`layers.indicators`.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import docx
import lxml.html
import pytest
from infra import create_user, login, make_test_app, require_or_skip

from layers.documents.brief import NBSP
from layers.indicators import AREA_CODES, INDICATORS, definitions_markdown

PERIODS = ("2025-T1", "2025-T2")
ROLES = ("läsare", "admin")
#: Areas whose PDF is rendered too (a PDF takes seconds).
PDF_AREAS = ("farsta", "jarva")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory, demo_store_file):
    folder = tmp_path_factory.mktemp("indicators")
    shutil.copy(demo_store_file, folder / demo_store_file.name)
    app = make_test_app(folder)
    clients = {}
    for role in ROLES:
        create_user(app, f"u-{role}", role)
        client = app.test_client()
        login(client, f"u-{role}")
        clients[role] = client
    with app.app_context():
        from mapapp.store_ import get_store

        sites = get_store().read("sites")
    areas = sorted(str(c) for c in _areas(clients["läsare"]))
    return clients, areas, sites


def _areas(client) -> list[str]:
    page = lxml.html.fromstring(client.get(f"/stad?period={PERIODS[0]}").get_data(as_text=True))
    return [r.get("data-area") for r in page.xpath("//tr[@data-area]")
            if r.get("data-area") != "staden"]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").replace(NBSP, " ")).strip()


def _figures(element) -> dict[str, str]:
    out: dict[str, str] = {}
    for node in element.xpath(".//*[@data-figure]"):
        code = node.get("data-figure")
        if code in INDICATORS:
            assert node.get("title") == INDICATORS[code].definition, code
            out.setdefault(code, _norm(node.text_content()))
    return out


def _get(client, url: str, binary: bool = False) -> str | bytes:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data() if binary else response.get_data(as_text=True)


@pytest.fixture(scope="module")
def shown(world):
    """Everything every surface shows: (role, period, area) -> surface -> code -> text."""
    clients, areas, _ = world
    out: dict[tuple[str, str, str], dict[str, dict[str, str]]] = {}
    for role, client in clients.items():
        for period in PERIODS:
            city = lxml.html.fromstring(_get(client, f"/stad?period={period}"))
            for code in areas:
                panel = lxml.html.fromstring(
                    _get(client, f"/sdn/{code}/nyckeltal?period={period}"))
                api = client.get(f"/api/indicators?sdn={code}&period={period}").get_json()
                row = city.xpath(f"//tr[@data-area='{code}']")[0]
                out[(role, period, code)] = {
                    "panel": _figures(panel),
                    "api": {k: _norm(v["value"]) for k, v in api["indicators"].items()},
                    "stad": _figures(row),
                    "api_sites": {s["id"]: (_norm(s["site_inside"]), _norm(s["site_ring"]))
                                  for s in api["sites"]},
                }
    return out


def test_every_indicator_is_defined_once():
    for code in AREA_CODES:
        assert INDICATORS[code].name and INDICATORS[code].definition.endswith(".")
    assert (ROOT / "docs" / "indicators.md").read_text(encoding="utf-8") == \
        definitions_markdown(), "docs/indicators.md is stale: write definitions_markdown()"


def test_panel_api_and_city_overview_agree(world, shown):
    _, areas, _ = world
    for role in ROLES:
        for period in PERIODS:
            for code in areas:
                got = shown[(role, period, code)]
                public = shown[("läsare", period, code)]
                assert set(got["panel"]) >= set(AREA_CODES), (code, set(AREA_CODES)
                                                              - set(got["panel"]))
                where = (role, period, code)
                assert got["panel"] == {k: got["api"][k] for k in got["panel"]}, where
                # /stad is published: always the public level
                assert got["stad"] == {k: public["api"][k] for k in got["stad"]}, where
                assert set(got["stad"]) == {"incidents", "rate", "change", "victims_women",
                                            "open_findings", "active_sites"}
    # the comparison is the same tertial a year earlier, on every surface
    page = shown[("admin", "2025-T2", areas[0])]
    assert page["panel"]["comparison"] == page["api"]["comparison"]


def test_the_whole_page_carries_the_panel(world, shown):
    clients, areas, _ = world
    for role, client in clients.items():
        page = lxml.html.fromstring(_get(client, f"/sdn/{areas[0]}?period=2025-T2"))
        assert _figures(page) == shown[(role, "2025-T2", areas[0])]["panel"]
        assert "jämfört med 2024-T2" in _norm(page.text_content()).replace(
            "T2 2024", "2024-T2") or "Jämfört med" in _norm(page.text_content())


def test_site_pages_agree_with_the_api(world, shown):
    clients, areas, sites = world
    checked = 0
    for role, client in clients.items():
        pages: dict[str, dict[tuple[str, str], str]] = {}
        for code in areas:
            for period in PERIODS:
                for site_id, (inside, ring) in shown[(role, period, code)]["api_sites"].items():
                    if site_id not in pages:
                        page = lxml.html.fromstring(_get(client, f"/sites/{site_id}"))
                        pages[site_id] = {(c.get("data-figure"), c.get("data-period")):
                                          _norm(c.text) for c in page.xpath("//td[@data-figure]")}
                    cells = pages[site_id]
                    if ("site_inside", period) not in cells:
                        continue  # the page shows the tertials around the start only
                    assert cells[("site_inside", period)] == inside, (role, site_id, period)
                    assert cells[("site_ring", period)] == ring, (role, site_id, period)
                    checked += 1
    assert checked >= len(sites), "too few site pages compared"


def _brief_summary(html: str) -> tuple[dict[str, str], list[tuple[str, int, str, str]]]:
    """The summary's figures, and (row label, column, code, text) for the other formats."""
    page = lxml.html.fromstring(html)
    table = page.xpath("//table[@id='t-summary']")[0]
    cells = []
    for tr in table.xpath("./tbody/tr"):
        label = _norm(tr.xpath("./th")[0].text_content())
        for j, td in enumerate(tr.xpath("./td")):
            if td.get("data-figure"):
                cells.append((label, j, td.get("data-figure"), _norm(td.text_content())))
    return _figures(table), cells


def _brief_sites(html: str, period_label: str) -> dict[str, tuple[str, str]]:
    page = lxml.html.fromstring(html)
    table = page.xpath("//table[@id='t-sites']")[0]
    heads = [_norm(th.text_content()) for th in table.xpath("./thead/tr/th")][1:]
    out = {}
    for tr in table.xpath("./tbody/tr"):
        texts = [_norm(td.text_content()) for td in tr.xpath("./td")]
        row = dict(zip(heads, texts, strict=True))
        out[_norm(tr.xpath("./th")[0].text_content())] = (
            row[period_label], row[f"Ringen {period_label}"])
    return out


def _docx_cells(data: bytes) -> dict[tuple[str, int], str]:
    document = docx.Document(io.BytesIO(data))
    for table in document.tables:
        if _norm(table.rows[0].cells[0].text) == "Indikator":
            return {(_norm(r.cells[0].text), j): _norm(c.text)
                    for r in table.rows[1:] for j, c in enumerate(r.cells[1:])}
    raise AssertionError("no summary table in the DOCX")


def _pdf_lines(data: bytes, tmp_path: Path) -> list[str]:
    tool = shutil.which("pdftotext")
    require_or_skip("pdftotext (apt-get install poppler-utils)", tool is not None)
    path = tmp_path / "brief.pdf"
    path.write_bytes(data)
    out = subprocess.run([tool, "-layout", "-enc", "UTF-8", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [_norm(line) for line in out.splitlines()]


def test_briefs_show_the_same_figures(world, shown, tmp_path):
    """Every area's brief as HTML and DOCX (one Brief rendered twice, the data loaded once
    per period: the brief routes do the same per request), the PDF for a few areas, and
    the web route for one area."""
    from layers.documents.brief import build_brief, load_city_data
    from layers.documents.brief_render import draw_pictures, render

    clients, areas, _ = world
    client = clients["läsare"]
    labels = {"2025-T1": "T1 2025", "2025-T2": "T2 2025"}
    app = client.application
    for period in PERIODS:
        with app.app_context():
            from mapapp.store_ import get_store

            data = load_city_data(get_store(), period)
            briefs = {code: build_brief(None, code, period, data=data) for code in areas}
        for code in areas:
            public = shown[("läsare", period, code)]
            brief = briefs[code]
            pictures = draw_pictures(brief)
            html = render(brief, "html", pictures=pictures).decode("utf-8")
            figures, cells = _brief_summary(html)
            assert set(figures) >= {"incidents", "rate", "comparison", "change", "city_rate",
                                    "strategic", "victims_women", "sensitive",
                                    "open_findings", "median_days_to_fix", "active_sites"}
            assert figures == {k: public["api"][k] for k in figures}, (period, code)
            assert "Definitioner" in html
            sites = _brief_sites(html, labels[period])
            assert sorted(sites.values()) == sorted(public["api_sites"].values()), (period,
                                                                                    code)
            docx_cells = _docx_cells(render(brief, "docx", pictures=pictures))
            for label, j, figure, text in cells:
                assert docx_cells[(label, j)] == text, (period, code, label, figure)
            if code in PDF_AREAS and period == PERIODS[-1]:
                lines = _pdf_lines(render(brief, "pdf", pictures=pictures), tmp_path)
                for label, _, figure, text in cells:
                    line = next((x for x in lines if x.startswith(label.split(" ")[0])
                                 and text in x), None)
                    assert line is not None, (period, code, label, figure, text)
    # the web route serves the same figures
    web = _brief_summary(_get(client, f"/briefs/{areas[0]}/{PERIODS[-1]}.html"))[0]
    assert web == {k: shown[("läsare", PERIODS[-1], areas[0])]["api"][k] for k in web}
