"""Backtest: does a ranking made on one period predict where incidents happen next?

Any dated point file will do (a CSV with ``lon``/``lat`` or ``x``/``y``, or a
GeoPackage/GeoJSON/Shapefile), from any city. The points are cut into cells of
:class:`layers.analysis.grid.Grid` in metres (SWEREF 99 18 00 around Stockholm, SWEREF 99 TM
elsewhere in Sweden, the local UTM zone anywhere else, or the file's own projected
CRS). Each method ranks the cells on the **training** period; the top 1 %, 2.5 %,
5 % and 10 % of the study area are flagged, and on the **test** period we measure

* the **hit rate**: the share of the test period's incidents inside the flagged cells;
* the **PAI** (Predictive Accuracy Index, Chainey, Tompson & Uhlig 2008): hit rate /
  share of the area flagged. Random flagging gives about 1.

Methods:

``priority``
    the score of :mod:`layers.analysis.priority` on the training period (weighted counts ×
    small bonuses; a file has no findings or sites, and the trend only counts when
    the file covers the year before the training period);
``prior_counts``
    the number of training incidents per cell;
``kde``
    a Gaussian kernel density of the training points at each cell centre, with a
    fixed bandwidth of :data:`KDE_BANDWIDTH_CELLS` cell widths (points are binned to
    a quarter of a cell first);
``random``
    cells in random order, averaged over :data:`RANDOM_DRAWS` draws with a fixed seed.

The **study area** (the denominator of the PAI) is the set of cells with at least
one incident in the training or the test period. A convex hull would count empty
water, parks and, in files with a few stray points far away (the London file has
some 380 km off), whole counties; the occupied cells are the area where incidents
can happen at all. It makes every PAI lower than a hull would, for every method
alike. The priority score's Gi* is computed on the training cells and their
neighbours only, so nothing of the test period leaks into the ranking.

Cells tied at the cut-off share the remaining flagged places in proportion (the
expected result of a random tie-break), so no method gains from an arbitrary order
of equal scores.

Times: a time without a zone is local time; a time with a UTC offset is taken at
the wall-clock time it states. Periods are written as in the rest of the product
(``2024``, ``2024-T2``, ``2024-05``, ``2024-01-01..2024-04-30``), and a range of
periods is allowed: ``2024-01..2024-12``.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from layers.analysis.aggregate import ComputedPerStore
from layers.analysis.grid import Grid, auto_cell_size
from layers.analysis.priority import PriorityConfig, analyse_cells, load_config, relative_rise
from layers.core.periods import Period, PeriodError, parse_period, period_from_dates
from layers.core.privacy import POINT_PRECISIONS
from layers.core.schema import INCIDENTS, STORE_EPSG
from layers.indicators import format_decimal
from layers.io.readers import decode_text, parse_number

METHODS = ("priority", "prior_counts", "kde", "random")
AREA_SHARES = (0.01, 0.025, 0.05, 0.1)
#: Bandwidth (standard deviation) of the Gaussian KDE baseline, in cell widths.
KDE_BANDWIDTH_CELLS = 2.0
#: The kernel is cut off this many bandwidths from a point.
KDE_CUTOFF = 4.0
RANDOM_DRAWS = 100
RANDOM_SEED = 0

LOGGER = logging.getLogger(__name__)

_SWEDEN = (10.0, 55.0, 24.5, 69.5)
_STOCKHOLM = (17.5, 59.0, 18.8, 59.8)
_SWEREF_TM = 3006
_LON = ("lon", "lng", "long", "longitude", "x_wgs84")
_LAT = ("lat", "latitude", "y_wgs84")
_X = ("x", "easting", "e", "ost")
_Y = ("y", "northing", "n", "nord")
_ZONE = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"


class BacktestError(ValueError):
    """The file cannot be backtested; the message is Swedish, for the user."""


@dataclass
class PointData:
    """Dated points in a metric CRS; ``t`` is local wall-clock time (naive)."""

    x: np.ndarray
    y: np.ndarray
    t: np.ndarray
    category: np.ndarray
    crs: str
    #: Rows left out: no time, no place, or placed only at a district or municipality.
    skipped: int = 0


@dataclass
class BacktestResult:
    """What one backtest measured; :meth:`to_dict` is the JSON contract."""

    cell_size_m: float
    n_cells: int
    n_train: int
    n_test: int
    results: list[dict]
    train: Period
    test: Period
    crs: str
    shape: str = "square"
    bandwidth_m: float = 0.0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """``{"cell_size_m", "n_cells", "n_train", "n_test", "results": [...]}``."""
        return {"cell_size_m": self.cell_size_m, "n_cells": self.n_cells,
                "n_train": self.n_train, "n_test": self.n_test,
                "results": [dict(r) for r in self.results]}

    def value(self, method: str, share: float, what: str = "pai") -> float:
        """One measured value (``hit_rate`` or ``pai``)."""
        for r in self.results:
            if r["method"] == method and math.isclose(r["area_share"], share):
                return float(r[what])
        raise KeyError((method, share))

    def to_table(self, title: str = "") -> str:
        """The result as a Swedish text table: one row per method."""
        shares = sorted({r["area_share"] for r in self.results})
        head = ["metod"] + [f"{_pct(s)}: träff / PAI" for s in shares]
        rows = []
        for method in METHODS:
            cells = [method]
            for s in shares:
                try:
                    hit_rate = self.value(method, s, "hit_rate") * 100
                    cells.append(f"{format_decimal(hit_rate, 1)} % / "
                                 f"{format_decimal(self.value(method, s), 2)}")
                except KeyError:
                    cells.append("–")
            rows.append(cells)
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = []
        if title:
            lines.append(title)
        lines += [
            f"Träning {self.train.code} ({self.n_train} händelser), "
            f"test {self.test.code} ({self.n_test} händelser).",
            f"Rutor om {format_decimal(self.cell_size_m, 0)} m ({'sexhörningar' if self.shape == 'hex' else 'kvadrater'}), "  # noqa: E501
            f"{self.n_cells} rutor i studieområdet (rutor med minst en händelse under "
            f"träning eller test), koordinatsystem {self.crs}.",
            f"KDE: gaussisk kärna, bandbredd {format_decimal(self.bandwidth_m, 0)} m "
            f"({format_decimal(self.bandwidth_m / self.cell_size_m, 1)} rutbredder). "
            f"Slump: medel av {RANDOM_DRAWS} "
            "dragningar.",
        ]
        if self.skipped:
            lines.append(f"{self.skipped} rader utan tid eller exakt plats räknades inte.")
        lines += self.notes
        lines.append("")
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(lines)


def _pct(share: float) -> str:
    return f"{format_decimal(share * 100, 1 if share * 100 % 1 else 0)} %"


# --- periods -----------------------------------------------------------------------------


def parse_span(text: str) -> Period:
    """A period, or a range of periods written ``FIRST..LAST`` (``2024-01..2024-12``)."""
    try:
        return parse_period(text)
    except PeriodError:
        if ".." not in (text or ""):
            raise
        first, _, last = text.partition("..")
        return period_from_dates(parse_period(first.strip()).start,
                                 parse_period(last.strip()).end)


# --- reading a point file ----------------------------------------------------------------


def metric_crs(lon: np.ndarray, lat: np.ndarray) -> int:
    """EPSG code of a metric CRS for points in WGS 84: Swedish systems or UTM."""
    lon0, lat0 = float(np.median(lon)), float(np.median(lat))
    w, s, e, n = _STOCKHOLM
    if w <= lon0 <= e and s <= lat0 <= n:
        return STORE_EPSG
    w, s, e, n = _SWEDEN
    if w <= lon0 <= e and s <= lat0 <= n:
        return _SWEREF_TM
    zone = min(int((lon0 + 180.0) // 6.0) + 1, 60)
    return (32600 if lat0 >= 0 else 32700) + zone


def wall_times(values: pd.Series) -> np.ndarray:
    """Local wall-clock times (naive datetime64) from text or datetime values."""
    if pd.api.types.is_datetime64_any_dtype(values):
        ts = pd.to_datetime(values)
        if ts.dt.tz is not None:
            ts = ts.dt.tz_localize(None)
        return ts.to_numpy(dtype="datetime64[ns]")
    if values.dtype == object and len(values) and isinstance(
            values.dropna().iloc[0] if values.notna().any() else None, pd.Timestamp):
        values = values.map(lambda v: v.isoformat() if isinstance(v, pd.Timestamp) else v)
    text = values.astype("string").str.strip()
    text = text.str.replace(r"(\d{4}-\d\d-\d\d)[ T](\d{1,2})\.(\d\d)", r"\1 \2:\3", regex=True)
    text = text.str.replace(_ZONE, "", regex=True).str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    return parsed.to_numpy(dtype="datetime64[ns]")


def _find(columns: list[str], *names: str) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def read_points(path: str | Path, *, crs: int | None = None) -> PointData:
    """Read a dated point file (CSV, GeoPackage, GeoJSON, zipped Shapefile)."""
    path = Path(path)
    if not path.is_file():
        raise BacktestError(f"Filen {path.name} finns inte.")
    if path.suffix.lower() in (".csv", ".txt"):
        frame, x, y, source_crs = _read_csv(path, crs)
    else:
        frame, x, y, source_crs = _read_gis(path, crs)
    time_col = _find(list(frame.columns), INCIDENTS.field("occurred_at").name,
                     *INCIDENTS.field("occurred_at").aliases)
    if time_col is None:
        raise BacktestError(f"Filen {path.name} saknar en tidskolumn (occurred_at eller datum).")
    cat_col = _find(list(frame.columns), "category", *INCIDENTS.field("category").aliases)
    prec_col = _find(list(frame.columns), "precision", *INCIDENTS.field("precision").aliases)
    t = wall_times(frame[time_col])
    category = frame[cat_col].to_numpy(dtype=object) if cat_col else \
        np.full(len(frame), None, dtype=object)
    ok = ~np.isnat(t) & np.isfinite(x) & np.isfinite(y)
    if prec_col:
        precision = frame[prec_col].fillna("exact").astype(str).str.strip().str.lower()
        ok &= precision.isin(POINT_PRECISIONS).to_numpy()
    if not ok.any():
        raise BacktestError(f"Filen {path.name} har inga rader med både tid och plats.")
    x, y, t, category = x[ok], y[ok], t[ok], category[ok]
    target = _metric_target(source_crs, x, y)
    if target != source_crs:
        transformer = Transformer.from_crs(source_crs, target, always_xy=True)
        x, y = transformer.transform(x, y)
    label = target if isinstance(target, str) else f"EPSG:{target}"
    return PointData(np.asarray(x, float), np.asarray(y, float), t, category, label,
                     int((~ok).sum()))


def _metric_target(source_crs: int | str, x: np.ndarray, y: np.ndarray) -> int | str:
    """The CRS the cells are made in: the file's own when it is in metres."""
    parsed = CRS.from_user_input(source_crs)
    if parsed.is_projected and parsed.axis_info and \
            parsed.axis_info[0].unit_name in ("metre", "meter"):
        return source_crs
    if not parsed.is_geographic:
        raise BacktestError(f"Koordinatsystemet {parsed.name} är varken i grader eller meter.")
    return metric_crs(x, y)


