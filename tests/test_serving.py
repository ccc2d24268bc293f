"""``trygghetskartan serve --workers 2``: two real worker processes on one socket.

Each test starts the real command on a copy of the demo store and talks HTTP to it.
Which worker answered a request is read from Linux's /proc: the server side of the
kept-alive connection belongs to exactly one worker process. So a test can hold a
connection to each worker and check that both answer correctly, that a write made
through one shows in the other at once, that a form fetched from one is accepted by
the other (one SECRET_KEY), that failed log-ins count across workers, and that a
write that cannot get the store's lock is answered 503 with Retry-After by either.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest

from layers.domain.users import add_user, new_token
from layers.store import open_store

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc to tell the workers apart")

PASSWORD = "serve-losenord-1"
BBOX = "17.86,59.38,17.96,59.43"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return sorted(found)


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server side of the connection 127.0.0.1:client_port -> port."""
    want_local, want_remote = f"{server_port:04X}", f"{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        if local == want_local and remote == want_remote:
            return fields[9]
    return None


def _owner(inode: str, pids: list[int]) -> int | None:
    target = f"socket:[{inode}]"
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == target:
                    return pid
            except OSError:
                continue
    return None


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    token: str
    gpkg: Path
    opened: list = field(default_factory=list)

    def workers(self) -> list[int]:
        return _children(self.process.pid)

    def connect(self) -> tuple[http.client.HTTPConnection, int]:
        """A kept-alive connection and the pid of the worker that holds it."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.opened.append(conn)
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        inode = _socket_inode(self.port, conn.sock.getsockname()[1])
        pid = _owner(inode, self.workers()) if inode else None
        assert pid is not None, "no worker holds the connection"
        return conn, pid

    def connections(self) -> dict[int, http.client.HTTPConnection]:
        """One kept-alive connection to each worker (new connections until every
        worker has got one; the kernel gives each to a worker waiting in accept)."""
        held: dict[int, http.client.HTTPConnection] = {}
        spare = []
        workers = set(self.workers())
        for _ in range(300):
            conn, pid = self.connect()
            if pid in held:
                spare.append(conn)
            else:
                held[pid] = conn
            if set(held) == workers:
                break
        for conn in spare:
            conn.close()
        assert set(held) == workers, f"connections reached only {sorted(held)} of {workers}"
        return held


def call(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
         headers: dict | None = None) -> tuple[int, bytes, http.client.HTTPMessage]:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read(), response.headers


def _wait_for_workers(server: Server, count: int, seconds: float = 120.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.process.poll() is None, "serve ended"
        pids = server.workers()
        if len(pids) == count:
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
                    s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                    if b" 200 " in s.recv(100):
                        return pids
            except OSError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"{count} workers did not come up in {seconds} s")


def _serve(data_dir: Path) -> Iterator[Server]:
    """``serve --workers 2`` on ``data_dir`` (a copy of the demo store) until the end."""
    store = open_store(data_dir)
    add_user(store, "inge", "inventerare", PASSWORD)
    add_user(store, "lisa", "läsare", PASSWORD)
    token = new_token(store, "inge")
    store.close()
    port = _free_port()
    env = dict(os.environ, TRYGGHETSKARTAN_LOGIN_MAX_FAILURES="3",
               TRYGGHETSKARTAN_STORE_BUSY_TIMEOUT="1")
    for name in ("TRYGGHETSKARTAN_DATABASE", "TRYGGHETSKARTAN_SECRET_KEY"):
        env.pop(name, None)  # the key is the one the supervisor resolves
    command = [str(Path(sys.executable).parent / "trygghetskartan"), "serve", "--workers",
               "2", "--port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    served = Server(port, process, token, data_dir / "trygghetskartan.gpkg")
    try:
        _wait_for_workers(served, 2)
        yield served
    finally:
        for conn in served.opened:
            conn.close()
        workers = served.workers()
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for pid in workers:
            deadline = time.monotonic() + 15
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _alive(pid), f"worker {pid} outlived serve"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _demo_copy(folder: Path, demo_store_file: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(demo_store_file, folder / demo_store_file.name)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_store_file: Path
           ) -> Iterator[Server]:
    """One server for the tests that leave it running (each uses its own names)."""
    yield from _serve(_demo_copy(tmp_path_factory.mktemp("serve") / "data", demo_store_file))


@pytest.fixture
def own_server(tmp_path: Path, demo_store_file: Path) -> Iterator[Server]:
    """A server of the test's own, for a test that kills its processes."""
    yield from _serve(_demo_copy(tmp_path / "data", demo_store_file))


def finding(fid: str, lat: float = 59.401, lon: float = 17.905) -> bytes:
    return json.dumps([{"id": fid, "datum": "2025-05-14 21:30", "kategori": "belysning",
                        "allvarlighet": 2, "beskrivning": f"Servetest {fid}",
                        "lat": lat, "lon": lon}]).encode()


