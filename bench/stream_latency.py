"""Report in to alert on the stream, through `deconflict serve` as deployed.

`bench/tracks.py` measures the same in one process (tracker, app and stream
together). Here `serve --cot-tcp` runs as users run it, with 1 and 2 workers
and its costly lane: a planner's CoT position reports enter S1's protection
zone in the Euphrates scenario, one every 50 ms, each a new asset, and the time
to its `alert.raised` on the coalition's live stream (`GET /v1/stream`) is
taken. With `--baseline-src DIR`, the server from that source tree is measured
too, alternating round by round.

Usage: python bench/stream_latency.py --rounds 2 [--baseline-src /tmp/base/src]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.cli.test_tracks import euphrates_store  # noqa: E402
from tests.service.conftest import free_port, wait_ready  # noqa: E402

from deconflict.codecs import cot  # noqa: E402

T = datetime(2018, 2, 10, 12, tzinfo=UTC)


def latencies(src: Path, workers: int, samples: int) -> list[float]:
    """Milliseconds from each report sent to its alert on the stream."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "s.sqlite3"
        regime, coalition = euphrates_store(store)
        port, tcp = free_port(), free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port), "--store", str(store),
             "--workers", str(workers), "--cot-tcp", str(tcp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(src)})
        try:
            wait_ready(f"http://127.0.0.1:{port}", proc, timeout=60)
            time.sleep(3)  # the lane and the tracker up
            seen: dict[str, float] = {}

            def follow() -> None:
                with httpx.stream("GET", f"http://127.0.0.1:{port}/v1/stream", params={"wait": 1},
                                  headers={"Authorization": f"Bearer {coalition}"}, timeout=None) as r:
                    event = ""
                    for line in r.iter_lines():
                        if line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: ") and event == "alert.raised":
                            uid = json.loads(line[6:]).get("asset", {}).get("uid")
                            if uid:
                                seen.setdefault(uid, time.perf_counter())
                        if len(seen) >= samples:
                            return

            reader = threading.Thread(target=follow, daemon=True)
            reader.start()
            time.sleep(1)
            with socket.create_connection(("127.0.0.1", tcp)) as s:
                threading.Thread(target=lambda: [None for _ in iter(lambda: s.recv(65536), b"")],
                                 daemon=True).start()  # the CoT the server sends back, read and dropped
                sent: dict[str, float] = {}
                for k in range(samples):
                    uid = f"lat-{k}"
                    sent[uid] = time.perf_counter()
                    s.sendall(cot.event_xml(cot.position(uid, "a-h-G", 40.321, 35.361, T + timedelta(seconds=k),
                                                         token=regime)))
                    time.sleep(0.05)
                reader.join(30)
            return sorted((seen[u] - sent[u]) * 1000 for u in sent if u in seen)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--baseline-src", type=Path)
    args = ap.parse_args()
    trees = [("current", ROOT / "src")] + ([("baseline", args.baseline_src.resolve())] if args.baseline_src else [])
    for _round in range(args.rounds):
        for label, src in trees:
            for workers in (int(w) for w in args.workers.split(",")):
                lat = latencies(src, workers, args.samples)

                def q(f: float, lat: list[float] = lat) -> float:
                    return lat[min(len(lat) - 1, int(f * len(lat)))] if lat else float("nan")

                print(f"{label}, {workers} worker(s): {len(lat)} of {args.samples} alerts, p50 {q(0.5):.1f}, "
                      f"p90 {q(0.9):.1f}, p99 {q(0.99):.1f} ms; load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