def _read_csv(path: Path, crs: int | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    text = decode_text(path.read_bytes(), path.name)
    first = text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                        na_values=[""])
    columns = list(frame.columns)
    lon, lat = _find(columns, *_LON), _find(columns, *_LAT)
    if lon and lat:
        return (frame, parse_number(frame[lon]).to_numpy(float),
                parse_number(frame[lat]).to_numpy(float), 4326 if crs is None else crs)
    xc, yc = _find(columns, *_X), _find(columns, *_Y)
    if xc and yc:
        x = parse_number(frame[xc]).to_numpy(float)
        y = parse_number(frame[yc]).to_numpy(float)
        if crs is None:
            if np.nanmax(np.abs(x)) <= 180 and np.nanmax(np.abs(y)) <= 90:
                crs = 4326
            else:
                raise BacktestError(f"Filen {path.name} har x/y men inget koordinatsystem: "
                                    "ange --crs EPSG.")
        return frame, x, y, crs
    raise BacktestError(f"Filen {path.name} saknar koordinater: kolumnerna lon/lat "
                        "(WGS 84) eller x/y (med --crs) behövs.")


def _read_gis(path: Path, crs: int | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray,
                                                    int | str]:
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several kinds of errors for bad files
        raise BacktestError(f"Filen {path.name} kunde inte läsas: {exc}") from exc
    if gdf.crs is None:
        if crs is None:
            bounds = gdf.total_bounds
            if np.all(np.abs(bounds[[0, 2]]) <= 180) and np.all(np.abs(bounds[[1, 3]]) <= 90):
                crs = 4326
            else:
                raise BacktestError(f"Filen {path.name} anger inget koordinatsystem: "
                                    "ange --crs EPSG.")
        source: int | str = crs
    else:
        source = gdf.crs.to_epsg() or gdf.crs.to_wkt()
    geoms = gdf.geometry.to_numpy()
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    points = np.full(len(geoms), None, dtype=object)
    points[present] = shapely.point_on_surface(geoms[present])
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[present] = shapely.get_x(points[present])
    y[present] = shapely.get_y(points[present])
    return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), x, y, source


