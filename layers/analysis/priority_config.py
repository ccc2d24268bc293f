"""The settings of the priority analysis: cells, significance, score bonuses and weights.

The defaults are documented in ``priority_weights.toml`` next to this module; a user's
TOML file (``--config``) is read over them (:func:`load_config`). The ranking
(:mod:`layers.analysis.priority`), its backtest (:mod:`layers.analysis.backtest`) and the
emerging hot spots (:mod:`layers.analysis.emerging`, for the cells) read the same settings.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from layers.core.schema import INCIDENT_CATEGORIES, category_lookup

#: The documented defaults of the analysis.
CONFIG_FILE = Path(__file__).with_name("priority_weights.toml")

_INCIDENT_LOOKUP = category_lookup(INCIDENT_CATEGORIES)


@dataclass(frozen=True)
class PriorityConfig:
    """The settings of the analysis (see ``priority_weights.toml`` for each one)."""

    cell_size: float | None = None
    shape: str = "square"
    alpha: float = 0.05
    permutations: int = 0
    seed: int = 12345
    significance_bonus: float = 0.02
    findings_bonus: float = 0.15
    findings_full: float = 10.0
    trend_bonus: float = 0.10
    trend_min_previous: int = 5
    site_bonus: float = -0.05
    min_incidents: int = 5
    max_radius: float | None = 300.0
    limit: int = 20
    suppress_below: int = 5
    severity_weights: Mapping[int, float] = field(
        default_factory=lambda: {1: 1.0, 2: 2.0, 3: 4.0})
    incident_weights: Mapping[str, float] = field(
        default_factory=lambda: {c.code: c.weight for c in INCIDENT_CATEGORIES})

    def weights_of(self, categories: Iterable[object]) -> np.ndarray:
        """The weight of each category (code, Swedish name or alias); unknown ones weigh 1."""
        codes, uniques = pd.factorize(pd.Series(list(categories) if not isinstance(
            categories, (np.ndarray, pd.Series)) else categories, dtype=object))
        table = np.array([self._weight(v) for v in uniques] + [1.0], dtype=float)
        return table[codes]  # code -1 (missing) takes the last entry, 1.0

    def _weight(self, value: object) -> float:
        code = _INCIDENT_LOOKUP.get(str(value).strip().lower())
        return float(self.incident_weights.get(code, 1.0)) if code else 1.0

    def severity_weight(self, severities: Iterable[object]) -> np.ndarray:
        """The weight of each finding severity (1–3); missing severities count as 2."""
        out = []
        for s in severities:
            level = 2 if s is None or (isinstance(s, float) and math.isnan(s)) or s is pd.NA \
                else int(s)
            out.append(float(self.severity_weights.get(level, level)))
        return np.asarray(out, dtype=float)


def load_config(path: str | Path | None = None) -> PriorityConfig:
    """Read the defaults of ``priority_weights.toml``, then the file at ``path`` over them."""
    data = _read_toml(CONFIG_FILE)
    if path is not None:
        for section, values in _read_toml(Path(path)).items():
            if isinstance(values, dict):
                data.setdefault(section, {}).update(values)
            else:
                data[section] = values
    return _config_from(data)


def _read_toml(path: Path) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _config_from(data: dict) -> PriorityConfig:
    cells = data.get("cells", {})
    sig = data.get("significance", {})
    score = data.get("score", {})
    places = data.get("places", {})
    size = cells.get("size_m", "auto")
    weights = {c.code: c.weight for c in INCIDENT_CATEGORIES}
    weights.update({str(k): float(v) for k, v in data.get("incident_weights", {}).items()})
    severity = {1: 1.0, 2: 2.0, 3: 4.0}
    severity.update({int(k): float(v) for k, v in data.get("findings", {}).items()})
    return PriorityConfig(
        cell_size=None if str(size).lower() == "auto" else float(size),
        shape=str(cells.get("shape", "square")),
        alpha=float(sig.get("alpha", 0.05)),
        permutations=int(sig.get("permutations", 0)),
        seed=int(sig.get("seed", 12345)),
        significance_bonus=float(score.get("significance_bonus", 0.02)),
        findings_bonus=float(score.get("findings_bonus", 0.15)),
        findings_full=float(score.get("findings_full", 10.0)),
        trend_bonus=float(score.get("trend_bonus", 0.10)),
        trend_min_previous=int(score.get("trend_min_previous", 5)),
        site_bonus=float(score.get("site_bonus", -0.05)),
        min_incidents=int(places.get("min_incidents", 5)),
        max_radius=float(places["max_radius_m"]) if places.get("max_radius_m") else None,
        limit=int(places.get("limit", 20)),
        suppress_below=int(places.get("suppress_below", 5)),
        severity_weights=severity,
        incident_weights=weights,
    )


__all__ = ["CONFIG_FILE", "PriorityConfig", "load_config"]
