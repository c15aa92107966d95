"""The cost of the hop to the tracker process (``serve --workers 2 --tracks``, issue 11):
``GET /v1/tracks`` and a one-report ``POST /v1/tracks/reports`` through a worker (kept-alive
HTTP on loopback), against the same requests straight to the tracker's unix socket;
alternated, 300 requests each per round, 5 rounds, wall-clock medians (it is a latency).

    PYTHONPATH=src:. .venv/bin/python bench/tracks_forward.py
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from bench.http_load import tree
from tests.conftest import BUNDLED
from tests.service.conftest import free_port, wait_ready

from deconflict.codecs.scenario import load_into, load_scenario
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.sqlite import SQLiteStore
from deconflict.tracks import forward

N = 300
ROUNDS = 5


def main() -> None:
    store = Path(tempfile.mkdtemp()) / "s.sqlite3"
    with Deconflict(SQLiteStore(store)) as service:
        load_into(service, load_scenario(BUNDLED))
        token = Hotline(service).issue_credential(None, "sdf", "b", Role.PLANNER)[1]
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port), "--store",
                             str(store), "--workers", "2", "--tracks"], stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, 60)
        [tracker] = [p for p in tree(proc.pid)[1:]
                     if b"tracker_process" in Path(f"/proc/{p}/cmdline").read_bytes()]
        sock = next(
            v for k, v in (e.split("=", 1) for e in Path(f"/proc/{tracker}/environ").read_bytes().decode()
                           .split("\0") if "=" in e) if k == "DECONFLICT_SERVE_TRACKS_SOCKET")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        t0 = datetime(2018, 2, 7, 12, tzinfo=UTC)
        k = 0

        def body() -> bytes:
            nonlocal k
            k += 1
            t = (t0 + timedelta(seconds=k)).isoformat()
            return json.dumps({"reports": [{"uid": "b1", "lon": 38.0, "lat": 37.0, "time": t}]}).encode()

        res: dict[str, list[float]] = {}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:
            def via_worker(method: str, path: str) -> None:
                r = http.request(method, path, content=body() if method == "POST" else None)
                assert r.status_code < 300, r.text

            def direct(method: str, path: str) -> None:
                status, _h, text = forward.call(sock, method, path, headers,
                                                body() if method == "POST" else None)
                assert status < 300, text

            for _rnd in range(ROUNDS):
                for name, fn in (("worker", via_worker), ("direct", direct)):
                    for method, path in (("GET", "/v1/tracks"), ("POST", "/v1/tracks/reports")):
                        lat = []
                        for _ in range(N):
                            c0 = time.perf_counter()
                            fn(method, path)
                            lat.append(time.perf_counter() - c0)
                        res.setdefault(f"{method} {path} {name}", []).append(statistics.median(lat) * 1e3)
        for key, v in res.items():
            print(f"{key}: median {statistics.median(v):.2f} ms")
        print("load average", os.getloadavg())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


if __name__ == "__main__":
    main()