# --- the backtest --------------------------------------------------------------------------


def _in(t: np.ndarray, period: Period) -> np.ndarray:
    start = np.datetime64(period.start, "ns")
    end = np.datetime64(period.end, "ns") + np.timedelta64(1, "D")
    return (t >= start) & (t < end)


def hit_rate(score: np.ndarray, test: np.ndarray, k: int) -> float:
    """Share of ``test`` in the ``k`` top-scoring cells; ties at the cut-off share alike."""
    total = float(test.sum())
    if total <= 0 or k <= 0:
        return 0.0
    threshold = np.partition(score, len(score) - k)[len(score) - k]
    above = score > threshold
    tied = score == threshold
    room = k - int(above.sum())
    hits = float(test[above].sum()) + room / int(tied.sum()) * float(test[tied].sum())
    return hits / total


def kde_scores(grid: Grid, cells: np.ndarray, x: np.ndarray, y: np.ndarray,
               bandwidth: float) -> np.ndarray:
    """Gaussian kernel density of the points at each cell centre (unnormalised).

    Points are binned to squares of a quarter cell first; a bin centre never falls
    exactly on a cell centre (it is offset by an eighth of a cell), so no distance
    is zero (a sparse distance matrix would drop it).
    """
    out = np.zeros(len(cells))
    if len(x) == 0:
        return out
    step = grid.size / 4.0
    bx, by = np.floor(x / step), np.floor(y / step)
    bins, counts = np.unique(np.stack([bx, by], axis=1), axis=0, return_counts=True)
    centres = (bins + 0.5) * step
    tree = cKDTree(centres)
    cx, cy = grid.centres(cells)
    reach = KDE_CUTOFF * bandwidth
    for start in range(0, len(cells), 2000):
        part = cKDTree(np.stack([cx[start:start + 2000], cy[start:start + 2000]], axis=1))
        pairs = part.sparse_distance_matrix(tree, reach, output_type="coo_matrix")
        weight = counts[pairs.col] * np.exp(-0.5 * (pairs.data / bandwidth) ** 2)
        out[start:start + 2000] = np.bincount(pairs.row, weights=weight,
                                              minlength=min(2000, len(cells) - start))
    return out


