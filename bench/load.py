"""Benchmark: many readers and uploaders against waitress, optionally during a big import.

    .venv/bin/python bench/load.py [--readers 50] [--uploaders 10] [--seconds 60]
                                   [--think-time 1.0] [--workers N] [--import-rows 1000000]
    ./dev.sh bench load --import-rows 1000000

1. Builds the demo store (``trygghetskartan demo``) in a temporary folder, an
   inventerare user and an API token, and serves it with ``trygghetskartan serve``
   (waitress; ``--workers`` processes, default serve's own: one per core) in a
   subprocess on 127.0.0.1 at a free port. Only 127.0.0.1 is ever contacted.
2. **Baseline**: one user alone: each reader route a few times, then a few uploads,
   one request at a time.
3. **Load**: N reader threads loop over ``/``, ``/sdn/jarva``, ``/api/incidents``
   with a district-sized bbox, ``/api/incidents/grid``, ``/priority`` and
   ``/api/priority``; M uploader threads ``POST /api/findings`` (bearer token, one
   new finding a request, unique ids, 0.2 s between). Without ``--think-time`` the
   readers send their next request as soon as the last is answered (a closed loop
   with no pause: a saturation test, where by Little's law the latency is the
   number of clients over the throughput); with ``--think-time S`` each reader
   pauses between its requests for a random time, exponential with mean S seconds
   (a person reading the map before the next click), drawn from a fixed seed.
   With ``--import-rows N`` a generated incident CSV of N rows (deterministic, as
   ``bench/import_join.py`` makes it) is imported by
   ``trygghetskartan import incidents`` in another process at the same time; the load
   then lasts at least until the import has finished (at most ``--max-seconds``). A
   probe thread tries to take the store's write lock (``BEGIN IMMEDIATE`` with a
   50 ms timeout, then ``ROLLBACK``) every 100 ms and reports the longest time it
   could not: how long the import held the write lock.
4. Prints the load average (the machine is shared), the CPU seconds of this client
   and of the server processes during the load (they share the cores), requests/s,
   p50/p95 per route under load and alone, their ratios, answers by status (500s separately), 503s
   with and without Retry-After (an uploader sends the finding again after the
   Retry-After, as the walk app does, at most ``UPLOAD_RETRIES`` times), the errors
   (5xx other than 503 + Retry-After, 503 without it, time-outs, connection errors),
   checks that every finding the server accepted (201/200 and its ids) is in the
   store afterwards, and the acceptance line of issue 16.

Every loop is bounded in time and count; nothing is asserted on times.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layers.store import open_store  # noqa: E402

HOST = "127.0.0.1"
#: District-sized bbox (Järva, WGS 84) and the period of the demo data.
JARVA_BBOX = "17.86,59.38,17.96,59.43"
READ_ROUTES = {
    "/": "/",
    "/sdn/jarva": "/sdn/jarva",
    "/api/incidents?bbox": f"/api/incidents?bbox={JARVA_BBOX}&limit=500",
    "/api/incidents/grid": f"/api/incidents/grid?bbox={JARVA_BBOX}",
    "/priority": "/priority",
    "/api/priority": "/api/priority",
}
UPLOAD = "POST /api/findings"
REQUEST_TIMEOUT = 60.0
MAX_REQUESTS_PER_WORKER = 100_000


def cli_path() -> str:
    return str(Path(sys.executable).parent / "trygghetskartan")


def run_cli(*args: str, env: dict | None = None) -> str:
    done = subprocess.run([cli_path(), *args], capture_output=True, text=True, env=env,
                          timeout=900, check=True)
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Results:
    """Every answer: route, status, seconds, whether 503 had Retry-After (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[tuple[str, int, float, bool]] = []
        self.accepted: list[str] = []
        #: bodies of uploads refused as invalid (422), for the report
        self.refused: list[str] = []

    def add(self, route: str, status: int, seconds: float, retry_after: bool = False) -> None:
        with self.lock:
            self.rows.append((route, status, seconds, retry_after))


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, bytes, dict]:
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def timed_call(results: Results, port: int, route: str, method: str, path: str,
               body: bytes | None = None, headers: dict | None = None, *,
               with_retry_after: bool = False):
    """One request, counted; returns (status, body) or, ``with_retry_after``, also the
    seconds of a Retry-After header (None without one)."""
    t0 = time.perf_counter()
    retry_after = None
    try:
        status, data, head = request(port, method, path, body, headers)
    except TimeoutError:
        status, data, head = -1, b"", {}  # -1: timed out
    except OSError:
        status, data, head = -2, b"", {}  # -2: connection error
    if status == 503 and "Retry-After" in head:
        with contextlib.suppress(ValueError):
            retry_after = float(head["Retry-After"])
    results.add(route, status, time.perf_counter() - t0,
                retry_after=status == 503 and "Retry-After" in head)
    return (status, data, retry_after) if with_retry_after else (status, data)


