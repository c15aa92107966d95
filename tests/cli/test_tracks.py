"""`deconflict serve --cot-tcp ... --cot-tls ...` and `deconflict cert issue`, as real processes."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import zipfile
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from deconflict.cli.tracks import TracksOptions
from deconflict.codecs import cot
from deconflict.codecs.scenario import load_into, load_scenario
from deconflict.errors import InvalidInput
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.sqlite import SQLiteStore
from tests.cli.test_app import run
from tests.conftest import BUNDLED
from tests.service.conftest import free_port, wait_ready

T = datetime(2018, 2, 7, 20, 0, tzinfo=UTC)


def _read_until(sock: socket.socket, needle: bytes, limit_s: float = 20.0) -> bytes:
    sock.settimeout(0.5)
    got = b""
    deadline = time.monotonic() + limit_s
    while needle not in got:
        assert time.monotonic() < deadline, f"no {needle!r} in {got[-300:]!r}"
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        assert chunk, "closed"
        got += chunk
    return got


def test_serve_with_cot_over_tcp_and_tls(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    with Deconflict(SQLiteStore(store)) as service:  # the scenario, seeded in-process (quicker than the CLI)
        load_into(service, load_scenario(BUNDLED))
        token = Hotline(service).issue_credential(None, "regime", "col", Role.PLANNER)[1]
    package = tmp_path / "pkg.zip"
    res = run("cert", "issue", "regime", "--member", "cmdr", "--port", "1", "-o", str(package), store=store)
    assert res.returncode == 0, res.stderr
    password = res.stdout.strip()
    z = zipfile.ZipFile(io.BytesIO(package.read_bytes()))
    assert "MANIFEST/manifest.xml" in z.namelist() and "cert/cmdr.p12" in z.namelist()
    key, cert, _extra = pkcs12.load_key_and_certificates(z.read("cert/cmdr.p12"), password.encode())
    assert key is not None and cert is not None
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    port, tcp, tls = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port), "--store", str(store),
         "--cot-tcp", str(tcp), "--cot-tls", str(tls)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ})
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        with socket.create_connection(("127.0.0.1", tcp)) as s:
            s.sendall(cot.event_xml(cot.position("cli-col", "a-h-G", 40.321, 35.361, T, token=token)))
            assert b"dcf.alert." in _read_until(s, b'type="b-a-g"')
        ctx = ssl.create_default_context(cafile=str(store.with_name(store.name + ".tak") / "ca.pem"))
        ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", tls)), server_hostname="127.0.0.1") as t:
            t.sendall(cot.event_xml(cot.position("cli-tls", "a-h-G", 40.321, 35.361, T)))
            _read_until(t, b'type="b-a-g"')
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, errors = proc.communicate(timeout=30)
    assert proc.returncode == 0, errors
    assert "live tracks: CoT tcp" in errors
    with SQLiteStore(store) as st:
        assert st.verify() > 0
    # The track history, on file beside the store: who was where survives the server.
    from deconflict.tracks.history import HistoryFile

    history = HistoryFile(store.with_name(store.name + ".tracks.sqlite3"))
    assert {p.uid for p in history.points(None, T - timedelta(days=1), T + timedelta(days=1), 100)} >= {"cli-col"}
    history.close()


def test_track_options_are_checked() -> None:
    with pytest.raises(InvalidInput, match="HOST:PORT"):
        TracksOptions.parse(None, None, None, "nowhere", False, "127.0.0.1")
    with pytest.raises(InvalidInput, match="port number"):
        TracksOptions.parse(70000, None, None, None, False, "127.0.0.1")
    assert TracksOptions.parse(None, None, None, None, False, "127.0.0.1") is None
    opts = TracksOptions.parse(None, None, None, "127.0.0.1:30003", False, "127.0.0.1")
    assert opts is not None and opts.sbs == ("127.0.0.1", 30003)
    with pytest.raises(InvalidInput, match="--track-history-hours"):
        TracksOptions.parse(None, None, None, None, True, "127.0.0.1", -1.0)
    with pytest.raises(InvalidInput, match="--track-history-every-s"):
        TracksOptions.parse(None, None, None, None, True, "127.0.0.1", 6.0, 0.0)
    opts = TracksOptions.parse(None, None, None, None, True, "127.0.0.1", 0.5, 10.0)
    assert opts is not None and (opts.settings.history_s, opts.settings.history_every_s) == (1800.0, 10.0)
    with pytest.raises(InvalidInput, match="--track-max-assets-per-party"):
        TracksOptions.parse(None, None, None, None, True, "127.0.0.1", 6.0, 1.0, 100, 0)
    with pytest.raises(InvalidInput, match="--track-max-assets"):
        TracksOptions.parse(None, None, None, None, True, "127.0.0.1", 6.0, 1.0, -5, 10)
    # What serve hands the tracker process (cli/tracker_process.py): the same options.
    opts = TracksOptions.parse(8087, None, None, "127.0.0.1:30003", False, "0.0.0.0", 2.0, 5.0, 500, 50)
    assert opts is not None
    again = TracksOptions.from_json(opts.to_json())
    assert (again.tcp, again.udp, again.tls, again.sbs, again.host) == (8087, None, None, ("127.0.0.1", 30003),
                                                                        "0.0.0.0")
    assert again.settings == opts.settings and again.settings.max_assets_per_party == 50


# -- several workers: one tracker process behind them ------------------------------------------
def _worker_of(server_pid: int, server_port: int, client_port: int) -> int | None:
    """Which process of the server holds the accepted end of our connection (from /proc)."""
    from bench.http_load import tree

    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[1].endswith(f":{server_port:04X}") and cols[2].endswith(f":{client_port:04X}"):
                    inode = cols[9]
    if inode is None:
        return None
    for pid in tree(server_pid):
        with suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
    return None


class _Http:
    """One kept-alive HTTP/1.1 connection: it stays on the worker that accepted it."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.connect()
        self.local = self.conn.sock.getsockname()[1]
        self.headers = {"Authorization": f"Bearer {token}"}

    @classmethod
    def once(cls, port: int, token: str, method: str, path: str) -> tuple[int, object]:
        c = cls(port, token)
        try:
            return c.call(method, path)
        finally:
            c.close()

    def close(self) -> None:
        self.conn.close()

    def call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        # Still the connection we chose (http.client reconnects silently, maybe to another worker).
        assert self.conn.sock is not None and self.conn.sock.getsockname()[1] == self.local
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        raw = r.read()
        return r.status, json.loads(raw) if raw else None

    def stream_until(self, needle: bytes, limit_s: float = 20.0) -> bytes:
        """Open the stream from the start of the log on this connection; read until ``needle``."""
        self.conn.request("GET", "/v1/stream?after=0&wait=1", headers=self.headers)
        r = self.conn.getresponse()
        assert r.status == 200
        got = b""
        deadline = time.monotonic() + limit_s
        while needle not in got:
            assert time.monotonic() < deadline, f"no {needle!r} on the stream: {got[-300:]!r}"
            line = r.fp.readline()
            assert line, "the stream ended"
            got += line
        r.close()
        self.conn.close()
        return got