def run_backtest(points: PointData, train: Period, test: Period, *,
                 cell_size: float | None = None, config: PriorityConfig | None = None,
                 shares: tuple[float, ...] = AREA_SHARES,
                 kde_bandwidth_cells: float = KDE_BANDWIDTH_CELLS) -> BacktestResult:
    """Rank cells on ``train`` with every method and measure them on ``test``.

    ``kde_bandwidth_cells`` changes the KDE baseline's bandwidth (for the
    sensitivity table in ``docs/method.md``; the CLI always uses the default).
    """
    config = config or load_config()
    tr = _in(points.t, train)
    te = _in(points.t, test)
    n_train, n_test = int(tr.sum()), int(te.sum())
    if n_train == 0 or n_test == 0:
        which, period = ("träningsperioden", train) if n_train == 0 else ("testperioden", test)
        raise BacktestError(f"Inga händelser under {which} ({period.code}): filen har "
                            f"händelser {_span(points.t)}.")
    size = float(cell_size or config.cell_size or _auto_size(points, tr, train))
    grid = Grid(size, config.shape)
    k_train = grid.keys_of(points.x[tr], points.y[tr])
    k_test = grid.keys_of(points.x[te], points.y[te])
    area = np.unique(np.concatenate([k_train, k_test]))
    n = len(area)
    counts = np.bincount(np.searchsorted(area, k_train), minlength=n).astype(float)
    test_counts = np.bincount(np.searchsorted(area, k_test), minlength=n).astype(float)

    notes = []
    priority = _priority_scores(grid, area, points, tr, train, config, notes)
    bandwidth = kde_bandwidth_cells * size
    scores = {
        "priority": priority,
        "prior_counts": counts,
        "kde": kde_scores(grid, area, points.x[tr], points.y[tr], bandwidth),
    }
    rng = np.random.default_rng(RANDOM_SEED)
    draws = [rng.permutation(n) for _ in range(RANDOM_DRAWS)]
    results = []
    for method in METHODS:
        for share in shares:
            k = max(1, int(round(share * n)))
            if method == "random":
                rate = float(np.mean([test_counts[d[:k]].sum() for d in draws]) /
                             test_counts.sum())
            else:
                rate = hit_rate(scores[method], test_counts, k)
            results.append({"method": method, "area_share": share,
                            "hit_rate": round(rate, 6), "pai": round(rate / (k / n), 6)})
    return BacktestResult(size, n, n_train, n_test, results, train, test, points.crs,
                          config.shape, bandwidth, points.skipped, notes)


