"""The brief's findings section: findings by status, category and owner, the oldest open
ones and the promised time to fix, all as of the period's end.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from layers.core.periods import Period
from layers.core.schema import (
    FINDING_CATEGORIES,
    FINDING_STATUSES,
    OPEN_STATUSES,
    OWNERS,
)
from layers.documents.brief.model import OLDEST_OPEN, Findings
from layers.documents.brief.protection import BriefContext
from layers.documents.brief.tables import (
    PRIMARY,
    SECONDARY,
    Cell,
    Row,
    Table,
    column_lines,
    count_cell,
    format_date,
    row_lines,
    suppress,
)
from layers.indicators import (
    HIDDEN,
    INDICATORS,
    NOT_AVAILABLE,
    findings_as_of,
    format_days,
    format_int,
    format_share,
    median_days_to_fix,
    overdue,
    parse_promises,
    period_bounds,
    share_within_target,
)

_FINDING_LABEL = {c.code: c.label for c in FINDING_CATEGORIES}


#: Status groups of the findings tables: key -> (Swedish label, statuses).
FINDING_STATUS_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "oppna": ("Öppna", OPEN_STATUSES),
    "atgardad": ("Åtgärdade", ("atgardad",)),
    "avvisad": ("Avvisade", ("avvisad",)),
}



def findings_tables(ctx: BriefContext) -> Findings:
    """Findings found up to the period's end, each with its status at the end."""
    frame = ctx.data.findings
    start, end = period_bounds(ctx.period)
    sel = findings_as_of(frame[ctx.area.mask(frame)] if not frame.empty else frame,
                         ctx.data.history, end)
    in_period = (sel["found_at"] >= start).to_numpy() if not sel.empty else np.zeros(0, bool)

    # by status: found during the period, and everything found up to its end
    statuses = list(FINDING_STATUSES)
    values = np.zeros((len(statuses) + 1, 2), dtype=np.int64)
    for i, s in enumerate(statuses):
        is_s = (sel["status"] == s).to_numpy() if not sel.empty else np.zeros(0, bool)
        values[i] = [int((is_s & in_period).sum()), int(is_s.sum())]
    values[-1] = values[:-1].sum(axis=0)
    status = suppress(values, column_lines(len(statuses) + 1, range(2)), ctx.findings_threshold)
    labels = [FINDING_STATUSES[s].capitalize() for s in statuses] + ["Totalt"]
    status_table = Table("findings_status", "Fynd efter status", "Status", [
        ("period", "Registrerade under perioden"),
        ("all", f"Registrerade t.o.m. {format_date(ctx.period.end)}"),
    ], [Row(k, label, {c: count_cell(int(values[i, j]), status[i, j], ctx.findings_threshold)
                       for j, c in enumerate(("period", "all"))}, total=k == "totalt")
        for i, (k, label) in enumerate(zip([*statuses, "totalt"], labels, strict=True))])
    status_table.notes.append(f"Fynd i området; {_status_when(ctx)}.")

    groups = list(FINDING_STATUS_GROUPS)

    def crosstab(key: str, caption: str, header: str, column: str,
                 row_keys: list[str], row_labels: list[str], with_median: bool) -> Table:
        values = np.zeros((len(row_keys) + 1, len(groups) + 1), dtype=np.int64)
        parts = []
        for i, rk in enumerate(row_keys):
            part = sel[(sel[column].fillna("") == rk).to_numpy()] if not sel.empty else sel
            parts.append(part)
            for j, g in enumerate(groups):
                values[i, j] = int(part["status"].isin(FINDING_STATUS_GROUPS[g][1]).sum()) \
                    if not part.empty else 0
        values[:, -1] = values[:, :-1].sum(axis=1)
        values[-1] = values[:-1].sum(axis=0)
        n_rows, n_cols = values.shape
        lines = column_lines(n_rows, range(n_cols)) + row_lines(range(n_rows), n_cols)
        status = suppress(values, lines, ctx.findings_threshold)
        rows = []
        for i, (rk, label) in enumerate(zip([*row_keys, "totalt"], [*row_labels, "Totalt"],
                                            strict=True)):
            if with_median and i < len(row_keys) and values[i, -1] == 0:
                continue  # owners without findings are left out; categories always shown
            cells = {g: count_cell(int(values[i, j]), status[i, j], ctx.findings_threshold)
                     for j, g in enumerate([*groups, "totalt"])}
            if with_median:
                cells["median_days"] = _median_days(parts[i] if i < len(parts) else sel,
                                                    ctx.period)
            rows.append(Row(rk, label, cells, total=rk == "totalt"))
        columns = [(g, FINDING_STATUS_GROUPS[g][0]) for g in groups] + [("totalt", "Totalt")]
        if with_median:
            columns.append(("median_days", "Mediantid till åtgärd (dagar)"))
        return Table(key, caption, header, columns, rows)

    categories = [c.code for c in FINDING_CATEGORIES]
    by_category = crosstab("findings_category", "Fynd efter kategori", "Kategori",
                           "category", categories,
                           [_FINDING_LABEL[c].capitalize() for c in categories], False)
    by_category.notes.append(f"Fynd registrerade t.o.m. {format_date(ctx.period.end)}. "
                             "Öppna = ny eller tilldelad.")
    by_owner = crosstab("findings_owner", "Fynd efter ansvarig", "Ansvarig", "owner",
                        [*OWNERS, ""], [OWNERS[o].capitalize() for o in OWNERS]
                        + ["Ej angiven"], True)
    by_owner.notes.append("Ansvarig och status vid periodens slut. Mediantid från fynd till "
                          "åtgärd, för fynd åtgärdade under perioden (– = inga åtgärdade fynd "
                          "med datum under perioden).")

    open_ = sel[sel["status"].isin(OPEN_STATUSES).to_numpy()] if not sel.empty else sel
    if not open_.empty:
        open_ = open_.sort_values(["found_at", "id"]).head(OLDEST_OPEN)
    oldest_rows = []
    for f in open_.itertuples(index=False):
        days = (ctx.as_of - f.found_at).days
        owner = OWNERS.get(f.owner, f.owner) if isinstance(f.owner, str) and f.owner \
            else "ej angiven"
        oldest_rows.append(Row(f.id, format_date(f.found_at), {
            "category": Cell.label(_FINDING_LABEL.get(f.category, f.category).capitalize()),
            "description": Cell.label(f.description if isinstance(f.description, str)
                                      else ""),
            "owner": Cell.label(owner),
            "status": Cell.label(FINDING_STATUSES.get(f.status, f.status)),
            "days_open": Cell(format_int(days), float(days)),
        }))
    oldest = Table("oldest_open", "Äldsta öppna fynd", "Fynddatum", [
        ("category", "Kategori"), ("description", "Beskrivning"), ("owner", "Ansvarig"),
        ("status", "Status"), ("days_open", "Dagar öppet"),
    ], oldest_rows)
    oldest.notes.append(f"Dagar öppet räknas till {format_date(last_day_of(ctx))}; "
                        f"{_status_when(ctx)}.")
    if not oldest_rows:
        oldest.notes.append("Inga öppna fynd i området.")
    return Findings(status_table, by_category, by_owner, oldest,
                    _median_days(sel, ctx.period), _promises_table(ctx, sel))