def _one_per_worker(server_pid: int, port: int, token: str, workers: int = 2) -> dict[int, _Http]:
    """A kept-alive connection on each worker (the kernel hands connections to whichever accepts)."""
    out: dict[int, _Http] = {}
    for _ in range(200):
        c = _Http(port, token)
        pid = None
        for _wait in range(50):  # the accepting worker may take a moment to hold it
            pid = _worker_of(server_pid, port, c.conn.sock.getsockname()[1])
            if pid is not None:
                break
            time.sleep(0.01)
        if pid is not None and pid != server_pid and pid not in out:
            out[pid] = c
            if len(out) == workers:
                return out
        else:
            c.close()
    for c in out.values():
        c.close()
    raise AssertionError(f"could not reach {workers} workers: {sorted(out)}")


def _health(port: int) -> dict[str, str]:
    return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10).read())


def euphrates_store(store: Path) -> tuple[str, str]:
    """The Euphrates scenario in a new SQLite store, and two tokens: the regime's
    column (planner) and the coalition's watch officer (liaison)."""
    with Deconflict(SQLiteStore(store)) as service:
        load_into(service, load_scenario(BUNDLED))
        hl = Hotline(service)
        regime = hl.issue_credential(None, "regime", "col", Role.PLANNER)[1]
        coalition = hl.issue_credential(None, "coalition", "watch", Role.LIAISON)[1]
    return regime, coalition