def _priority_scores(grid: Grid, area: np.ndarray, points: PointData, tr: np.ndarray,
                     train: Period, config: PriorityConfig, notes: list[str]) -> np.ndarray:
    """The priority score of each study-area cell, from the training period only."""
    k_train = grid.keys_of(points.x[tr], points.y[tr])
    occupied = np.unique(k_train)
    domain = np.union1d(occupied, grid.ring(occupied))
    at = np.searchsorted(domain, k_train)
    weighted = np.bincount(at, weights=config.weights_of(points.category[tr]),
                           minlength=len(domain))
    counts = np.bincount(at, minlength=len(domain)).astype(float)
    before = train.year_before()
    rise = None
    if points.t.min() <= np.datetime64(before.start, "ns"):
        pb = _in(points.t, before)
        kb = grid.keys_of(points.x[pb], points.y[pb])
        pos = np.minimum(np.searchsorted(domain, kb), len(domain) - 1)
        ok = domain[pos] == kb
        previous = np.bincount(pos[ok], minlength=len(domain))
        rise = relative_rise(counts, previous, config.trend_min_previous)
        notes.append(f"Trenden jämför med {before.code}.")
    cells = analyse_cells(grid, domain, weighted, config, rise=rise)
    pos = np.minimum(np.searchsorted(domain, area), len(domain) - 1)
    found = domain[pos] == area
    out = np.zeros(len(area))
    out[found] = cells.score[pos[found]]
    return out


def _auto_size(points: PointData, tr: np.ndarray, train: Period) -> int:
    """Cell size from the density of the training points (see :func:`auto_cell_size`)."""
    x, y = points.x[tr], points.y[tr]
    qx, qy = np.quantile(x, [0.01, 0.99]), np.quantile(y, [0.01, 0.99])
    core = (x >= qx[0]) & (x <= qx[1]) & (y >= qy[0]) & (y <= qy[1])
    hull = shapely.convex_hull(shapely.multipoints(np.stack([x[core], y[core]], axis=1)))
    per_year = len(x) / (train.days / 365.25)
    return auto_cell_size(per_year, float(hull.area))


def _span(t: np.ndarray) -> str:
    if len(t) == 0:
        return "inga"
    first = pd.Timestamp(t.min()).date().isoformat()
    last = pd.Timestamp(t.max()).date().isoformat()
    return f"från {first} till {last}"


# --- the store's own backtest (shown on /priority) -----------------------------------------

#: Completed tertials the store's own backtest is run on at most (the latest first).
STORE_SPLITS = 3
#: The share of the area the headline sentence speaks of.
HEADLINE_SHARE = 0.05
#: Seconds a store backtest is reused at most (the key holds the data version).
STORE_CACHE_SECONDS = 3600.0


