"""Benchmark: rank priority places on 1 000 000 incidents, against a bare esda.G_Local.

    .venv/bin/python bench/priority.py [--rows N] [--cell-size M] [--permutations K]

1. Generates N incidents (default 1 000 000) deterministically on Stockholm's land:
   60 % in 400 Gaussian clusters (σ 40–150 m) and 40 % spread evenly, with the demo
   data's category mix, in 2025; the same again (another seed) for 2024, so the trend
   is computed too. Not timed.
2. Ours: :func:`layers.analysis.priority.rank_places` for the whole city and for one district
   (Järva): cells, Gi* with Benjamini–Hochberg, merging into places, names, score
   parts and the Swedish sentences. Best of three runs (the first also fills the
   cached cell lattice of the study area, which a server keeps between requests).
3. Baseline, in the same run on the same cell counts: ``esda.G_Local(y, w,
   transform="B", star=True, permutations=0)`` with a libpysal ``W`` built beforehand
   from the same contiguity (not timed) — the bare Gi* call an analyst would make.
   With ``--permutations K`` also esda's default permutation test (K=999 is esda's
   default; slow without numba).

Prints the seconds and the ratio ours / bare G_Local for the district and the city,
the phase breakdown of ours, and checks that our z-scores equal esda's (1e-6). No
timed assertions: the numbers are ratios measured in the same run on one machine.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layers.analysis.grid import Grid, auto_cell_size  # noqa: E402
from layers.analysis.priority import (  # noqa: E402
    Observations,
    analyse_cells,
    load_config,
    rank_places,
    study_area,
)
from layers.analysis.priority import ranking as ranking_module  # noqa: E402
from layers.analysis.study_area import covering  # noqa: E402
from layers.core.periods import Period  # noqa: E402
from layers.core.schema import INCIDENT_CATEGORIES  # noqa: E402

SEED = 20250101
PERIOD = Period.year(2025)


def generate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n incidents on Stockholm's land (EPSG:3011): clusters plus an even background."""
    rng = np.random.default_rng(seed)
    land = study_area(None).land
    shapely.prepare(land)
    minx, miny, maxx, maxy = land.bounds

    def uniform(k: int) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = np.empty(0), np.empty(0)
        while len(xs) < k:
            x = rng.uniform(minx, maxx, 2 * k)
            y = rng.uniform(miny, maxy, 2 * k)
            ok = shapely.contains_xy(land, x, y)
            xs, ys = np.concatenate([xs, x[ok]]), np.concatenate([ys, y[ok]])
        return xs[:k], ys[:k]

    hub_x, hub_y = uniform(400)
    hub_sigma = rng.uniform(40, 150, 400)
    hub_weight = rng.pareto(1.5, 400) + 0.2
    clustered = int(n * 0.6)
    which = rng.choice(400, clustered, p=hub_weight / hub_weight.sum())
    cx = hub_x[which] + rng.normal(0, 1, clustered) * hub_sigma[which]
    cy = hub_y[which] + rng.normal(0, 1, clustered) * hub_sigma[which]
    bx, by = uniform(n - clustered)
    codes = np.array([c.code for c in INCIDENT_CATEGORIES], dtype=object)
    share = np.array([0.02, 0.075, 0.05, 0.04, 0.012, 0.015, 0.002, 0.0004, 0.10, 0.08,
                      0.25, 0.08, 0.03, 0.045, 0.01, 0.004, 0.025, 0.03, 0.02, 0.045])
    category = codes[rng.choice(len(codes), n, p=share / share.sum())]
    return np.concatenate([cx, bx]), np.concatenate([cy, by]), category


