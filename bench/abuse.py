"""The canary under abuse: does one party's hostile traffic slow everyone else?

Starts `deconflict serve` on a fresh store and measures a canary (one planner
submitting small sites one after another, each a new id) idle, then while
another party's client keeps sending one kind of abuse:

* ``polygon``: checks of a 4,000-vertex polygon, back to back;
* ``streams``: 1,000 open live streams (another party's), with the server's
  per-party limit raised for it (DECONFLICT_STREAMS_PER_PARTY);
* ``pictures``: GET /v1/picture and pages of GET /v1/declarations, back to back.

Then the server's RSS before, with and after 1,000 streams, and a short soak:
the canary with reads mixed in (a page of declarations, a check, a picture).

Usage: python bench/abuse.py [--canary 200] [--soak-s 60] [--baseline-src DIR]
       python bench/abuse.py --switch-ms 5,1 --rounds 3 --phases idle polygon --waves 0 --soak-s 0
       python bench/abuse.py --lanes on,off --rounds 3 --phases idle polygon idle pictures --waves 0 --soak-s 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_load as h  # beside this file (run as a script)

WINDOW = h.WINDOW


def canary_site(i: int) -> dict[str, Any]:
    return {"kind": "site", "id": f"canary-{i}", "category": "forces", "protection_m": 50, "window": WINDOW,
            "geometry": {"type": "Point", "coordinates": [30.0 + (i % 1000) * 1e-3, 20.0 + (i // 1000) * 1e-3]}}


def polygon(n: int = 4000) -> dict[str, Any]:
    ring = []
    for i in range(n):
        a = 2 * math.pi * i / n
        r = 0.05 * (1 + 0.05 * math.sin(37 * a))
        ring.append([40.0 + r * math.cos(a), 35.0 + r * math.sin(a)])
    ring.append(ring[0])
    return {"kind": "site", "category": "protected", "protection_m": 100, "window": WINDOW,
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


async def canary(url: str, token: str, n: int, first: int) -> list[float]:
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}) as c:
        for i in range(first, first + n):
            t0 = time.perf_counter()
            r = await c.post("/v1/activities", json={"activity": canary_site(i)})
            out.append(time.perf_counter() - t0)
            assert r.status_code == 201, r.text
    return out


def p99(xs: list[float]) -> float:
    s = sorted(xs)
    return round(s[min(len(s) - 1, math.ceil(0.99 * len(s)) - 1)] * 1000, 1)


async def abuse_loop(kind: str, url: str, token: str, stop: asyncio.Event, counts: dict[str, int]) -> None:
    body = json.dumps({"activity": polygon()}).encode()
    async with httpx.AsyncClient(base_url=url, timeout=300, headers={"Authorization": f"Bearer {token}"}) as c:
        while not stop.is_set():
            if kind == "polygon":
                r = await c.post("/v1/checks", content=body, headers={"Content-Type": "application/json"})
            elif kind == "pictures":
                r = await c.get("/v1/picture")
                await c.get("/v1/declarations", params={"limit": 500})
            else:  # soak reads
                r = await c.get("/v1/declarations", params={"limit": 200})
                await c.post("/v1/checks", json={"activity": canary_site(10**6)})
                await c.get("/v1/picture")
            counts[str(r.status_code)] = counts.get(str(r.status_code), 0) + 1


def _abuser(kinds: list[tuple[str, str]], url: str, stop: Any, out: Any) -> None:
    """Abuse loops in a process of their own: a hostile party's client is not
    the canary's, and in one process the loops' reading of large answers held
    the canary's own event loop (its latency then measured the load generator)."""
    async def main() -> dict[str, int]:
        done = asyncio.Event()
        counts: dict[str, int] = {}

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.05)
            done.set()

        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(abuse_loop(kind, url, token, done, counts) for kind, token in kinds),
                             return_exceptions=True)
        await watcher
        return counts

    out.put(asyncio.run(main()))


class AbuseProcess:
    """``kinds`` (kind, token) loops running in another process until :meth:`stop`."""

    def __init__(self, kinds: list[tuple[str, str]], url: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._stop, self._out = ctx.Event(), ctx.Queue()
        self._proc = ctx.Process(target=_abuser, args=(kinds, url, self._stop, self._out))
        self._proc.start()

    def stop(self) -> dict[str, int]:
        self._stop.set()
        counts: dict[str, int] = self._out.get(timeout=600)
        self._proc.join(60)
        return counts


async def open_streams(url: str, token: str, n: int) -> list[asyncio.StreamWriter]:
    host, port = url.split("//")[1].split(":")
    writers = []
    for _ in range(n):
        _reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET /v1/stream?wait=30&after=1000000000 HTTP/1.1\r\nHost: {host}\r\n"
                     f"Authorization: Bearer {token}\r\n\r\n".encode())
        writers.append(writer)
    await asyncio.gather(*(w.drain() for w in writers))
    return writers