def training_before(test: Period) -> Period:
    """The twelve whole months before ``test``: the training period the CLI and the
    store's backtest use by default."""
    import datetime as dt

    start = test.start
    first = dt.date(start.year - 1, start.month, 1)
    return period_from_dates(first, start - dt.timedelta(days=1))


@dataclass
class StoreBacktest:
    """The backtest of the priority ranking on the store's own latest tertials.

    ``results`` holds one :class:`BacktestResult` per tested tertial, the latest
    first; it is empty (and ``message`` says why) when the store has no completed
    tertial with a whole year of data before it.
    """

    area_code: str | None
    area_name: str
    results: list[BacktestResult]
    seconds: float
    message: str = ""

    @property
    def latest(self) -> BacktestResult | None:
        return self.results[0] if self.results else None

    def shares(self, result: BacktestResult | None = None, share: float = HEADLINE_SHARE
               ) -> dict[str, float]:
        """Hit rate in per cent (one decimal) of every method at ``share`` of the area."""
        result = result or self.latest
        if result is None:
            return {}
        return {m: round(result.value(m, share, "hit_rate") * 100, 1) for m in METHODS}

    def headline(self) -> dict[str, str]:
        """The latest tertial's hit rates at :data:`HEADLINE_SHARE` as whole per cent
        ("41 %"), one text per method, and the share itself as ``area``."""
        out = {m: f"{format_decimal(v, 0)}\u00a0%" for m, v in self.shares().items()}
        return {"area": _pct(HEADLINE_SHARE).replace(" ", "\u00a0"), **out} if out else {}

    def sentence(self) -> str:
        """"De 5 % av ytan som rankas högst hade 41 % av nästa tertials händelser; …"."""
        if self.latest is None:
            return self.message
        h = self.headline()
        return (f"De {h['area']} av ytan som rankas högst hade {h['priority']} av nästa "
                f"tertials händelser; förra årets antal ensamt: {h['prior_counts']}; "
                f"slumpvis utvalda rutor: {h['random']}.")

    def explanation(self) -> str:
        """How the figures were made (Swedish)."""
        latest = self.latest
        if latest is None:
            return ""
        return (f"Provet: rutorna rangordnades på samma sätt som listan, men bara med "
                f"händelserna under {latest.train.label}, och sedan räknades hur många av "
                f"händelserna under {latest.test.label} som hamnade i de högst rankade "
                f"rutorna. Rutor utan händelser räknas inte till ytan.")

    def trust(self) -> str:
        """How much to trust the ranking, from the figures (Swedish)."""
        if self.latest is None:
            return ""
        pct = self.shares()
        margins = [self.shares(r)["priority"] - self.shares(r)["prior_counts"]
                   for r in self.results]
        if all(m >= -1.0 for m in margins) and pct["priority"] >= 2 * pct["random"]:
            trust = ("Rangordningen pekar ut platser där händelserna fortsätter: den träffar "
                     "minst lika bra som att bara räkna förra årets händelser och långt bättre "
                     "än slumpen. Lita på den för att välja var man ska börja, men den "
                     "förutsäger inte enskilda händelser: "
                     f"{format_decimal(100 - pct['priority'], 0)}\u00a0% hände på andra ställen.")
        elif pct["priority"] >= 2 * pct["random"]:
            trust = ("Rangordningen träffar långt bättre än slumpen men inte alltid lika bra "
                     "som förra årets antal ensamt: se den som ett stöd, och väg in egen "
                     "kännedom om platserna.")
        else:
            trust = ("Rangordningen träffar inte mycket bättre än slumpen här: för få "
                     "händelser eller för spridda för att peka ut platser säkert. Använd den "
                     "med försiktighet.")
        return trust

    def to_dict(self) -> dict:
        """JSON-ready: the tested periods and the hit rates (per cent) at each share."""
        return {"area": self.area_name, "sdn": self.area_code,
                "sentence": self.sentence(), "trust": self.trust(),
                "explanation": self.explanation(),
                "seconds": round(self.seconds, 3),
                "splits": [{"train": r.train.code, "test": r.test.code,
                            "cell_size_m": r.cell_size_m, "n_cells": r.n_cells,
                            "hit_rate_pct": {f"{s:g}": self.shares(r, s)
                                             for s in sorted({x["area_share"]
                                                              for x in r.results})}}
                           for r in self.results]}


