"""What a costly read costs the worker that took it, and the lane that answered it.

Starts `deconflict serve` (one worker and its costly lane) on a fresh store,
submits 600 sites, then fetches `GET /v1/picture` (or another path) back to
back on one kept-alive connection, and reads the CPU time (user + system, from
/proc) the worker and the lane spent per request. With `--baseline-src DIR`,
the server from that source tree is measured too, alternating round by round.

Usage: python bench/relay_cost.py --rounds 2 [--baseline-src /tmp/base/src] [--path /v1/picture]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_load as h  # beside this file (run as a script)
from abuse import canary_site


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(src: Path | None, path: str, n: int) -> tuple[float, float, float]:
    """Worker CPU, lane CPU and wall time per request, in ms."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, tokens = h.run_server(Path(tmp) / "s.sqlite3", src)
        try:
            lanes = [p for p in h.tree(proc.pid) if p != proc.pid]
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['p1']}"}, timeout=60) as c:
                for i in range(600):
                    c.post("/v1/activities", json={"activity": canary_site(i)})
                for _ in range(30):  # warm: the connection settles where it stays
                    c.get(path)
                time.sleep(1)
                worker0, lane0 = cpu_s(proc.pid), sum(cpu_s(p) for p in lanes)
                t0 = time.monotonic()
                for _ in range(n):
                    assert c.get(path).status_code == 200
                wall = time.monotonic() - t0
                time.sleep(0.5)
                worker1, lane1 = cpu_s(proc.pid), sum(cpu_s(p) for p in lanes)
            return (worker1 - worker0) / n * 1e3, (lane1 - lane0) / n * 1e3, wall / n * 1e3
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--path", default="/v1/picture")
    ap.add_argument("--baseline-src", type=Path)
    args = ap.parse_args()
    trees: list[tuple[str, Path | None]] = [("current", None)]
    if args.baseline_src is not None:
        trees.append(("baseline", args.baseline_src.resolve()))
    for _round in range(args.rounds):
        for label, src in trees:
            worker, lane, wall = measure(src, args.path, args.requests)
            print(f"{label}: {args.path} worker {worker:.2f} ms CPU a request, lane {lane:.2f} ms, "
                  f"wall {wall:.2f} ms; load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
