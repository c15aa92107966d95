"""Leak check: does a server's memory grow under submits that change nothing?

Starts `deconflict serve` on a fresh store, has 50 forces sites accepted, then
sends fires of other parties at the same point: every one is refused (409), so
the state does not grow and neither should the server's resident memory. The
RSS is read after 3,000 warm-up refusals and again after ``--requests`` more.

Usage: python bench/http_leak.py [--requests 12000] [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_load as h  # beside this file (run as a script)


def fire(i: int) -> dict[str, Any]:
    return {"kind": "fire", "id": f"f{i}", "effects_radius_m": 300,
            "target": {"type": "Point", "coordinates": [40.0, 35.0]}, "window": h.WINDOW}


def site(i: int) -> dict[str, Any]:
    return {"kind": "site", "id": f"s{i}", "category": "forces", "protection_m": 500,
            "geometry": {"type": "Point", "coordinates": [40.0 + i * 1e-4, 35.0]}, "window": h.WINDOW}


def measure(n: int, src: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, tokens = h.run_server(Path(tmp) / "leak.sqlite3", src)
        try:
            asyncio.run(h.drive(url, tokens, 50, 4, site, False))  # p1's sites, accepted
            others = {**tokens, "p1": tokens["p2"]}  # every fire from another party than p1
            asyncio.run(h.drive(url, others, 3000, 16, fire, True, first=10_000))
            before = h.rss_mb(proc.pid)
            out = asyncio.run(h.drive(url, others, n, 16, fire, True, first=100_000))
            after = h.rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
    return {"status": out["status"], "rss_mb_before": round(before, 1), "rss_mb_after": round(after, 1),
            "bytes_per_refused_submit": round((after - before) * 2**20 / n)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=12000)
    ap.add_argument("--baseline-src", type=Path, help="also measure the server from this source tree")
    args = ap.parse_args()
    runs: list[tuple[str, Path | None]] = [("current", None)]
    if args.baseline_src is not None:
        runs.append(("baseline", args.baseline_src.resolve()))
    for label, src in runs:
        print(label, measure(args.requests, src), flush=True)


if __name__ == "__main__":
    main()
