"""Promises kept: the city's time-to-fix targets per finding category (and owner), the
share of findings fixed within them and the findings overdue at a period's end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from layers.core.periods import Period
from layers.core.schema import OPEN_STATUSES
from layers.indicators.asof import as_of_time, findings_as_of, period_bounds

#: The city's published time-to-fix targets, in hours, per finding category; the source
#: of each is in ``docs/promises.md``. Only klotter has a published city-wide time.
DEFAULT_PROMISES: dict[str, dict[str, float]] = {"klotter": {"*": 24.0}}
#: The key of a category's target for every owner without one of its own.
ANY_OWNER = "*"


def parse_promises(config: object) -> dict[str, dict[str, float]]:
    """Targets from the instance config's ``PROMISES``: category -> hours, or category ->
    {owner or ``*`` -> hours}. None keeps :data:`DEFAULT_PROMISES`.

    Raises ValueError for a target that is not a positive number of hours.
    """
    if config is None:
        return {c: dict(t) for c, t in DEFAULT_PROMISES.items()}
    if not isinstance(config, dict):
        raise ValueError("PROMISES must map a category to hours or to {owner: hours}")
    out: dict[str, dict[str, float]] = {}
    for category, value in config.items():
        per_owner = value if isinstance(value, dict) else {ANY_OWNER: value}
        out[str(category)] = {}
        for owner, hours in per_owner.items():
            if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
                raise ValueError(f"PROMISES[{category!r}][{owner!r}]: {hours!r} is not "
                                 "a positive number of hours")
            out[str(category)][str(owner)] = float(hours)
    return out


def target_hours(findings: pd.DataFrame, promises: dict[str, dict[str, float]]
                 ) -> pd.Series:
    """Each finding's target in hours: its owner's for its category, else the category's
    ``*`` target, else NaN (no promise)."""
    def one(category: object, owner: object) -> float:
        per_owner = promises.get(str(category), {})
        if isinstance(owner, str) and owner in per_owner:
            return per_owner[owner]
        return per_owner.get(ANY_OWNER, np.nan)

    if findings.empty:
        return pd.Series(dtype=float)
    return pd.Series([one(c, o) for c, o in zip(findings["category"], findings["owner"],
                                                 strict=True)],
                     index=findings.index, dtype=float)


def _hours(later: pd.Series | pd.Timestamp, earlier: pd.Series) -> pd.Series:
    return (later - pd.to_datetime(earlier, utc=True)).dt.total_seconds() / 3600


def promise_kept(findings: pd.DataFrame, promises: dict[str, dict[str, float]],
                 period: Period) -> pd.DataFrame:
    """The findings with a target that were fixed within ``period`` (``findings`` as of
    the period's end: :func:`findings_as_of`), with ``target_h``, ``hours_to_fix`` and
    ``within`` (hours to fix at most the target)."""
    columns = [*findings.columns, "target_h", "hours_to_fix", "within"]
    if findings.empty:
        return pd.DataFrame(columns=columns)
    start, end = period_bounds(period)
    fixed_at = pd.to_datetime(findings["fixed_at"], utc=True)
    fixed = ((findings["status"] == "atgardad") & (fixed_at >= start) & (fixed_at < end))
    target = target_hours(findings, promises)
    sel = findings[(fixed & target.notna()).to_numpy(bool)].copy()
    sel["target_h"] = target[sel.index]
    sel["hours_to_fix"] = _hours(pd.to_datetime(sel["fixed_at"], utc=True), sel["found_at"])
    sel["within"] = sel["hours_to_fix"] <= sel["target_h"]
    return sel


def share_within_target(findings: pd.DataFrame, promises: dict[str, dict[str, float]],
                        period: Period, by: str | None = None) -> pd.DataFrame:
    """Fixed findings with a target, those fixed within it and the share (0–1), in total
    (``by`` None) or per ``by`` (``owner``, ``category`` or ``sdo_code``); columns
    ``key``, ``fixed``, ``within``, ``share``."""
    kept = promise_kept(findings, promises, period)
    if kept.empty:
        return pd.DataFrame(columns=["key", "fixed", "within", "share"])
    keys = kept[by].fillna("").astype(str) if by else pd.Series("", index=kept.index)
    grouped = kept.groupby(keys.to_numpy())["within"].agg(["size", "sum"])
    out = pd.DataFrame({"key": grouped.index.astype(str), "fixed": grouped["size"].astype(int),
                        "within": grouped["sum"].astype(int)}).reset_index(drop=True)
    out["share"] = out["within"] / out["fixed"]
    return out.sort_values("key", kind="stable").reset_index(drop=True)


def overdue(findings: pd.DataFrame, promises: dict[str, dict[str, float]],
            as_of: pd.Timestamp) -> pd.DataFrame:
    """The findings open at ``as_of`` (``findings`` taken as of it: :func:`findings_as_of`)
    for longer than their target, oldest first, with ``target_h`` and ``age_h`` (hours
    from found to ``as_of``)."""
    columns = [*findings.columns, "target_h", "age_h"]
    if findings.empty:
        return pd.DataFrame(columns=columns)
    target = target_hours(findings, promises)
    age = _hours(pd.Timestamp(as_of).tz_convert("UTC"), findings["found_at"])
    late = findings["status"].isin(OPEN_STATUSES) & target.notna() & (age > target)
    sel = findings[late.to_numpy(bool)].copy()
    sel["target_h"] = target[sel.index]
    sel["age_h"] = age[sel.index]
    return sel.sort_values(["age_h", "id"], ascending=[False, True], kind="stable")


@dataclass(frozen=True)
class PromiseReport:
    """Promises kept in one period: shares within target and the overdue list."""

    period: Period
    as_of: pd.Timestamp
    total: pd.DataFrame
    by_owner: pd.DataFrame
    by_category: pd.DataFrame
    by_area: pd.DataFrame
    overdue: pd.DataFrame

    @property
    def share(self) -> float | None:
        """The share within target over every fixed finding with a target (None: none)."""
        return None if self.total.empty else float(self.total["share"].iloc[0])


def promise_report(findings: pd.DataFrame, history: pd.DataFrame, period: Period,
                   now: pd.Timestamp, promises: dict[str, dict[str, float]]
                   ) -> PromiseReport:
    """Shares within target (in total, per owner, category and stadsdelsområde) and the
    overdue list of ``findings``, all as of the period's end (:func:`as_of_time`)."""
    as_of = as_of_time(period, now)
    then = findings_as_of(findings, history, as_of)
    return PromiseReport(
        period=period, as_of=as_of, total=share_within_target(then, promises, period),
        by_owner=share_within_target(then, promises, period, "owner"),
        by_category=share_within_target(then, promises, period, "category"),
        by_area=share_within_target(then, promises, period, "sdo_code"),
        overdue=overdue(then, promises, as_of))
