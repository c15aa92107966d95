"""`deconflict serve` as a real process: health, readiness, a write, graceful shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.cli.test_app import run
from tests.service.conftest import free_port, wait_ready


def test_serve_answers_and_shuts_down_gracefully_losing_nothing(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    res = run("party", "add", "relief", "--kind", "humanitarian", store=store)
    assert res.returncode == 0, res.stderr
    token = res.stdout.strip()
    assert token.startswith("dcf_") and "credential" in res.stderr
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port), "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc)
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}
        headers = {"Authorization": f"Bearer {token}"}
        site = {"kind": "site", "id": "H1", "category": "protected", "protection_m": 300,
                "geometry": {"type": "Point", "coordinates": [40.12, 35.33]},
                "window": {"start": "2018-02-01T00:00:00Z", "end": "2018-03-01T00:00:00Z"}}
        r = httpx.post(f"{url}/v1/activities", json={"activity": site}, headers=headers)
        assert r.status_code == 201, r.text
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, errors = proc.communicate(timeout=30)
    assert proc.returncode == 0, errors
    assert "every acknowledged change is in the store" in errors
    res = run("export", store=store)
    assert '"relief:H1"' in res.stdout  # in the party's namespace (service/namespace.py)
    assert run("audit", "verify", store=store).returncode == 0


def test_serve_on_a_host_without_the_logs_key_refuses_to_start_naming_the_file(tmp_path: Path) -> None:
    """A second host of a PostgreSQL log, not given the key file: `serve` says so at
    start (an error naming the file) instead of answering 503 to every submit."""
    from tests.pg import fresh_url

    url = fresh_url()
    first = {**os.environ, "DECONFLICT_LOG_KEYS": str(tmp_path / "host-a.keys")}
    res = subprocess.run([sys.executable, "-m", "deconflict.cli.app", "party", "add", "relief", "--store", url],
                         capture_output=True, text=True, env=first, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    missing = tmp_path / "host-b.keys"
    other = {**os.environ, "DECONFLICT_LOG_KEYS": str(missing)}
    res = subprocess.run([sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(free_port()),
                          "--store", url], capture_output=True, text=True, env=other, timeout=120, check=False)
    assert res.returncode != 0, res.stdout + res.stderr
    assert str(missing) in " ".join(res.stderr.split()) and "Traceback" not in res.stderr, res.stderr
    assert not missing.exists()