def upload(conn: http.client.HTTPConnection, token: str, fid: str):
    return call(conn, "POST", "/api/findings", finding(fid),
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def finding_ids(conn: http.client.HTTPConnection) -> set[str]:
    status, body, _ = call(conn, "GET", f"/api/findings?bbox={BBOX}&limit=5000")
    assert status == 200, body[:300]
    return {f["id"] for f in json.loads(body)["features"]}


def test_both_workers_answer_and_see_each_others_writes(server: Server):
    conns = server.connections()
    assert len(conns) == 2
    # the same reads give the same answers from either process
    answers = {}
    for pid, conn in conns.items():
        for path in (f"/api/incidents?bbox={BBOX}&limit=500", "/api/priority",
                     f"/api/incidents/grid?bbox={BBOX}"):
            status, body, _ = call(conn, "GET", path)
            assert status == 200, (pid, path, body[:300])
            answers.setdefault(path, set()).add(body)
        status, body, _ = call(conn, "GET", "/sdn/jarva")
        assert status == 200 and "Järva" in body.decode()
    assert all(len(bodies) == 1 for bodies in answers.values())
    before = {pid: finding_ids(conn) for pid, conn in conns.items()}  # now kept in each
    (first, a), (second, b) = conns.items()
    status, body, _ = upload(a, server.token, "serve-a")
    assert status == 201, body
    status, body, _ = upload(b, server.token, "serve-b")
    assert status == 201, body
    # each process shows both new findings at once (the caches key on the store's
    # table versions, which the other process's commit moved)
    for pid, conn in conns.items():
        assert finding_ids(conn) - before[pid] == {"vandring:serve-a", "vandring:serve-b"}, pid


def _form(conn: http.client.HTTPConnection, cookie: str | None) -> tuple[str, str]:
    """GET the log-in form: (session cookie, CSRF token)."""
    status, body, headers = call(conn, "GET", "/auth/login",
                                 headers={"Cookie": cookie} if cookie else {})
    assert status == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', body.decode()).group(1)
    set_cookie = headers.get("Set-Cookie")
    if set_cookie:
        cookie = set_cookie.split(";", 1)[0]
    return cookie, token


def _log_in(conn: http.client.HTTPConnection, cookie: str, csrf: str, name: str,
            password: str) -> int:
    status, _, _ = call(conn, "POST", "/auth/login",
                        urlencode({"username": name, "password": password,
                                   "csrf_token": csrf}).encode(),
                        {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    return status


def test_failed_log_ins_count_across_workers_and_forms_pass_between_them(server: Server):
    (first, a), (second, b) = server.connections().items()
    # a form from one worker is accepted by the other: one SECRET_KEY for both (a
    # wrong key would make the CSRF token invalid: 400)
    cookie, csrf = _form(a, None)
    assert _log_in(b, cookie, csrf, "lisa", "fel") == 401
    cookie, csrf = _form(b, cookie)
    assert _log_in(a, cookie, csrf, "lisa", "fel") == 401
    # the third failure, on b, reaches the limit of 3 only if b counts a's failure
    assert _log_in(b, cookie, csrf, "lisa", "fel") == 401
    for conn in (a, b):
        assert _log_in(conn, cookie, csrf, "lisa", PASSWORD) == 429
    # another user is not locked, on either worker
    assert _log_in(a, cookie, csrf, "inge", PASSWORD) == 302


def test_a_write_that_cannot_get_the_lock_is_503_with_retry_after_on_each_worker(
        server: Server):
    conns = server.connections()
    blocker = sqlite3.connect(server.gpkg, isolation_level=None, timeout=5)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # as an import's commit would
        for pid, conn in conns.items():
            status, body, headers = upload(conn, server.token, f"busy-{pid}")
            assert status == 503, (pid, body)
            assert int(headers["Retry-After"]) > 0
            assert "upptaget" in json.loads(body)["error"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # sent again, as the walk app does: stored, once each
    for pid, conn in conns.items():
        status, body, _ = upload(conn, server.token, f"busy-{pid}")
        assert status == 201, body
    store = open_store(server.gpkg.parent)
    try:
        ids = store.read("findings")["id"].tolist()
    finally:
        store.close()
    assert sorted(i for i in ids if "busy-" in i) == sorted(
        f"vandring:busy-{pid}" for pid in conns)


def test_a_worker_that_dies_is_started_again_and_workers_end_with_the_supervisor(
        own_server: Server):
    server = own_server
    before = server.workers()
    os.kill(before[0], signal.SIGKILL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = server.workers()
        if len(now) == 2 and before[0] not in now:
            break
        time.sleep(0.2)
    pids = _wait_for_workers(server, 2)
    assert before[0] not in pids and before[1] in pids
    for pid, conn in server.connections().items():
        status, _, _ = call(conn, "GET", "/api/priority")
        assert status == 200, pid
    # without its supervisor (killed, no chance to stop them) a worker stops by itself
    server.process.kill()
    server.process.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids), "workers kept running without serve"
