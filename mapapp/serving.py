"""``trygghetskartan serve``: waitress in one process, or several worker processes.

One Python process runs one thread at a time (the interpreter lock), whatever the
number of cores, so one waitress process uses about one core. ``serve --workers N``
(default: the cores this process may use) binds the listening socket once, in a
small supervisor process, and starts N worker processes
(``python -m mapapp.worker``) that each build the app and run waitress on that
same socket: the kernel hands each new connection to a worker that is waiting in
``accept``, so a busy worker takes fewer. The supervisor starts a worker again when
one dies (and gives up, stopping the others, when they die straight after start),
and on SIGTERM, SIGINT or SIGHUP stops them all. A worker stops by itself when its
supervisor is gone. ``--workers 1`` serves in the one process, as before.

What each worker has of its own, and why that is right across processes:

* **Caches** (``mapapp/page_cache.py``, the ranking, the grid): keyed on the table
  versions read from the store (``Store.layer_version``), so a change committed by
  any process shows in every worker; each worker renders a page once per change
  (and, under the findings grace, at most once per ``PAGE_CACHE_GRACE``).
* **The warmer** runs in every worker (each warms its own cache).
* **The write gate** (``mapapp/write_gate.py``) is per worker: at most
  :data:`~mapapp.write_gate.WRITE_SLOTS` writes at once in each, so a worker's
  readers keep its interpreter; the store's own lock (SQLite's, PostgreSQL's)
  orders the writes of all workers, and a write that cannot get it within
  ``STORE_BUSY_TIMEOUT`` is answered 503 with ``Retry-After`` whichever worker runs it.
* **Log-in throttling** counts failures in the store (``layers/domain/throttle.py``), so
  the limit holds across workers.
* **Sessions and CSRF tokens** are signed with ``SECRET_KEY``: the supervisor gives
  every worker the key it resolved (``TRYGGHETSKARTAN_SECRET_KEY`` in the worker's
  environment, or the one kept in the instance folder), so a form fetched from one
  worker is accepted by another.
* **Status mails** are sent by worker 0 only.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from flask import Flask

LOGGER = logging.getLogger(__name__)

#: waitress threads per process. One Python process runs one thread at a time
#: whatever the cores, and most answers come from the page cache in about a
#: millisecond, so threads are not for CPU: they are for requests that wait. Writes
#: wait for one of two slots (mapapp/write_gate.py) inside a thread, so the threads
#: must outnumber the waiting uploads with room for readers: with 8 threads 10
#: uploaders left too few for 50 readers (122 requests/s, p95 0.9 s), with 16 the
#: same load ran at 235/s, p95 0.37 s (bench/README.md, load.py, 2026-12-06).
SERVE_THREADS = 16
#: Open connections waitress keeps per process (60 users with a browser's few each
#: fit), and the listen backlog for bursts beyond that.
CONNECTION_LIMIT = 200
BACKLOG = 1024
#: A worker that ends within this many seconds of its start "died at start".
STARTUP_SECONDS = 10.0
#: After this many deaths at start in a row the supervisor gives up.
MAX_FAILED_STARTS = 3
#: Seconds a stopping worker gets to finish its requests before it is killed.
STOP_SECONDS = 10.0


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def prepare(app: Flask) -> None:
    """What every serving process sets on its app: the findings grace, the write gate."""
    from mapapp.page_cache import SERVE_GRACE
    from mapapp.write_gate import wrap

    # findings during a walk arrive every few seconds: rankings and figures may show
    # them up to this late instead of being computed again for every upload
    app.config.setdefault("PAGE_CACHE_GRACE", SERVE_GRACE)
    wrap(app)


def start_background(app: Flask, *, sender: bool, echo: Callable[[str], None]) -> None:
    """The cache warmer, and (``sender``) the status-mail sender."""
    from mapapp.notify import start_sender
    from mapapp.priority import start_cache_warmer

    start_cache_warmer(app)
    if sender and start_sender(app) is not None:
        echo("Statusmejl skickas i bakgrunden (SMTP är konfigurerad).")


def _waitress(app: Flask, threads: int, **where) -> None:
    from waitress import serve as waitress_serve

    waitress_serve(app, threads=threads, ident="trygghetskartan",
                   connection_limit=CONNECTION_LIMIT, backlog=BACKLOG, **where)


def serve(app: Flask, *, host: str, port: int, threads: int, workers: int,
          data_dir: str | None, echo: Callable[[str], None] = print) -> int:
    """Serve ``app`` (already checked against its store) until stopped.

    Returns the exit code: 0 after a stop, 1 when the workers kept dying at start.
    """
    if workers <= 1:
        prepare(app)
        start_background(app, sender=True, echo=echo)
        _waitress(app, threads, host=host, port=port)
        return 0
    # the store is made (or found) once, here, not by N workers at the same time
    from mapapp.store_ import get_store

    with app.app_context():
        get_store().close()
        app.extensions["trygghetskartan.store"] = None
    sock = listen(host, port)
    env = dict(os.environ, TRYGGHETSKARTAN_SECRET_KEY=str(app.config["SECRET_KEY"]))

    def command(index: int) -> list[str]:
        args = [sys.executable, "-m", "mapapp.worker", "--fd", str(sock.fileno()),
                "--index", str(index), "--threads", str(threads)]
        if data_dir:
            args += ["--data-dir", data_dir]
        if logging.getLogger().getEffectiveLevel() <= logging.INFO:
            args.append("--verbose")
        return args

    supervisor = Supervisor(workers, command, env, pass_fds=(sock.fileno(),))
    try:
        return supervisor.run()
    finally:
        sock.close()


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` that child processes can inherit."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


class Supervisor:
    """Keeps ``count`` worker processes running until a stop signal."""

    def __init__(self, count: int, command: Callable[[int], list[str]], env: dict,
                 pass_fds: Sequence[int] = ()) -> None:
        self.count = count
        self.command = command
        self.env = env
        self.pass_fds = tuple(pass_fds)
        self.stopping = threading.Event()
        self.workers: dict[int, tuple[subprocess.Popen, float]] = {}
        self.failed_starts = 0

    def start(self, index: int) -> None:
        process = subprocess.Popen(self.command(index), env=self.env,
                                   pass_fds=self.pass_fds)
        self.workers[index] = (process, time.monotonic())
        LOGGER.info("worker %d started (pid %d)", index, process.pid)

    def _signal(self, signum: int, frame: object) -> None:
        self.stopping.set()

    def run(self) -> int:
        """Start the workers, start again the ones that die, stop them on a signal."""
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        previous = {s: signal.signal(s, self._signal) for s in handled}
        code = 0
        try:
            for index in range(self.count):
                self.start(index)
            while not self.stopping.wait(0.5):
                for index, (process, started) in list(self.workers.items()):
                    status = process.poll()
                    if status is None:
                        continue
                    LOGGER.warning("worker %d (pid %d) ended with %s", index,
                                   process.pid, status)
                    if time.monotonic() - started < STARTUP_SECONDS:
                        self.failed_starts += 1
                    else:
                        self.failed_starts = 0
                    if self.failed_starts >= MAX_FAILED_STARTS:
                        LOGGER.error("workers end at start: giving up")
                        code = 1
                        self.stopping.set()
                        break
                    self.start(index)
        finally:
            self.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return code

    def pids(self) -> list[int]:
        return [process.pid for process, _ in self.workers.values()]

    def stop(self) -> None:
        """SIGTERM to every worker; SIGKILL to those still running after STOP_SECONDS."""
        processes = [process for process, _ in self.workers.values()]
        for process in processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- a worker process ----------------------------------------------------------------


def _exit_with_parent(parent: int) -> None:
    """SIGTERM ourselves when the supervisor is gone (we were re-parented)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


def _stop(signum: int, frame: object) -> None:
    # waitress ends its loop on SystemExit and lets running requests finish
    raise SystemExit(0)


def worker_main(argv: list[str] | None = None) -> int:
    """One worker: build the app, serve it with waitress on the inherited socket."""
    parser = argparse.ArgumentParser(prog="python -m mapapp.worker",
                                     description="En arbetsprocess för trygghetskartan serve.")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--threads", type=int, default=SERVE_THREADS)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=f"%(levelname)s %(name)s[{args.index}]: %(message)s")
    # Ctrl+C reaches the whole process group: the supervisor stops us with SIGTERM
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop)
    _exit_with_parent(os.getppid())
    from mapapp.cli.common import create_app
    from mapapp.store_ import check_version

    # as in `serve`: the store that --data-dir chooses is the one checked
    app = create_app(check_store=False)
    if args.data_dir:
        app.config["DATA_DIR"] = args.data_dir
    check_version(app)
    prepare(app)
    start_background(app, sender=args.index == 0, echo=LOGGER.warning)
    sock = socket.socket(fileno=args.fd)
    _waitress(app, args.threads, sockets=[sock])
    return 0