def store_points(store, sdn: str | None = None) -> PointData:
    """The store's incidents placed to the street or better as a :class:`PointData`
    (EPSG:3011, local wall-clock times): all of them (what ``trygghetskartan
    backtest`` reads from ``trygghetskartan export incidents``), or those on the land
    of one stadsdelsområde.

    Every category counts, as in the ranking itself; the backtest only ever shows
    shares of them."""
    from layers.analysis.priority import study_area
    from layers.core.schema import LOCAL_TZ
    from layers.store.base import Query

    land = study_area(sdn).land if sdn else None
    frame = store.read("incidents", Query(bbox=None if land is None else tuple(land.bounds),
                                          where={"precision": POINT_PRECISIONS}))
    if frame.empty:
        return PointData(np.array([]), np.array([]), np.array([], dtype="datetime64[ns]"),
                         np.array([], dtype=object), f"EPSG:{STORE_EPSG}")
    x, y = frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
    inside = np.ones(len(x), bool) if land is None else shapely.contains_xy(land, x, y)
    times = pd.to_datetime(frame["occurred_at"], utc=True).dt.tz_convert(LOCAL_TZ)
    t = times.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return PointData(x[inside], y[inside], t[inside],
                     frame["category"].to_numpy(dtype=object)[inside], f"EPSG:{STORE_EPSG}")


def store_test_periods(store, splits: int = STORE_SPLITS) -> list[Period]:
    """The latest completed tertials (the latest first) with placed incidents and a
    whole year of placed incidents before them, at most ``splits``."""
    from layers.analysis.default_period import default_period, point_span

    choice = default_period(store, "tertial")
    span = point_span(store)
    if not choice.complete or span is None:
        return []
    first = span[0].date()
    out, test = [], choice.period
    while len(out) < splits and training_before(test).start >= first:
        out.append(test)
        test = test.previous()
    return out


_STORE_RESULTS = ComputedPerStore(8, STORE_CACHE_SECONDS)


def store_backtest(store, *, sdn: str | None = None, config: PriorityConfig | None = None,
                   splits: int = STORE_SPLITS) -> StoreBacktest:
    """Backtest the priority ranking on the store's own latest completed tertials.

    Each tertial is the test period and the twelve months before it the training
    period (:func:`training_before`), with the cells of the ranking on the page
    (:func:`layers.analysis.priority.store_cell_size`). Kept per store data version, like
    the ranking (:func:`layers.analysis.priority.priority_for_store`).
    """
    import time

    from layers.analysis.aggregate import cache_key
    from layers.analysis.priority import resolve_sdn, store_cell_size, study_area
    from layers.core.privacy import VISIBILITY_RAW
    from layers.io.filters import MapFilter

    config = config or load_config()
    code = resolve_sdn(sdn) if sdn else None
    tests = store_test_periods(store, splits)
    # the backtest reads incidents only: a findings upload keeps it
    key = cache_key(store, "backtest", MapFilter(sdn=code), visibility=VISIBILITY_RAW,
                    extra=(tuple(p.code for p in tests), repr(config)))

    def compute() -> StoreBacktest:
        began = time.perf_counter()
        area = study_area(code)
        if not tests:
            return StoreBacktest(code, area.name, [], time.perf_counter() - began,
                                 "Ingen hel tertial med ett helt år av händelser före: "
                                 "rangordningen kan inte prövas på databasens egna data än.")
        points = store_points(store, code)
        size = store_cell_size(store, config)
        results = []
        for test in tests:
            try:
                results.append(run_backtest(points, training_before(test), test,
                                            cell_size=size, config=config))
            except BacktestError:
                continue  # a tertial without incidents in this area
        seconds = time.perf_counter() - began
        LOGGER.info("store backtest of %s: %d tertials in %.2f s", area.name, len(results),
                    seconds)
        message = "" if results else (f"Inga händelser i {area.name} under de senaste "
                                      "tertialerna: rangordningen kan inte prövas.")
        return StoreBacktest(code, area.name, results, seconds, message)

    return _STORE_RESULTS.get(store, key, compute)


def clear_store_cache() -> None:
    """Forget every store backtest (tests)."""
    _STORE_RESULTS.clear()