def test_serve_workers_with_live_tracks(tmp_path: Path) -> None:
    """``serve --workers 2 --cot-tcp``: one tracker process judges the CoT reports; the alert
    is on the streams of both workers; each of the two coalition notifications is acknowledged
    through a different worker and the tracker hears both; reports over HTTP and the track
    reads work through either worker; a killed tracker shows in /health and is restarted."""
    store = tmp_path / "s.sqlite3"
    regime, coalition = euphrates_store(store)
    port, tcp = free_port(), free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port), "--store", str(store),
             "--workers", "2", "--cot-tcp", str(tcp)],
            stdout=subprocess.DEVNULL, stderr=errors, env={**os.environ}, start_new_session=True)
    tracker_pids: list[int] = []
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, timeout=60)
        assert _health(port) == {"status": "ok", "tracks": "up"}
        with socket.create_connection(("127.0.0.1", tcp)) as s:
            s.sendall(cot.event_xml(cot.position("cli-col", "a-h-G", 40.321, 35.361, T, token=regime)))
            assert b"dcf.alert." in _read_until(s, b'type="b-a-g"')
        # On the stream of each worker.
        for c in _one_per_worker(proc.pid, port, coalition).values():
            c.stream_until(b"track-in-forces-site")
        # Two notifications to the coalition (S1's zone, across M1): one acknowledged through each worker.
        (_wa, ca), (_wb, cb) = sorted(_one_per_worker(proc.pid, port, coalition).items())
        status, notes = ca.call("GET", "/v1/notifications")
        assert status == 200 and isinstance(notes, list)
        mine = sorted((n for n in notes if n["kind"] == "track_alert"), key=lambda n: n["detail"]["rule"])
        assert [n["detail"]["rule"] for n in mine] == ["track-in-forces-site", "track-line-far-side"]
        for c, n in zip((ca, cb), mine, strict=True):
            status, body = c.call("POST", f"/v1/notifications/{n['id']}/acknowledge")
            assert status == 200, body
            c.close()
        deadline = time.monotonic() + 5
        while True:  # the tracker process follows the log (every 0.1 s)
            status, active = _Http.once(port, coalition, "GET", "/v1/tracks/alerts")
            assert status == 200 and isinstance(active, list) and len(active) == 2
            if all(a["acknowledged"] for a in active):
                break
            assert time.monotonic() < deadline, active
            time.sleep(0.1)
        # The HTTP batch and the reads, through both workers.
        for c, uid in zip(_one_per_worker(proc.pid, port, regime).values(), ("http-a", "http-b"), strict=True):
            status, body = c.call("POST", "/v1/tracks/reports", {"reports": [
                {"uid": uid, "lon": 40.0, "lat": 35.0, "time": T.isoformat()}]})
            assert status == 202 and isinstance(body, dict) and body["accepted"] == 1, body
            c.close()
        since = (T - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
        for c in _one_per_worker(proc.pid, port, coalition).values():
            status, tracks = c.call("GET", "/v1/tracks")
            assert status == 200 and isinstance(tracks, list)
            assert {"cli-col", "http-a", "http-b"} <= {t["uid"] for t in tracks}
            status, hist = c.call("GET", f"/v1/tracks/history?since={since}")
            assert status == 200 and isinstance(hist, dict)
            assert {"cli-col", "http-a", "http-b"} <= set(hist["tracks"])
            c.close()
        # The tracker process dies: visible, then restarted, listening again.
        from bench.http_load import tree

        kids = [p for p in tree(proc.pid)[1:]
                if b"deconflict.cli.tracker_process" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert len(kids) == 1, kids
        tracker_pids.append(kids[0])
        os.kill(kids[0], signal.SIGKILL)
        time.sleep(0.3)
        assert _health(port)["tracks"] == "down"
        status, body = _Http.once(port, coalition, "GET", "/v1/tracks")
        assert status == 503, body
        deadline = time.monotonic() + 60
        while _health(port)["tracks"] != "up":
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", tcp)) as s:
            s.sendall(cot.event_xml(cot.position("cli-col-2", "a-h-G", 40.321, 35.361, T, token=regime)))
            _read_until(s, b'type="b-a-g"')
        tracker_pids += [p for p in tree(proc.pid)[1:]
                         if b"deconflict.cli.tracker_process" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert len(tracker_pids) == 2 and tracker_pids[0] != tracker_pids[1]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    text = log.read_text()
    assert proc.returncode == 0, text
    assert "live tracks: CoT tcp" in text and "the tracker process ended" in text
    for pid in tracker_pids:  # no tracker left behind
        assert not Path(f"/proc/{pid}").exists() or b"tracker_process" not in Path(
            f"/proc/{pid}/cmdline").read_bytes()


def test_serve_workers_refuses_when_the_tracker_cannot_start(tmp_path: Path) -> None:
    """A CoT port already taken: the tracker process says why, serve exits 2, nothing is left running."""
    store = tmp_path / "s.sqlite3"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        res = run("serve", "--port", str(free_port()), "--workers", "2", "--cot-tcp", str(port), store=store)
    assert res.returncode == 2, res.stderr
    assert "error: tracker process:" in res.stderr and "the tracker process ended at start" in res.stderr
