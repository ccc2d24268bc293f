"""Issue 11, acceptance 3: no suppressed figure of a brief or of ``/stad`` can be derived.

Every brief of the demo store (11 areas × 2025-T1, T2, T3) and ``/stad`` for the same
tertials are read as a careful reader would: every count in every table (and the
trend chart's group values), with what each count adds up (categories × victim
genders × period × area, the city's rest), is one linear relation. Shown counts are
exact, ``<5`` is 1–4, ``..`` and a hidden chart value are at least 1, every cell is at
least 0, and the reader is assumed to know two more things: how many incidents of
each category lack a recorded victim gender, and which category/gender combinations
never occur. A linear programme then gives each hidden count its least and greatest
possible value; a count with one possible whole number is disclosed, and the test
fails naming it (on main before the document-wide protection: Farsta 2025-T2,
våld/hot mot tjänsteman, women = 9 − 6 men − 0).

The relations are built here from what the tables say (row and column labels), not
from :mod:`layers.core.disclosure`, and every shown count is checked against a count made
here from the loaded incidents. The brief's HTML is checked to print the same texts as
the data model.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import lxml.html
import numpy as np
import pandas as pd
import pytest
from infra import create_user, login, make_test_app
from scipy.optimize import linprog
from test_brief import fixture_store  # noqa: F401  (the brief tests' small store)

from layers.core.periods import parse_period
from layers.core.privacy import PUBLIC_CATEGORY_CODES
from layers.core.schema import INCIDENT_CATEGORIES, INCIDENT_GROUPS, STRATEGIC_CODES
from layers.documents.brief import build_brief, load_city_data
from layers.documents.brief_render import Pictures, render

PERIODS = ("2025-T1", "2025-T2", "2025-T3")
GENDERS = ("kvinna", "man", "annat", None)
NBSP = "\u00a0"
GROUP_OF = {c.code: c.group for c in INCIDENT_CATEGORIES}
#: a 1×1 PNG: the HTML is read for its tables, not its pictures
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


class Reader:
    """What a reader knows of one document: relations over base cells, solved by LP."""

    def __init__(self, truth: pd.Series, threshold: int = 5) -> None:
        #: base cell -> its true count (cells absent are 0)
        self.truth = truth
        self.threshold = threshold
        self.shown: list[tuple[frozenset, int]] = []
        self.hidden: list[tuple[frozenset, int, int, str]] = []  # parts, low, high, where

    def value(self, parts: Iterable) -> int:
        return int(sum(int(self.truth.get(p, 0)) for p in parts))

    def read(self, parts: set, text: str, where: str, *, is_count: bool = True) -> None:
        """One printed figure: a count (checked against the truth) or a rate of it."""
        parts = frozenset(parts)
        text = (text or "").replace(NBSP, " ").strip()
        if not parts:
            return
        if text == "<5" or text == f"<{self.threshold}":
            self.hidden.append((parts, 1, self.threshold - 1, where))
        elif text == "..":
            self.hidden.append((parts, 1, math.inf, where))
        elif text in ("–", ""):
            return
        else:
            value = self.value(parts)
            if is_count:
                assert int(text.replace(" ", "")) == value, (where, text, value)
            self.shown.append((parts, value))

    def read_hidden(self, parts: set, where: str) -> None:
        if parts:
            self.hidden.append((frozenset(parts), 1, math.inf, where))

    def read_change(self, now: set, before: set, text: str, where: str) -> None:
        """A change printed as "a → b" shows both counts."""
        m = re.fullmatch(r"([\d ]+) → ([\d ]+)", (text or "").replace(NBSP, " ").strip())
        if m:
            self.read(before, m.group(1), where + " (före)")
            self.read(now, m.group(2), where + " (nu)")

    def know(self, parts: Iterable) -> None:
        """Base cells the reader knows exactly (unrecorded genders, impossible cells)."""
        for p in parts:
            self.shown.append((frozenset({p}), self.value({p})))

    def disclosed(self) -> list[tuple[str, int]]:
        """(where, value) of every hidden figure with one possible whole-number value."""
        # single known cells are constants; cells in the same relations are one variable
        fixed = {next(iter(p)): v for p, v in self.shown if len(p) == 1}
        relations = [(p - fixed.keys(), v - sum(fixed.get(c, 0) for c in p))
                     for p, v in self.shown if len(p) > 1]
        hidden = [(p - fixed.keys(), lo - sum(fixed.get(c, 0) for c in p),
                   hi - sum(fixed.get(c, 0) for c in p), where)
                  for p, lo, hi, where in self.hidden]
        signature: dict = {}
        for k, parts in enumerate([p for p, _ in relations] + [h[0] for h in hidden]):
            for c in parts:
                signature.setdefault(c, []).append(k)
        columns = {c: i for i, c in enumerate(sorted({tuple(v) for v in signature.values()}))}
        var_of = {c: columns[tuple(v)] for c, v in signature.items()}

        def row(parts: frozenset) -> np.ndarray:
            r = np.zeros(max(len(columns), 1))
            r[list({var_of[p] for p in parts})] = 1.0
            return r

        a_eq = np.array([row(p) for p, _ in relations]) if relations else None
        b_eq = [float(v) for _, v in relations] or None
        a_ub, b_ub = [], []
        for parts, low, high, _ in hidden:
            a_ub.append(-row(parts))
            b_ub.append(-float(low))
            if high != math.inf:
                a_ub.append(row(parts))
                b_ub.append(float(high))
        out = []
        for (parts, _, _, where), original in zip(hidden, self.hidden, strict=True):
            if not parts:  # every cell of it is known
                out.append((where, self.value(original[0])))
                continue
            limits = []
            for sign in (1.0, -1.0):
                res = linprog(sign * row(parts), A_ub=np.array(a_ub), b_ub=b_ub, A_eq=a_eq,
                              b_eq=b_eq, bounds=(0, None), method="highs")
                assert res.status in (0, 3), (where, res.message)  # the truth is feasible
                limits.append(math.inf if res.status == 3 else sign * res.fun)
            low, high = limits
            if high != math.inf and math.floor(high + 1e-6) <= math.ceil(low - 1e-6):
                out.append((where, self.value(original[0])))
        return out


# --- the rule itself (layers.core.disclosure), on small cases ------------------------------------


def _figures(*specs, last=()) -> list:
    from layers.core.disclosure import Figure

    return [Figure(key, value, frozenset(parts), last=key in last)
            for key, value, parts in specs]


def test_protect_closes_a_difference_across_tables():
    from layers.core.disclosure import PRIMARY, SECONDARY, SHOWN, derivable, protect

    # strategic count 9 = women 3 + men 6 + other 0 (the Farsta case)
    figures = _figures(("count", 9, "wmo"), ("w", 3, "w"), ("m", 6, "m"), ("o", 0, "o"),
                       last=("count",))
    status = protect(figures, 5)
    assert status == {"count": SHOWN, "w": PRIMARY, "m": SECONDARY, "o": SHOWN}
    assert derivable(figures, status, 5) == []
    # without the protection, women follow
    assert derivable(figures, {**status, "m": SHOWN}, 5) == ["w"]


def test_protect_sees_bounds_and_numbers_shown_twice():
    from layers.core.disclosure import SHOWN, derivable, protect

    # 2 = a + b with both "<5": both must be 1
    figures = _figures(("t", 2, "ab"), ("a", 1, "a"), ("b", 1, "b"), ("c", 7, "c"),
                       ("t+c", 9, "abc"))
    status = protect(figures, 5)
    # t = 9 - 7 unless c or t+c is hidden too
    assert status["t"] != SHOWN and (status["c"], status["t+c"]) != (SHOWN, SHOWN)
    assert derivable(figures, status, 5) == []
    # the same number in two tables is hidden in both, and a headline one last
    figures = _figures(("x", 3, "x"), ("y", 8, "y"), ("tot", 11, "xy"), ("tot2", 11, "xy"),
                       last=("tot",))
    status = protect(figures, 5)
    assert status["y"] != SHOWN and status["tot"] == status["tot2"] == SHOWN


def _truth(frame: pd.DataFrame, scope_of: pd.Series) -> pd.Series:
    """Counts per base cell (scope, category, gender or None, tertial code)."""
    codes = pd.Series([parse_period(p) for p in PERIODS_ALL], index=PERIODS_ALL)
    when = frame["occurred_at"]
    period = pd.Series(None, index=frame.index, dtype=object)
    for code, p in codes.items():
        start, end = p.bounds()
        period[((when >= pd.Timestamp(start)) & (when < pd.Timestamp(end))).to_numpy()] = code
    keys = pd.DataFrame({"scope": scope_of, "category": frame["category"],
                         "gender": frame["victim_gender"].astype(object).where(
                             frame["victim_gender"].notna(), None),
                         "period": period})
    keys = keys[keys["period"].notna() & keys["scope"].notna()
                & keys["category"].isin(PUBLIC_CATEGORY_CODES)]
    counts = keys.groupby(["scope", "category", "gender", "period"], dropna=False).size()
    return pd.Series(counts.to_numpy(), index=[tuple(None if pd.isna(x) else x for x in k)
                                               for k in counts.index])


#: every tertial a 2025 brief looks at (trend and comparison)
PERIODS_ALL = tuple(f"{y}-T{t}" for y in (2023, 2024, 2025) for t in (1, 2, 3))


def _cells(scopes: Iterable, categories: Iterable[str], genders: Iterable,
           periods: Iterable[str]) -> set:
    return {(s, c, g, p) for s in scopes for c in categories for g in genders for p in periods}


def _known(reader: Reader, scopes: Iterable, periods: Iterable[str],
           occurring: set[tuple[str, str | None]]) -> None:
    """The reader knows the combinations that never occur, and where every incident of
    a category has a recorded gender (then its victims by gender are its whole count)."""
    cells = _cells(scopes, PUBLIC_CATEGORY_CODES, GENDERS, periods)
    reader.know(p for p in cells if (p[1], p[2]) not in occurring
                or (p[2] is None and reader.value({p}) == 0))


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_store_file):
    """An app on a copy of the demo store (the test adds users)."""
    folder = tmp_path_factory.mktemp("suppression")
    return make_test_app(Path(shutil.copy(demo_store_file, folder)).parent)


def _occurring(frame: pd.DataFrame) -> set[tuple[str, str | None]]:
    g = frame["victim_gender"].astype(object).where(frame["victim_gender"].notna(), None)
    return set(zip(frame["category"], g, strict=True))


def _brief_reader(brief, data) -> Reader:
    frame = data.incidents
    local = pd.Series(np.where(brief.area.mask(frame), "L", "R"), index=frame.index)
    local[frame["sdo_code"].isna().to_numpy()] = None
    reader = Reader(_truth(frame, local), brief.threshold)
    now, before = brief.period.code, brief.comparison.code
    trend = [p.period.code for p in brief.trend_points]
    _known(reader, ("L", "R"), {now, before, *trend}, _occurring(frame))
    groups = {g: tuple(c for c in PUBLIC_CATEGORY_CODES if GROUP_OF[c] == g)
              for g in INCIDENT_GROUPS}
    everything = (PUBLIC_CATEGORY_CODES, GENDERS)

    def rate_table(table, rows: dict[str, tuple[tuple[str, ...], tuple]]) -> None:
        for key, (cats, genders) in rows.items():
            cells = table.row(key).cells
            where = f"{table.key}/{key}"
            here = _cells("L", cats, genders, [now])
            there = _cells("L", cats, genders, [before])
            reader.read(here, cells["count"].text, where + "/antal")
            reader.read(here, cells["rate"].text, where + "/per 1 000", is_count=False)
            reader.read(there, cells["previous"].text, where + "/jämförelse")
            reader.read_change(here, there, cells["change"].text, where + "/förändring")
            reader.read(_cells("LR", cats, genders, [now]), cells["city_rate"].text,
                        where + "/staden", is_count=False)

    rate_table(brief.groups, {**{g: (cats, GENDERS) for g, cats in groups.items()},
                              "alla": everything})
    rate_table(brief.strategic, {**{c: ((c,), GENDERS) for c in STRATEGIC_CODES},
                                 "strategiska": (STRATEGIC_CODES, GENDERS)})
    rate_table(brief.gender, {"kvinna": (PUBLIC_CATEGORY_CODES, ("kvinna",)),
                              "man": (PUBLIC_CATEGORY_CODES, ("man",)),
                              "annat": (PUBLIC_CATEGORY_CODES, ("annat",)),
                              "kant": (PUBLIC_CATEGORY_CODES, ("kvinna", "man", "annat"))})
    # the summary repeats cells of the tables above
    rate_table(brief.summary, {"alla": everything, "vald": (groups["vald"], GENDERS),
                               "strategiska": (STRATEGIC_CODES, GENDERS),
                               "kvinnor": (PUBLIC_CATEGORY_CODES, ("kvinna",))})
    listed = [r.key for r in brief.victims.rows if r.key != "summa"]
    for r in brief.victims.rows:
        cats = listed if r.key == "summa" else [r.key]
        for gender in ("kvinna", "man", "annat"):
            reader.read(_cells("L", cats, (gender,), [now]), r.cells[gender].text,
                        f"victims/{r.key}/{gender}")
    for r, point in zip(brief.trend.rows, brief.trend_points, strict=True):
        p = point.period.code
        here = _cells("L", *everything, [p])
        reader.read(here, r.cells["count"].text, f"trend/{p}/antal")
        reader.read(here, r.cells["rate"].text, f"trend/{p}/per 1 000", is_count=False)
        reader.read(_cells("LR", *everything, [p]), r.cells["city_rate"].text,
                    f"trend/{p}/staden", is_count=False)
        if point.covered:  # the chart: one line per group
            for g, cats in groups.items():
                parts = _cells("L", cats, GENDERS, [p])
                if point.group_rates[g] is None:
                    reader.read_hidden(parts, f"diagram/{p}/{g}")
                else:
                    reader.shown.append((frozenset(parts), reader.value(parts)))
    return reader


def _html_texts(html: str, key: str) -> list[list[str]]:
    page = lxml.html.fromstring(html)
    table = page.xpath(f"//table[@id='t-{key}']")[0]
    return [[re.sub(r"\s+", " ", td.text_content().replace(NBSP, " ")).strip()
             for td in tr.xpath("./td")] for tr in table.xpath("./tbody/tr")]


def test_no_suppressed_figure_of_any_brief_can_be_derived(demo):
    disclosed = []
    with demo.app_context():
        from mapapp.store_ import get_store

        store = get_store()
        codes = [a.code for a in load_city_data(store, PERIODS[0]).current_areas]
        assert len(codes) == 11
        for period in PERIODS:
            data = load_city_data(store, period)
            for code in codes:
                brief = build_brief(None, code, period, data=data)
                reader = _brief_reader(brief, data)
                assert reader.hidden or period != "2025-T2" or code != "farsta"
                disclosed += [(period, code, where, value)
                              for where, value in reader.disclosed()]
                if code in ("farsta", "skarpnack"):
                    # the HTML prints what the model holds
                    html = render(brief, "html", pictures=Pictures(PNG, PNG, PNG)).decode()
                    for table in (brief.summary, brief.groups, brief.strategic, brief.gender,
                                  brief.victims, brief.trend):
                        model = [[re.sub(r"\s+", " ", c.text.replace(NBSP, " ")).strip()
                                  for c in r.cells.values()] for r in table.rows]
                        assert _html_texts(html, table.key) == model, (code, table.key)
    assert not disclosed, disclosed


def test_the_farsta_victims_hole_is_closed(demo):
    """The case of the issue: 9 våld/hot mot tjänsteman, 6 men, 0 other: women = 3."""
    with demo.app_context():
        from mapapp.store_ import get_store

        data = load_city_data(get_store(), "2025-T2")
    brief = build_brief(None, "farsta", "2025-T2", data=data)
    row = brief.victims.row("vald_hot_tjansteman").cells
    total = brief.strategic.cell("vald_hot_tjansteman", "count")
    assert row["kvinna"].text == "<5"
    # the count, men or other is hidden too, so 9 − 6 − 0 cannot be done
    assert ".." in (total.text, row["man"].text, row["annat"].text)


def _city_reader(page: str, data) -> tuple[Reader, list]:
    frame = data.incidents
    areas = {a.code: a for a in data.current_areas}
    scope = pd.Series(None, index=frame.index, dtype=object)
    for code, area in areas.items():
        scope[area.mask(frame)] = code
    reader = Reader(_truth(frame, scope))
    tree = lxml.html.fromstring(page)
    rows = tree.xpath("//table[@id='city-table']/tbody/tr")
    assert len(rows) == len(areas) + 1
    return reader, rows


def _city_disclosures(app, periods: Iterable[str]) -> list[tuple[str, int]]:
    """What ``/stad`` discloses for each period; also that every role gets one table."""
    create_user(app, "stadslasare", "läsare")
    create_user(app, "stadsadmin", "admin")
    clients = {}
    for name in ("stadslasare", "stadsadmin"):
        clients[name] = app.test_client()
        login(clients[name], name)
    disclosed = []
    for period in periods:
        pages = {name: c.get(f"/stad?period={period}") for name, c in clients.items()}
        assert all(r.status_code == 200 for r in pages.values())
        tables = {name: lxml.html.tostring(lxml.html.fromstring(r.get_data(as_text=True))
                                           .xpath("//table[@id='city-table']")[0])
                  for name, r in pages.items()}
        # a public aggregate: the same table for every role
        assert tables["stadslasare"] == tables["stadsadmin"]
        with app.app_context():
            from mapapp.store_ import get_store

            data = load_city_data(get_store(), period)
        p = parse_period(period)
        now, before = p.code, p.year_before().code
        reader, rows = _city_reader(pages["stadslasare"].get_data(as_text=True), data)
        codes = [a.code for a in data.current_areas]
        _known(reader, codes, (now, before), _occurring(data.incidents))
        groups = {g: tuple(c for c in PUBLIC_CATEGORY_CODES if GROUP_OF[c] == g)
                  for g in INCIDENT_GROUPS}
        for tr in rows:
            key = tr.get("data-area")
            scopes = codes if key == "staden" else [key]
            cells = {td.get("data-col"): td.text_content() for td in tr.xpath("./td")}
            everything = _cells(scopes, PUBLIC_CATEGORY_CODES, GENDERS, [now])
            reader.read(everything, cells["count"], f"{period}/{key}/antal")
            reader.read(everything, cells["rate"], f"{period}/{key}/per 1 000",
                        is_count=False)
            reader.read_change(everything,
                               _cells(scopes, PUBLIC_CATEGORY_CODES, GENDERS, [before]),
                               cells["change"], f"{period}/{key}/förändring")
            for g, cats in groups.items():
                reader.read(_cells(scopes, cats, GENDERS, [now]), cells[f"rate_{g}"],
                            f"{period}/{key}/{g}", is_count=False)
            reader.read(_cells(scopes, STRATEGIC_CODES, GENDERS, [now]),
                        cells["rate_strategic"], f"{period}/{key}/strategiska",
                        is_count=False)
            reader.read(_cells(scopes, PUBLIC_CATEGORY_CODES, ("kvinna",), [now]),
                        cells["women"], f"{period}/{key}/kvinnor")
        disclosed += reader.disclosed()
    return disclosed


def test_no_suppressed_figure_of_the_city_page_can_be_derived(demo):
    assert _city_disclosures(demo, PERIODS) == []


@pytest.mark.usefixtures("fixture_store")
def test_small_counts_on_the_city_page_stay_hidden(app):
    """The brief tests' small store: Bromma 4, Järva 24, Södermalm 16, so /stad must hide
    more than Bromma's count, and nothing hidden may follow from the rest."""
    assert _city_disclosures(app, ["2025-T2"]) == []
    client = app.test_client()
    login(client, "stadslasare")
    page = lxml.html.fromstring(client.get("/stad?period=2025-T2").get_data(as_text=True))
    counts = {tr.get("data-area"): tr.xpath("./td[@data-col='count']")[0].text_content()
              for tr in page.xpath("//table[@id='city-table']/tbody/tr")}
    assert counts["bromma"] == "<5"
    assert list(counts.values()).count("..") >= 1