async def phase(name: str, url: str, tokens: dict[str, str], n: int, first: int) -> dict[str, Any]:
    counts: dict[str, int] = {}
    abuser = None
    writers: list[asyncio.StreamWriter] = []
    if name in ("polygon", "pictures"):
        abuser = AbuseProcess([(name, tokens["p2"])] * 2, url)
        await asyncio.sleep(2.0)
    elif name == "streams":
        writers = await open_streams(url, tokens["p3"], 1000)
        await asyncio.sleep(2.0)
    lat = await canary(url, tokens["p1"], n, first)
    if abuser is not None:
        counts = await asyncio.to_thread(abuser.stop)
    for w in writers:
        w.close()
    return {"phase": name, "canary_p50_ms": round(sorted(lat)[len(lat) // 2] * 1000, 1),
            "canary_p99_ms": p99(lat), "abuse_answers": counts}


async def soak(url: str, tokens: dict[str, str], seconds: float, first: int) -> dict[str, Any]:
    readers = AbuseProcess([("soak", tokens[p]) for p in ("p2", "p3", "p4")], url)
    lat: list[float] = []
    t_end = time.monotonic() + seconds
    i = first
    while time.monotonic() < t_end:
        lat += await canary(url, tokens["p1"], 50, i)
        i += 50
    counts = await asyncio.to_thread(readers.stop)
    return {"phase": f"soak {seconds:g} s", "canary_requests": len(lat), "canary_p99_ms": p99(lat),
            "read_answers": counts}


def measure(args: argparse.Namespace, src: Path | None, serve_args: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    os.environ["DECONFLICT_STREAMS_PER_PARTY"] = "2000"
    os.environ["DECONFLICT_STREAMS_PER_CREDENTIAL"] = "2000"
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, tokens = h.run_server(Path(tmp) / "abuse.sqlite3", src, serve_args=serve_args)
        try:
            asyncio.run(canary(url, tokens["p1"], 100, 900_000))  # warm-up
            first = 0
            for name in args.phases:
                res = asyncio.run(phase(name, url, tokens, args.canary, first))
                first += args.canary
                print(res, flush=True)
                out.append(res)
            rss0 = h.rss_mb(proc.pid)

            async def streams_rss() -> tuple[float, float]:
                writers = await open_streams(url, tokens["p3"], 1000)
                await asyncio.sleep(3)
                during = h.rss_mb(proc.pid)
                for w in writers:
                    w.close()
                await asyncio.sleep(3)
                return during, h.rss_mb(proc.pid)

            for wave in range(args.waves):
                during, after = asyncio.run(streams_rss())
                res = {"phase": f"rss, 1,000 streams, wave {wave + 1}", "rss_mb_before": round(rss0, 1),
                       "rss_mb_during": round(during, 1), "rss_mb_after": round(after, 1),
                       "after_over_before": round(after / rss0, 3)}
                print(res, flush=True)
                out.append(res)
            if args.soak_s > 0:
                res = asyncio.run(soak(url, tokens, args.soak_s, 500_000))
                print(res, flush=True)
                out.append(res)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--canary", type=int, default=200, help="canary submits per phase")
    ap.add_argument("--phases", nargs="*", default=["idle", "polygon", "idle", "streams", "idle", "pictures"])
    ap.add_argument("--soak-s", type=float, default=60.0)
    ap.add_argument("--waves", type=int, default=3, help="waves of 1,000 streams for the RSS")
    ap.add_argument("--baseline-src", type=Path, help="also measure the server from this source tree")
    ap.add_argument("--switch-ms", help="comma-separated switch intervals (ms) to compare, alternating, "
                                        "--rounds times (service/switching.py)")
    ap.add_argument("--lanes", help="'on,off': the costly lane (serve --lane) and without it (--no-lane), "
                                    "alternating, --rounds times (service/lane.py)")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    # Each variant: a label, the source tree it runs from (None: this one), serve's
    # options and the environment it needs; variants alternate, round by round.
    variants: list[tuple[str, Path | None, tuple[str, ...], dict[str, str]]] = []
    if args.lanes:
        variants = [(f"lane {lane}", None, ("--lane" if lane == "on" else "--no-lane",), {})
                    for lane in args.lanes.split(",")]
    elif args.switch_ms:
        variants = [(f"switch {ms} ms", None, (), {"DECONFLICT_SWITCH_INTERVAL_MS": ms})
                    for ms in args.switch_ms.split(",")]
    else:
        variants = [("current", None, (), {})]
        if args.baseline_src is not None:
            variants.append(("baseline", args.baseline_src.resolve(), (), {}))
    results: dict[str, list[list[dict[str, Any]]]] = {}
    for _round in range(args.rounds):
        for label, src, serve_args, env in variants:
            os.environ.update(env)
            print(f"{label}, load {os.getloadavg()[0]:.1f}", flush=True)
            results.setdefault(label, []).append(measure(args, src, serve_args))
    summarise(results, args.phases)


def summarise(results: dict[str, list[list[dict[str, Any]]]], phases: list[str]) -> None:
    """Medians over the rounds of each phase's canary p50 and p99, and the p99 over idle's."""
    for label, runs_ in results.items():
        idle = None
        for name in dict.fromkeys(phases):
            p99s = sorted(r["canary_p99_ms"] for run in runs_ for r in run if r["phase"] == name)
            p50s = sorted(r["canary_p50_ms"] for run in runs_ for r in run if r["phase"] == name)
            p99 = p99s[len(p99s) // 2]
            if name == "idle":
                idle = p99
            ratio = f", {p99 / idle:.2f}x idle" if idle and name != "idle" else ""
            print(f"{label}: {name} canary p50 median {p50s[len(p50s) // 2]} ms, "
                  f"p99 median {p99} ms over {len(p99s)}{ratio}")

if __name__ == "__main__":
    main()
