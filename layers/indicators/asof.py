"""Figures as of a point in time: which times fall in a period, the instant findings and
sites are taken at (the period's end, or now), and findings and sites as they stood then.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from layers.core.periods import Period
from layers.core.schema import LOCAL_TZ


def period_bounds(period: Period) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A period's start (inclusive) and end (exclusive) as timestamps."""
    start, end = period.bounds()
    return pd.Timestamp(start), pd.Timestamp(end)


def in_period(times: pd.Series, period: Period) -> np.ndarray:
    """Mask of the times that fall in ``period`` (start inclusive, end exclusive)."""
    start, end = period_bounds(period)
    return ((times >= start) & (times < end)).to_numpy(dtype=bool)


def as_of_time(period: Period, now: pd.Timestamp) -> pd.Timestamp:
    """The instant findings and sites are taken at: the end of ``period``, or ``now``
    while the period is not over yet."""
    return min(period_bounds(period)[1], now)


def last_day(as_of: pd.Timestamp) -> dt.date:
    """The last day included when figures are taken at ``as_of``."""
    return (as_of - pd.Timedelta(microseconds=1)).date()


def findings_as_of(findings: pd.DataFrame, history: pd.DataFrame,
                   when: pd.Timestamp) -> pd.DataFrame:
    """The findings found before ``when``, with ``status``, ``owner`` and ``fixed_at``
    as they were at ``when``, so a figure for a closed period does not change when a
    finding is fixed or reopened afterwards.

    The status at ``when`` is the ``to_status`` of the finding's last change before
    ``when`` in ``finding_history``; a finding whose changes all came later has the
    ``from_status`` of its first change, and one without any history row keeps the
    status it has (its creation status: every change writes a history row). The owner
    is the one the last earlier change recorded, else the current one. ``fixed_at`` is
    the time of the last change to åtgärdad before ``when`` (for a finding without
    history its own ``fixed_at``), and empty unless the finding was åtgärdad then.
    """
    if findings.empty:
        return findings
    sel = findings[(findings["found_at"] < when).to_numpy()].copy()
    status = sel["status"].fillna("ny").astype(object)
    owner = sel["owner"].astype(object)
    fixed = sel["fixed_at"]
    ids = sel["id"]
    changes = history[history["finding_id"].isin(ids)] if not history.empty else history
    if not changes.empty:
        changes = changes.sort_values(["changed_at", "id"], kind="stable")
        first = changes.groupby("finding_id").head(1).set_index("finding_id")
        before = changes[(changes["changed_at"] < when).to_numpy()]
        last = before.groupby("finding_id").tail(1).set_index("finding_id")
        created = ids.map(first["from_status"])
        status = created.where(created.notna(), status)
        at_when = ids.map(last["to_status"])
        status = at_when.where(at_when.notna(), status)
        owner_then = ids.map(last["owner"])
        owner = owner_then.where(owner_then.notna(), owner)
        fixes = before[(before["to_status"] == "atgardad").to_numpy()]
        # reindex, not map: Series.map with a tz-aware datetime mapper and a missing
        # key fails in pandas ("Cannot cast DatetimeArray to dtype float64")
        latest_fix = fixes.groupby("finding_id")["changed_at"].max()
        fixed_then = pd.Series(latest_fix.reindex(ids.to_numpy()).to_numpy(), index=ids.index)
        fixed = fixed_then.where(ids.isin(changes["finding_id"]), fixed)
    sel["status"] = status
    sel["owner"] = owner
    sel["fixed_at"] = pd.to_datetime(fixed, utc=True).dt.tz_convert(LOCAL_TZ).where(
        status == "atgardad")
    return sel


def sites_as_of(sites: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """The platssamverkan sites that had started by ``day`` (or have no start date).

    The register keeps a start date but no end date: a site's status (planerad, aktiv,
    avslutad) is the register's current one, so a site ended after ``day`` shows as
    avslutad.
    """
    if sites.empty:
        return sites
    start = pd.to_datetime(sites["start_date"], errors="coerce")
    return sites[(start.isna() | (start <= pd.Timestamp(day))).to_numpy()]


def days_to_fix(frame: pd.DataFrame) -> pd.Series:
    """Days from found to fixed for each finding (NaN when not fixed)."""
    if frame.empty:
        return pd.Series(dtype=float)
    found = pd.to_datetime(frame["found_at"], utc=True)
    fixed = pd.to_datetime(frame["fixed_at"], utc=True)
    days = (fixed - found).dt.total_seconds() / 86400
    return days.where(frame["status"] == "atgardad").round(1)


def median_days_to_fix(findings: pd.DataFrame, period: Period) -> float | None:
    """Median days from finding to fix over findings fixed within ``period`` (None: none)."""
    if findings.empty:
        return None
    start, end = period_bounds(period)
    fixed = ((findings["fixed_at"] >= start) & (findings["fixed_at"] < end)).to_numpy()
    days = days_to_fix(findings)[fixed].dropna()
    return None if days.empty else float(np.median(days.to_numpy()))
