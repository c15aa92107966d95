"""`deconflict demo --serve` as a real process: the demo, each party's token, the
map and the API on the demo's store, and a clean stop on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import BUNDLED
from tests.service.conftest import free_port, wait_ready


def test_demo_serve_prints_sign_ins_serves_the_map_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "160"}
    proc = subprocess.Popen([sys.executable, "-m", "deconflict.cli.app", "demo", "--serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    tokens: dict[str, str] = {}
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while "admin" not in tokens:
            assert time.monotonic() < deadline and proc.poll() is None, "\n".join(lines)
            line = proc.stdout.readline()
            lines.append(line)
            m = re.match(r"\s+(\S+)\s+(liaison|admin)\s+(dcf_\S+)$", line)
            if m:
                tokens[m.group(1)] = m.group(3)
        url = f"http://127.0.0.1:{port}"
        assert any(f"{url}/" in line for line in lines)
        assert any("checks as expected" in line for line in lines)  # the demo ran first
        parties = {p["id"] for p in json.loads(BUNDLED.read_text())["parties"]}
        assert set(tokens) == parties | {"admin"}
        wait_ready(url, proc)
        page = httpx.get(f"{url}/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        me = httpx.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {tokens['russia']}"}).json()
        assert me["party"] == "russia" and me["role"] == "liaison"
        seen = httpx.get(f"{url}/v1/declarations", headers={"Authorization": f"Bearer {tokens['russia']}"}).json()
        assert {d["id"] for d in seen} >= {"S1", "S2"} and "S4" not in {d["id"] for d in seen}
        stores = list(tmp_path.glob("deconflict-demo-*/demo.sqlite3"))
        assert len(stores) == 1
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "temporary store is deleted" in out
    assert not list(tmp_path.glob("deconflict-demo-*"))  # removed at exit