def best_of(runs: int, fn):
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def bare_g_local(grid: Grid, keys: np.ndarray, y: np.ndarray, permutations: int
                 ) -> tuple[float, np.ndarray]:
    """Seconds of esda.G_Local on these cells (the W is built before the clock starts)."""
    import esda
    from libpysal.weights import WSP

    w = WSP(grid.adjacency(keys).tocsr()).to_W(silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        g = esda.G_Local(y, w, transform="B", star=True, permutations=permutations,
                         seed=1, n_jobs=1, keep_simulations=False)
        return time.perf_counter() - t0, np.asarray(g.Zs)


class Phases:
    """Time spent in the analysis' phases, by wrapping the functions
    :func:`rank_places` calls (names in :mod:`layers.analysis.priority.ranking`)."""

    NAMES = {"analyse_cells": "Gi* + FDR + score", "merge_places": "merging into places",
             "_rank_groups": "scoring and ranking places",
             "_build_places": "details of the listed places", "name_places": "names",
             "explain": "Swedish sentences"}

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(self.NAMES.values(), 0.0)
        self._saved = {}

    def __enter__(self):
        for attr, label in self.NAMES.items():
            original = getattr(ranking_module, attr)
            self._saved[attr] = original

            def timed(*args, _original=original, _label=label, **kwargs):
                t0 = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.seconds[_label] += time.perf_counter() - t0

            setattr(ranking_module, attr, timed)
        return self

    def __exit__(self, *exc) -> None:
        for attr, original in self._saved.items():
            setattr(ranking_module, attr, original)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cell-size", type=float, default=None)
    parser.add_argument("--permutations", type=int, default=0,
                        help="also time esda's permutation test with this many permutations")
    args = parser.parse_args()

    t0 = time.perf_counter()
    x, y, category = generate(args.rows, SEED)
    px, py, _ = generate(args.rows, SEED + 1)
    config = load_config()
    size = args.cell_size or auto_cell_size(args.rows / (PERIOD.days / 365.25),
                                            study_area(None).land.area)
    obs = Observations(x, y, category, px, py)
    print(f"Priority bench: {args.rows:,} incidents in {PERIOD.code} (+ {args.rows:,} in "
          f"{PERIOD.year_before().code} for the trend), cells {size:.0f} m "
          f"(generated in {time.perf_counter() - t0:.1f} s)".replace(",", " "))

    grid = Grid(size, config.shape)
    rows = []
    for label, sdn in (("district (Järva)", "jarva"), ("whole city", None)):
        rank_places(obs, PERIOD, sdn=sdn, config=config, cell_size=size)   # warm the caches
        with Phases() as phases:
            seconds, result = best_of(3, lambda s=sdn: rank_places(
                obs, PERIOD, sdn=s, config=config, cell_size=size))
        phase_share = {k: v / 3 for k, v in phases.seconds.items()}
        # the same cells and weighted counts, for the bare esda call
        _, keys = covering(size, config.shape, sdn)
        cell = grid.keys_of(x, y)
        pos = np.minimum(np.searchsorted(keys, cell), len(keys) - 1)
        inside = keys[pos] == cell
        weighted = np.bincount(pos[inside], weights=config.weights_of(category[inside]),
                               minlength=len(keys))
        bare, esda_z = bare_g_local(grid, keys, weighted, 0)
        ours = analyse_cells(grid, keys, weighted, config)
        agree = float(np.max(np.abs(ours.gi.z - esda_z)))
        perm = None
        if args.permutations:
            perm, _ = bare_g_local(grid, keys, weighted, args.permutations)
        rows.append((label, len(keys), seconds, bare, perm, agree, len(result.places),
                     result.n_incidents, phase_share))

    print()
    print(f"{'area':<18} {'cells':>8} {'incidents':>10} {'ours s':>8} {'G_Local s':>10} "
          f"{'ratio':>7}" + ("  G_Local(perm) s  ratio" if args.permutations else ""))
    for label, n_cells, ours_s, bare_s, perm_s, _agree, _places, n_inc, _ in rows:
        line = (f"{label:<18} {n_cells:>8} {n_inc:>10} {ours_s:>8.3f} {bare_s:>10.3f} "
                f"{ours_s / bare_s:>6.1f}x")
        if perm_s is not None:
            line += f"  {perm_s:>15.2f}  {ours_s / perm_s:>5.2f}x"
        print(line)
    print()
    for label, *_, agree, n_places, _n_inc, phase in rows:
        print(f"{label}: {n_places} places listed; max |z ours − z esda| = {agree:.1e}")
        for name, s in phase.items():
            print(f"    {name:<32} {s:7.3f} s")
    print()
    print("ours = everything rank_places does from points to the explained list (binning "
          "1M points, Gi*, FDR, places, names, sentences); the bare G_Local gets the cell "
          "counts and a ready W. Reading the points from the store is not included.")


if __name__ == "__main__":
    main()
