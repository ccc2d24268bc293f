"""The backtest tables of docs/method.md, from the demo data and the City of London file.

    .venv/bin/python bench/backtest_tables.py > /tmp/tables.md

Prints Markdown: (1) hit rate and PAI of every method on the three rolling splits of
the acceptance test (12 months of training, the next tertial as test); (2) PAI at 5 %
on all nine monthly rolling splits, with priority − prior_counts; (3) sensitivity of
the comparison to the significance bonus, the KDE bandwidth and the cell size. All
numbers come from :func:`layers.analysis.backtest.run_backtest`, the code behind
``trygghetskartan backtest``; nothing is random except the ``random`` baseline
(fixed seed).
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layers.analysis.backtest import (  # noqa: E402
    AREA_SHARES,
    METHODS,
    parse_span,
    read_points,
    run_backtest,
)
from layers.analysis.priority import load_config  # noqa: E402
from layers.core.periods import period_from_dates  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LONDON = ROOT / "tests" / "data" / "city_of_london.csv"
SPLITS = (("2024-01..2024-12", "2025-T1"), ("2024-05..2025-04", "2025-T2"),
          ("2024-09..2025-08", "2025-T3"))


def demo_points():
    from geodata.demo import generate_demo
    from layers.io.exporters import frame_to_csv_text

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo.csv"
        path.write_text(frame_to_csv_text(generate_demo().incidents), encoding="utf-8")
        return read_points(path)


def rolling(n: int = 9):
    """12 months of training from 2024-01 + k months, the next four months as test."""
    out = []
    for k in range(n):
        start = pd.Timestamp("2024-01-01") + pd.DateOffset(months=k)
        train = period_from_dates(start.date(), (start + pd.DateOffset(months=12)
                                                 - pd.Timedelta(days=1)).date())
        test_start = start + pd.DateOffset(months=12)
        test = period_from_dates(test_start.date(), (test_start + pd.DateOffset(months=4)
                                                     - pd.Timedelta(days=1)).date())
        out.append((train, test))
    return out


def sv(value: float, decimals: int = 2) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


def main() -> None:
    datasets = {"Demodata (Stockholm, påhittade)": demo_points(),
                "City of London (data.police.uk)": read_points(LONDON)}
    config = load_config()
    print("### 1. The three splits of the acceptance test\n")
    for name, points in datasets.items():
        for train, test in SPLITS:
            r = run_backtest(points, parse_span(train), parse_span(test), config=config)
            print(f"**{name}**, training {train}, test {test}: {r.n_train} / {r.n_test} "
                  f"incidents, {sv(r.cell_size_m, 0)} m cells, {r.n_cells} cells, KDE "
                  f"bandwidth {sv(r.bandwidth_m, 0)} m\n")
            print("| method | " + " | ".join(f"hit rate {sv(s * 100, 1)} %" for s in
                                               AREA_SHARES) + " | " +
                  " | ".join(f"PAI {sv(s * 100, 1)} %" for s in AREA_SHARES) + " |")
            print("|---" * (1 + 2 * len(AREA_SHARES)) + "|")
            for m in METHODS:
                hits = " | ".join(sv(r.value(m, s, "hit_rate") * 100, 1) + " %"
                                  for s in AREA_SHARES)
                pais = " | ".join(sv(r.value(m, s)) for s in AREA_SHARES)
                print(f"| {m} | {hits} | {pais} |")
            print()

    print("### 2. PAI at 5 % on nine rolling splits\n")
    print("| data | training | test | priority | prior_counts | priority − prior | kde | "
          "priority / kde |")
    print("|---|---|---|---|---|---|---|---|")
    for name, points in datasets.items():
        for train, test in rolling():
            r = run_backtest(points, train, test, config=config)
            p, c, k = (r.value(m, 0.05) for m in ("priority", "prior_counts", "kde"))
            print(f"| {name.split(' (')[0]} | {train.code} | {test.code} | {sv(p)} | {sv(c)} "
                  f"| {sv(p - c, 3)} | {sv(k)} | {sv(p / k)} |")
    print()

    print("### 3. Sensitivity (PAI at 5 %, nine rolling splits)\n")
    print("| data | variant | mean priority − prior | worst priority − prior | "
          "splits priority ≥ prior | worst priority / kde |")
    print("|---|---|---|---|---|---|")
    variants = [("as shipped (bonus 0,02, KDE 2 cells, auto cells)", {}, {}),
                ("significance bonus 0", {"significance_bonus": 0.0}, {}),
                ("significance bonus 0,05", {"significance_bonus": 0.05}, {}),
                ("significance bonus 0,10", {"significance_bonus": 0.10}, {}),
                ("KDE bandwidth 1 cell", {}, {"kde_bandwidth_cells": 1.0}),
                ("KDE bandwidth 1,5 cells", {}, {"kde_bandwidth_cells": 1.5}),
                ("cells 100 m (demo) / 75 m (London)", {}, {"cell_size": "alt"}),
                ("hexagons", {"shape": "hex"}, {})]
    for name, points in datasets.items():
        short = name.split(" (")[0]
        for label, change, options in variants:
            cfg = replace(config, **change)
            opts = dict(options)
            if opts.get("cell_size") == "alt":
                opts["cell_size"] = 100.0 if short == "Demodata" else 75.0
            diffs, ratios = [], []
            for train, test in rolling():
                r = run_backtest(points, train, test, config=cfg, **opts)
                p, c, k = (r.value(m, 0.05) for m in ("priority", "prior_counts", "kde"))
                diffs.append(p - c)
                ratios.append(p / k)
            diffs = np.array(diffs)
            print(f"| {short} | {label} | {sv(diffs.mean(), 3)} | {sv(diffs.min(), 3)} | "
                  f"{int((diffs >= -1e-12).sum())} / {len(diffs)} | {sv(min(ratios))} |")


if __name__ == "__main__":
    main()
