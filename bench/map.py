"""Benchmark: the city map and the bbox API with a million incidents in the store.

    .venv/bin/python bench/map.py [--rows N] [--keep DIR] [--repeat K] [--no-browser]
                                  [--only page|api|grid|priority]
                                  [--store geopackage|postgis]
    ./dev.sh bench map [--rows N] [--keep DIR] [--store postgis]

1. Store: N incidents (default 1 000 000) from the deterministic demo generator
   (``geodata.demo.generate_demo(n_incidents=N)``: clustered around squares and
   stations, 2024–2025, every precision) with its findings and sites, loaded the way
   ``trygghetskartan demo`` loads them. Not timed. ``--keep DIR`` keeps the store
   and reuses it on the next run with the same N.
2. ``/``: the HTML size, the server time of the first request of a fresh app (cold)
   and p50/p95 of K more (warm), through the whole Flask stack (test client).
3. First render in Chromium (Debian's, through Playwright; skipped without them):
   from navigation to (a) first contentful paint, (b) the map with its controls and
   outlines drawn, (c) every layer drawn, incident grid included; once with the
   grid cache of a fresh server process empty (cold) and once warm. Tiles are
   blocked, as in the tests.
4. ``/api/incidents`` bbox queries: K district-sized boxes (4.5 × 2.8 km, the size of
   Södermalm) and K city-sized boxes (the city's bbox), centred on random incidents,
   for the latest year, default page of 1 000, as admin (bearer token: every category
   and precision, so the query is exactly bbox + period). p50 and p95.
5. ``/api/incidents/grid`` for the whole city (250 m cells, the latest year, all
   categories, anonymous): the first request after the grid cache was emptied (the
   store counts every cell of this and the previous year) and warm p50/p95.
6. The priority ranking of one district (Järva, the latest tertial) computed from the
   store with the ranking cache emptied, K times: p50/p95.
7. Baseline for 4: the same query answered from the in-memory GeoDataFrame of the
   latest year's incidents (every row the queries can select; read once, a month at
   a time, not timed) with bare geopandas: ``frame.cx[...]`` + the
   period mask + time order + the first 1 000 rows + ``to_crs(4326).to_json()``. The
   ratios ours / baseline are printed; also the baseline's filter alone.

``--store postgis`` runs it all on a PostGIS store (``TRYGGHETSKARTAN_DATABASE``, or a
throwaway cluster as in the tests; see ``bench/_stores.py``).

Targets: ``/`` under 1 MB and first render under 2 s; district-sized bbox p95 under
200 ms; city grid under 1 s; priority for one district under 2 s. No timed
assertions: numbers and ratios to a baseline on the same machine.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import geopandas as gpd  # noqa: E402
from _stores import LoadSampler, add_store_argument, app_config, store_location  # noqa: E402

from layers.analysis.areas import area_catalogue  # noqa: E402
from layers.core.periods import Period  # noqa: E402
from layers.io.filters import bbox_to_store  # noqa: E402
from layers.store import Query, Store, open_store  # noqa: E402

SEED = 20240601
#: A district-sized box: Södermalm's extent, 4.5 × 2.8 km (degrees at 59.3° N).
DISTRICT_DEGREES = (0.08, 0.025)
TILE_URL = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
SETTLED = ("window.tkMap && tkMap.state.pending === 0 && !tkMap.state.moving"
           " && tkMap.state.loads >= 3")


# --- the store ---------------------------------------------------------------------------


def build_store(location: str, n: int) -> Store:
    """A store with the demo data set grown to ``n`` incidents (reused when present).

    ``location`` is an empty or reusable store (a folder, or a PostGIS schema's URL).
    """
    store = open_store(location)
    try:  # a store made by older code lacks newer tables: not initialized, yet kept
        stored = store.count("incidents")
    except Exception:  # noqa: BLE001 - no incidents table: a new store
        stored = 0
    if stored == n:
        print(f"reusing {store!r} ({n:,} incidents)")
        from layers.store.migrate import migrate, plan

        if plan(store).needed:  # a kept store made by older code
            t0 = time.perf_counter()
            done = migrate(store, None)
            print(f"migrated it from schema version {done.current} to {done.target} in "
                  f"{time.perf_counter() - t0:.1f} s")
        return store
    if stored or store.is_initialized():
        raise SystemExit(f"{store!r} holds other data: give a new --keep folder")
    import geodata.demo as demo
    from layers.io.demo_load import load_demo

    original = demo.generate_demo
    # load_demo builds the default demo; the same generator, with n incidents
    demo.generate_demo = lambda seed=demo.DEFAULT_SEED: original(seed=seed, n_incidents=n)
    try:
        t0 = time.perf_counter()
        load_demo(store)
        store.checkpoint()
    finally:
        demo.generate_demo = original
    print(f"built {store!r} with {n:,} incidents in {time.perf_counter() - t0:.0f} s")
    return store


def make_app(location: str):
    from mapapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SESSION_COOKIE_SECURE": False,
                      "TILE_URL": TILE_URL, **app_config(location)})
    return app


def admin_token(app) -> str:
    from layers.domain.users import add_user, get_user, new_token
    from mapapp.store_ import get_store

    with app.app_context():
        store = get_store()
        if get_user(store, "bench-admin") is None:
            add_user(store, "bench-admin", "admin", "bench-password")
        return new_token(store, "bench-admin")


# --- measuring ---------------------------------------------------------------------------


def percentiles(seconds: list[float]) -> tuple[float, float]:
    return float(np.percentile(seconds, 50)), float(np.percentile(seconds, 95))


def ms(value: float) -> str:
    return f"{value * 1000:7.1f} ms"


def bench_page(location: str, repeat: int) -> None:
    app = make_app(location)
    client = app.test_client()
    t0 = time.perf_counter()
    first = client.get("/")
    cold = time.perf_counter() - t0
    assert first.status_code == 200, first.status_code
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        client.get("/")
        warm.append(time.perf_counter() - t0)
    p50, p95 = percentiles(warm)
    size = len(first.data)
    print(f"/  HTML {size / 1e3:.0f} kB (target < 1 000 kB: {'OK' if size < 1e6 else 'OVER'})")
    print(f"/  server time: cold {ms(cold)}, warm p50 {ms(p50)} p95 {ms(p95)} ({repeat} requests)")


def bench_browser(location: str) -> None:
    if importlib.util.find_spec("playwright") is None or not Path("/usr/bin/chromium").exists():
        print("first render: skipped (needs playwright and /usr/bin/chromium)")
        return
    from infra import CHROMIUM_ARGS, serve_wsgi_in_thread
    from playwright.sync_api import sync_playwright

    from layers.analysis import aggregate

    aggregate.clear_cache()
    app = make_app(location)
    url, stop = serve_wsgi_in_thread(app)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 headless=True, args=CHROMIUM_ARGS)
            for label in ("cold (empty grid cache)", "warm"):
                context = browser.new_context(viewport={"width": 1366, "height": 900})
                page = context.new_page()
                page.route("http://127.0.0.1:9/**", lambda route: route.abort())
                t0 = time.perf_counter()
                page.goto(url + "/")
                page.wait_for_function(SETTLED, timeout=120_000)
                wall = time.perf_counter() - t0
                fcp, ready, drawn, layers = page.evaluate("""() => [
                    (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime,
                    tkMap.state.readyAt, tkMap.state.drawnAt, tkMap.state.drawn]""")
                ok = "OK" if ready is not None and ready < 2000 else "OVER"
                print(f"first render, {label}: first paint {fcp:.0f} ms, map + controls + "
                      f"outlines {ready:.0f} ms (target < 2 000 ms: {ok}); incident grid "
                      f"{layers['incidents']:.0f} ms, findings {layers['findings']:.0f} ms, "
                      f"sites {layers['sites']:.0f} ms, all {drawn:.0f} ms "
                      f"(wall {wall * 1000:.0f} ms)")
                context.close()
            browser.close()
    finally:
        stop()


def random_boxes(frame: gpd.GeoDataFrame, size: tuple[float, float], k: int,
                 city: tuple[float, float, float, float]) -> list[tuple[float, ...]]:
    """k boxes of ``size`` degrees centred on random incidents, kept inside the city box."""
    rng = np.random.default_rng(SEED)
    wgs = frame.geometry.iloc[rng.integers(0, len(frame), k)].to_crs(4326)
    minlon, minlat, maxlon, maxlat = city
    boxes = []
    for lon, lat in zip(wgs.x, wgs.y, strict=True):
        w, h = min(size[0], maxlon - minlon), min(size[1], maxlat - minlat)
        lon = min(max(lon, minlon + w / 2), maxlon - w / 2)
        lat = min(max(lat, minlat + h / 2), maxlat - h / 2)
        boxes.append((lon - w / 2, lat - h / 2, lon + w / 2, lat + h / 2))
    return boxes


def baseline(frame: gpd.GeoDataFrame, box: tuple[float, ...], start, end, limit: int):
    """The same page with bare geopandas on the in-memory frame; also the filter time."""
    t0 = time.perf_counter()
    minx, miny, maxx, maxy = bbox_to_store(box)
    hit = frame.cx[minx:maxx, miny:maxy]
    hit = hit[(hit["occurred_at"] >= start) & (hit["occurred_at"] < end)]
    filtered = time.perf_counter() - t0
    page = hit.sort_values("occurred_at", kind="stable").head(limit)
    text = page.to_crs(4326).to_json(default=str)
    return time.perf_counter() - t0, filtered, len(page), len(text)


def period_frame(store: Store, start, end) -> gpd.GeoDataFrame:
    """The incidents of [start, end) in memory, read a month at a time (10M rows read
    at once would hold every value as a Python object: tens of GB)."""
    import pandas as pd

    from layers.core.schema import LOCAL_TZ

    months = pd.date_range(pd.Timestamp(start).tz_convert(LOCAL_TZ),
                           pd.Timestamp(end).tz_convert(LOCAL_TZ), freq="MS")
    edges = [pd.Timestamp(start), *[m for m in months if start < m < end], pd.Timestamp(end)]
    parts = [store.read("incidents", Query(start=a, end=b))
             for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)


def bench_api(location: str, repeat: int) -> None:
    store = open_store(location)
    app = make_app(location)
    token = admin_token(app)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    with app.app_context():
        from mapapp.store_ import get_store

        catalogue = area_catalogue(get_store())
        city = catalogue.city_bounds_wgs84()
    from mapapp.reading import latest_data_year

    with app.app_context():
        year = latest_data_year(get_store())
    start, end = Period.year(year).bounds()
    t0 = time.perf_counter()
    # the queries are all of this period: the baseline needs no other rows
    frame = period_frame(store, start, end)
    print(f"(baseline frame: the {len(frame):,} incidents of {year} read into memory in "
          f"{time.perf_counter() - t0:.0f} s, not timed)")
    sizes = {"district-sized (4.5 × 2.8 km)": DISTRICT_DEGREES,
             "city-sized (whole city)": (city[2] - city[0], city[3] - city[1])}
    client.get("/api/incidents?limit=1", headers=headers)  # open the store, load the user
    print()
    print(f"/api/incidents?bbox=…&period={year} (limit 1000, admin), {repeat} boxes each:")
    print(f"{'':32} {'ours p50':>10} {'ours p95':>10} {'base p50':>10} {'base p95':>10} "
          f"{'ratio p50':>9} {'ratio p95':>9}")
    for label, size in sizes.items():
        ours, base, base_filter, rows = [], [], [], []
        for box in random_boxes(frame, size, repeat, city):
            bbox = ",".join(f"{v:.5f}" for v in box)
            t0 = time.perf_counter()
            response = client.get(f"/api/incidents?bbox={bbox}&period={year}", headers=headers)
            ours.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.data[:200]
            got = response.get_json()["numberReturned"]
            b_total, b_filter, b_rows, _ = baseline(frame, box, start, end, 1000)
            base.append(b_total)
            base_filter.append(b_filter)
            assert got == b_rows, (box, got, b_rows)
            rows.append(got)
        o50, o95 = percentiles(ours)
        b50, b95 = percentiles(base)
        f50, _ = percentiles(base_filter)
        print(f"{label:32} {ms(o50):>10} {ms(o95):>10} {ms(b50):>10} {ms(b95):>10} "
              f"{o50 / b50:8.2f}x {o95 / b95:8.2f}x")
        print(f"{'':32} (rows per page: median {int(np.median(rows))}; baseline filter "
              f"alone p50 {ms(f50).strip()})")
        if label.startswith("district"):
            print(f"{'':32} target p95 < 200 ms: {'OK' if o95 < 0.2 else 'OVER'}")
    store.close()


def bench_grid(location: str, repeat: int) -> None:
    """The whole city's grid: cold (the store counts every cell), then warm."""
    from layers.analysis import aggregate

    app = make_app(location)
    client = app.test_client()
    client.get("/api/incidents?limit=1")  # open the store
    url = "/api/incidents/grid?cell=250"
    aggregate.clear_cache()
    t0 = time.perf_counter()
    response = client.get(url)
    cold = time.perf_counter() - t0
    assert response.status_code == 200, response.data[:200]
    cells = len(response.get_json()["features"])
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        client.get(url)
        warm.append(time.perf_counter() - t0)
    p50, p95 = percentiles(warm)
    print()
    print(f"{url} (whole city, latest year, anonymous): {cells:,} cells; cold {ms(cold)} "
          f"(target < 1 000 ms: {'OK' if cold < 1 else 'OVER'}), warm p50 {ms(p50)} "
          f"p95 {ms(p95)}")


def bench_priority(location: str, repeat: int) -> None:
    """The ranking of one district from the store, the ranking cache emptied each time."""
    from layers.analysis import priority

    store = open_store(location)
    try:
        priority.priority_for_store(store, sdn="jarva")  # the study area, once
        seconds = []
        for _ in range(max(3, repeat // 4)):
            priority.clear_cache()
            t0 = time.perf_counter()
            result = priority.priority_for_store(store, sdn="jarva")
            seconds.append(time.perf_counter() - t0)
    finally:
        store.close()
    p50, p95 = percentiles(seconds)
    print(f"priority for Järva, {result.period.code} ({len(result.places)} places, "
          f"{len(seconds)} runs): p50 {ms(p50)} p95 {ms(p95)} "
          f"(target < 2 000 ms: {'OK' if p95 < 2 else 'OVER'})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="incidents (1 000 000)")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the store in this folder")
    parser.add_argument("--repeat", type=int, default=40, help="requests per measurement")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium part")
    parser.add_argument("--only", choices=["page", "api", "grid", "priority"],
                        help="measure only this part (the store is built or reused first)")
    add_store_argument(parser)
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.keep:
            folder = args.keep.resolve() / f"store_{args.rows}"
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-map-")))
        location = store_location(args.store, folder, f"bench_map_{args.rows}", stack,
                                  fresh=False)
        build_store(location, args.rows).close()
        print()
        sections = [("/", bench_page)]
        if not args.no_browser and not args.only:
            sections.append(("first render", lambda loc, _: bench_browser(loc)))
        sections += [("bbox API", bench_api), ("grid", bench_grid),
                     ("priority", bench_priority)]
        if args.only:
            label = {"page": "/", "api": "bbox API"}.get(args.only, args.only)
            sections = [s for s in sections if s[0] == label]
        for label, section in sections:
            with LoadSampler() as load:
                section(location, args.repeat)
            print(f"  [{label}: {load.summary()}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