def _promises_table(ctx: BriefContext, sel: pd.DataFrame) -> Table:
    """Per category with a target: fixed in the period, within target, share, overdue at
    the period's end (computed by :mod:`layers.indicators`)."""
    targets = ctx.promises if ctx.promises is not None else parse_promises(None)
    kept = share_within_target(sel, targets, ctx.period, "category").set_index("key")
    late = overdue(sel, targets, ctx.as_of)["category"].value_counts()
    rows = []
    for code in targets:
        fixed, within = (int(kept.loc[code, "fixed"]), int(kept.loc[code, "within"])) \
            if code in kept.index else (0, 0)
        small = [0 < n < ctx.findings_threshold for n in (fixed, within, fixed - within)]
        hidden = any(small)
        rows.append(Row(code, _FINDING_LABEL.get(code, code).capitalize(), {
            "fixed": count_cell(fixed, PRIMARY if small[0] else SECONDARY if hidden else 0,
                                ctx.findings_threshold),
            "within": count_cell(within, PRIMARY if small[1] else SECONDARY if hidden else 0,
                                 ctx.findings_threshold),
            "share": Cell(HIDDEN) if hidden else Cell(
                format_share(within / fixed if fixed else None),
                within / fixed if fixed else None),
            "overdue": Cell(format_int(int(late.get(code, 0))), float(late.get(code, 0))),
        }))
    table = Table("promises", "Utlovad åtgärdstid", "Kategori", [
        ("fixed", "Åtgärdade under perioden"), ("within", "Inom utlovad tid"),
        ("share", "Andel inom tid"), ("overdue", "Försenade vid periodens slut")], rows)
    table.notes.append(f"{INDICATORS['within_target'].definition} Försenade: "
                       f"{INDICATORS['overdue'].definition}")
    return table


def last_day_of(ctx: BriefContext) -> dt.date:
    """The last day the brief's findings and sites are taken at."""
    return (ctx.as_of - pd.Timedelta(microseconds=1)).date()


def _status_when(ctx: BriefContext) -> str:
    """"status vid periodens slut (…)" or, for a period not over yet, the day it is."""
    if ctx.as_of < period_bounds(ctx.period)[1]:
        return f"status {format_date(last_day_of(ctx))} (perioden pågår)"
    return f"status vid periodens slut ({format_date(ctx.period.end)})"


def _median_days(findings: pd.DataFrame, period: Period) -> Cell:
    """Median days from finding to fix, over findings fixed within ``period``."""
    value = median_days_to_fix(findings, period)
    return Cell(NOT_AVAILABLE) if value is None else Cell(format_days(value), value)