def finding_body(worker: int, i: int, run: str) -> bytes:
    lat = 59.400 + (worker * 37 + i) % 100 * 0.0002
    lon = 17.900 + (worker * 11 + i) % 100 * 0.0003
    return json.dumps([{"id": f"load-{run}-{worker}-{i}", "datum": "2025-05-14 21:30",
                        "kategori": "belysning", "allvarlighet": 2,
                        "beskrivning": f"Lasttest {run} {worker}/{i}", "lat": lat,
                        "lon": lon}]).encode()


#: Times an uploader sends a finding again after 503 + Retry-After (as the walk app does).
UPLOAD_RETRIES = 3


def upload(results: Results, port: int, token: str, worker: int, i: int, run: str,
           stop: threading.Event | None = None) -> None:
    """Send one finding; after 503 with Retry-After wait that long and send it again
    (each answer is counted; the same id again stores nothing)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for _ in range(1 + UPLOAD_RETRIES):
        status, data, retry_after = timed_call(results, port, UPLOAD, "POST",
                                               "/api/findings", finding_body(worker, i, run),
                                               headers, with_retry_after=True)
        if status in (200, 201):
            with results.lock:
                results.accepted.extend(json.loads(data)["ids"])
            return
        if status == 422:
            with results.lock:
                results.refused.append(f"{worker}/{i}: {data[:300].decode(errors='replace')}")
        if status != 503 or retry_after is None or (stop is not None and stop.is_set()):
            return
        time.sleep(min(retry_after, 10.0))


def reader_loop(results: Results, port: int, worker: int, deadline: float,
                stop: threading.Event, think: float = 0.0) -> None:
    """Read the routes in turn; ``think`` > 0: an exponential pause with that mean
    (seconds) after each answer, as a person reads the map before the next click."""
    routes = list(READ_ROUTES.items())
    pauses = random.Random(worker)
    if think > 0:  # the readers do not start in step
        stop.wait(pauses.uniform(0, think))
    for i in range(MAX_REQUESTS_PER_WORKER):
        if time.monotonic() > deadline or stop.is_set():
            return
        name, path = routes[(worker + i) % len(routes)]
        timed_call(results, port, name, "GET", path)
        if think > 0:
            stop.wait(min(pauses.expovariate(1.0 / think), max(0.0, deadline - time.monotonic())))


def uploader_loop(results: Results, port: int, token: str, worker: int, deadline: float,
                  stop: threading.Event, run: str) -> None:
    for i in range(MAX_REQUESTS_PER_WORKER):
        if time.monotonic() > deadline or stop.is_set():
            return
        upload(results, port, token, worker, i, run, stop)
        time.sleep(0.2)  # a person with a phone, not a loop: ~5 uploads/s per worker


def lock_probe(path: Path, stop: threading.Event, deadline: float) -> list[float]:
    """Lengths of the periods in which the write lock could not be taken (seconds)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    periods, busy_since = [], None
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                if busy_since is not None:
                    periods.append(time.monotonic() - busy_since)
                    busy_since = None
            except sqlite3.OperationalError:
                if busy_since is None:
                    busy_since = time.monotonic() - 0.05
            stop.wait(0.1)
    finally:
        conn.close()
    if busy_since is not None:
        periods.append(time.monotonic() - busy_since)
    return periods


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children that were waited for
    (Linux /proc; 0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # fields[0] is field 3 (state): utime, stime are fields 14, 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(root: int) -> list[int]:
    """The server process and its worker processes (children of it)."""
    pids = [root]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == root:
                pids.append(int(stat.parent.name))
    return pids


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summarise(results: Results) -> dict[str, dict]:
    by_route: dict[str, list[float]] = defaultdict(list)
    for route, status, seconds, _ in results.rows:
        if status in (200, 201):
            by_route[route].append(seconds)
    return {route: {"n": len(v), "p50": percentile(v, 0.5), "p95": percentile(v, 0.95)}
            for route, v in by_route.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--uploaders", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration (60)")
    parser.add_argument("--import-rows", type=int, default=0,
                        help="also import a generated CSV of this many incidents")
    parser.add_argument("--max-seconds", type=float, default=600.0,
                        help="the load never lasts longer than this (600)")
    parser.add_argument("--threads", type=int, default=None,
                        help="waitress threads per process (serve's default)")
    parser.add_argument("--workers", type=int, default=None,
                        help="server processes (serve's default: one per core)")
    parser.add_argument("--think-time", type=float, default=0.0,
                        help="mean pause (s, exponential) of a reader between two "
                             "requests; 0 (default): none, a saturation test")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="tk-load-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    env = dict(os.environ, TRYGGHETSKARTAN_PASSWORD="lasttest-lösen-1")
    env.pop("TRYGGHETSKARTAN_DATABASE", None)
    print(f"folder: {work}")
    if not (data / "trygghetskartan.gpkg").exists():
        run_cli("demo", "--data-dir", str(data), env=env)
    with contextlib.suppress(subprocess.CalledProcessError):
        run_cli("users", "add", "lasttest", "--role", "inventerare", "--data-dir", str(data),
                env=env)
    token = run_cli("users", "token", "lasttest", "--data-dir", str(data), env=env).split()[-1]
    csv = None
    if args.import_rows:
        import import_join  # bench/import_join.py: the same deterministic generator

        csv = work / f"incidents-{args.import_rows}.csv"
        if not csv.exists():
            t0 = time.perf_counter()
            import_join.generate(csv, args.import_rows)
            print(f"generated {csv.name} in {time.perf_counter() - t0:.1f} s")

    port = free_port()
    serve = [cli_path(), "serve", "--host", HOST, "--port", str(port), "--data-dir", str(data)]
    if args.threads:
        serve += ["--threads", str(args.threads)]
    if args.workers:
        serve += ["--workers", str(args.workers)]
    server = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL,
                              stderr=open(work / "server.log", "w"))  # noqa: SIM115
    run = str(int(time.time()))
    try:
        for _ in range(600):
            with contextlib.suppress(OSError):
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            time.sleep(0.1)
        # warm-up (not counted): first renders, the priority cache; each server
        # process has its own caches, and a new connection goes to any of them
        for _ in range(4 * (args.workers or os.cpu_count() or 1)):
            for path in READ_ROUTES.values():
                request(port, "GET", path)

        # 1. one user alone
        single = Results()
        for _ in range(5):
            for name, path in READ_ROUTES.items():
                timed_call(single, port, name, "GET", path)
        for i in range(5):
            upload(single, port, token, 999, i, run)
        base = summarise(single)

        # 2. the load (and the import)
        load = Results()
        stop = threading.Event()
        started = time.monotonic()
        hard_deadline = started + args.max_seconds
        importer = None
        if csv is not None:
            importer = subprocess.Popen(
                [cli_path(), "-v", "import", "incidents", str(csv), "--data-dir", str(data)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        probe_out: list[float] = []
        probe = threading.Thread(target=lambda: probe_out.extend(
            lock_probe(data / "trygghetskartan.gpkg", stop, hard_deadline)))
        probe.start()
        deadline = hard_deadline if importer else started + args.seconds
        workers = [threading.Thread(target=reader_loop,
                                    args=(load, port, w, deadline, stop, args.think_time))
                   for w in range(args.readers)]
        workers += [threading.Thread(target=uploader_loop,
                                     args=(load, port, token, w, deadline, stop, run))
                    for w in range(args.uploaders)]
        load_before = f"{os.getloadavg()[0]:.2f}"
        pids = server_pids(server.pid)
        server_cpu0 = {pid: process_cpu_seconds(pid) for pid in pids}
        client_cpu0 = client_cpu_seconds()
        for t in workers:
            t.start()
        # the load average half way through (1-minute average: it lags)
        stop.wait(min(args.seconds / 2, 30.0))
        load_during = f"{os.getloadavg()[0]:.2f}"
        import_seconds = import_rc = None
        import_log = ""
        if importer is not None:
            try:
                out, err = importer.communicate(timeout=args.max_seconds)
                import_rc = importer.returncode
                import_log = out + err
            except subprocess.TimeoutExpired:
                importer.kill()
                out, err = importer.communicate()
                import_log = out + err
            import_seconds = time.monotonic() - started
            # at least --seconds of load, and a little after the import's commit
            rest = max(started + args.seconds, time.monotonic() + 5) - time.monotonic()
            stop.wait(max(0.0, min(rest, hard_deadline - time.monotonic())))
            stop.set()
        for t in workers:
            t.join(REQUEST_TIMEOUT + args.max_seconds)
        stop.set()
        probe.join(5)
        elapsed = time.monotonic() - started
        client_cpu = client_cpu_seconds() - client_cpu0
        # a worker started again during the load counts from 0
        server_cpu = sum(process_cpu_seconds(pid) - server_cpu0.get(pid, 0.0)
                         for pid in server_pids(server.pid))
        server_processes = len(server_pids(server.pid))
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(10)
        if server.poll() is None:
            server.kill()

    # 3. report
    summary = summarise(load)
    print(f"\nload: {args.readers} readers + {args.uploaders} uploaders for {elapsed:.1f} s"
          + (f", during an import of {args.import_rows:,} rows" if csv else "")
          + (f"; readers think {args.think_time:g} s (mean, exponential)" if args.think_time
             else "; readers never pause (saturation)"))
    print(f"requests: {len(load.rows)} ({len(load.rows) / elapsed:.1f}/s)")
    print(f"load average before / during / after: {load_before} / {load_during} / "
          f"{os.getloadavg()[0]:.2f} (1 min, {os.cpu_count()} cores; other work included)")
    cores = os.cpu_count() or 1
    print(f"CPU seconds during the load: client (this script) {client_cpu:.1f}, server "
          f"({server_processes} processes) {server_cpu:.1f}, of {elapsed * cores:.0f} "
          f"core-seconds ({client_cpu / elapsed:.2f} + {server_cpu / elapsed:.2f} cores)")
    print(f"{'route':<22}{'n':>6}{'p50 s':>9}{'p95 s':>9}{'alone p50':>11}{'alone p95':>11}"
          f"{'ratio p50':>11}{'ratio p95':>11}")
    for route in [*READ_ROUTES, UPLOAD]:
        s, b = summary.get(route), base.get(route)
        if not s:
            print(f"{route:<22}{0:>6}")
            continue
        a50, a95 = (b["p50"], b["p95"]) if b else (float("nan"), float("nan"))
        print(f"{route:<22}{s['n']:>6}{s['p50']:>9.3f}{s['p95']:>9.3f}{a50:>11.3f}{a95:>11.3f}"
              f"{s['p50'] / a50:>10.1f}x{s['p95'] / a95:>10.1f}x")
    statuses = Counter(status for _, status, _, _ in load.rows)
    print("answers by status:", dict(sorted(statuses.items())),
          "(-1 timed out, -2 connection error)")
    for line in load.refused[:3]:
        print(f"upload refused (422): {line}")
    print(f"500 answers: {sum(n for st, n in statuses.items() if st >= 500 and st != 503)}")
    busy = [r for r in load.rows if r[1] == 503]
    print(f"503 answers: {len(busy)}, with Retry-After {sum(r[3] for r in busy)} (sent "
          f"again, up to {UPLOAD_RETRIES} times), without {sum(not r[3] for r in busy)}")
    errors = sum(n for st, n in statuses.items()
                 if st < 0 or (st >= 500 and st != 503)) + sum(not r[3] for r in busy)
    print(f"errors (5xx but 503 + Retry-After, 503 without it, time-outs, connection "
          f"errors): {errors}")
    if csv is not None:
        held = [line for line in import_log.splitlines() if "write lock held" in line]
        print(f"import: exit {import_rc} after {import_seconds:.1f} s; "
              + (held[-1].split(": ", 1)[-1] if held else "no lock log line"))
        print("  " + "\n  ".join(import_log.strip().splitlines()[-4:]))
    if probe_out:
        print(f"write lock not free (probe, 100 ms steps): longest {max(probe_out):.2f} s, "
              f"{len(probe_out)} periods, {sum(probe_out):.2f} s in all")

    store = open_store(data)
    try:
        stored = set(store.read("findings")["id"])
        incidents = store.count("incidents")
    finally:
        store.close()
    accepted = set(load.accepted) | set(single.accepted)
    missing = accepted - stored
    print(f"accepted findings: {len(accepted)}, in the store: {len(accepted & stored)}, "
          f"missing: {len(missing)}; incidents in the store: {incidents:,}")
    bbox, prio = summary.get("/api/incidents?bbox"), summary.get("/priority")
    if bbox and prio:
        print(f"acceptance (issue 16, 3): errors {errors} (0), lost findings {len(missing)} "
              f"(0), bbox p95 {bbox['p95'] * 1000:.0f} ms (< 200), /priority p95 "
              f"{prio['p95'] * 1000:.0f} ms (< 500)")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
