"""Load generator: submits against a real `deconflict serve` on loopback.

Two runs, side by side in one invocation:

* ``spread``: non-overlapping activities (sites far apart), all should be accepted;
* ``hotspot``: activities of several parties all in one small area, mutually
  conflicting; most are refused (409) and none may be accepted twice over a
  conflict. Afterwards every accepted activity is re-checked against the
  others accepted in the same run: a conflict among them is a double acceptance.

Usage: python bench/http_load.py [--requests 3000] [--concurrency 32] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PARTIES = ["p1", "p2", "p3", "p4"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Put first on PYTHONPATH: the current tree without the Merkle log (bench/nolog/sitecustomize.py).
NOLOG = f"{ROOT / 'bench' / 'nolog'}{os.pathsep}{ROOT / 'src'}"


def cli(*args: str, src: Path | str | None = None) -> str:
    res = subprocess.run([sys.executable, "-m", "deconflict.cli.app", *args], capture_output=True, text=True,
                         check=True, env=env_for(src))
    return res.stdout.strip()


def env_for(src: Path | str | None) -> dict[str, str]:
    """The environment that runs the package from ``src`` (a baseline tree, or a
    PYTHONPATH such as :data:`NOLOG`) or as installed."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


WARMUP_FIRST = 1_000_000  # spread_activity(i) for i from here lies at latitude 60 and beyond

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}


#: Measured spread sites take grid places in this order (a stride coprime with the grid's
#: 250,000 places), so the submits in flight at once are far apart, as activities spread
#: over a theatre are, not ten neighbours in one lock cell (engine/cells.py).
SPREAD_STRIDE = 7919
SPREAD_PLACES = 500 * 500


def spread_activity(i: int) -> dict[str, Any]:
    # A grid of sites 2 km apart with 200 m protection: none overlaps another.
    k = i if i >= WARMUP_FIRST else i * SPREAD_STRIDE % SPREAD_PLACES
    lon = 30.0 + (k % 500) * 0.025
    lat = 20.0 + (k // 500) * 0.02
    return {"kind": "site", "id": f"s{i}", "category": "forces", "protection_m": 200,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}, "window": WINDOW}


def hotspot_activity(i: int) -> dict[str, Any]:
    # Fires and patrols (movements of forces) of different parties in a 5 km box: they
    # conflict. Not sites: presence is never refused (issue 8), so a site over a fire is
    # accepted, and the double-acceptance check below would count it.
    lon = 40.0 + (i * 7919 % 1000) / 1000 * 0.05
    lat = 35.0 + (i * 104729 % 1000) / 1000 * 0.05
    if i % 2:
        return {"kind": "movement", "id": f"h{i}", "half_width_m": 500, "window": WINDOW,
                "geometry": {"type": "LineString", "coordinates": [[lon - 1e-6, lat], [lon + 1e-6, lat]]}}
    return {"kind": "fire", "id": f"h{i}", "effects_radius_m": 300,
            "target": {"type": "Point", "coordinates": [lon, lat]}, "window": WINDOW}


class Conn:
    """A minimal HTTP/1.1 keep-alive client on raw asyncio streams: the load
    generator shares the machine's two cores with the server, and httpx costs
    about 3 ms of CPU a request, which would measure the client, not the server."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def drive(url: str, tokens: dict[str, str], n: int, concurrency: int, make: Any,
                spread_parties: bool, first: int = 0) -> dict[str, Any]:
    latencies: list[float] = []
    status: dict[int, int] = {}
    accepted: list[tuple[str, dict[str, Any]]] = []
    errors = 0
    host, port = url.split("//")[1].split(":")
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(first, first + n):
        queue.put_nowait(i)
    # Bodies are built before the clock starts.
    bodies = {i: json.dumps({"activity": make(i)}).encode() for i in range(first, first + n)}

    async def worker() -> None:
        nonlocal errors
        conn = Conn(host, int(port))
        try:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                party = PARTIES[i % len(PARTIES)] if spread_parties else PARTIES[0]
                t0 = time.perf_counter()
                try:
                    code, _body = await conn.post("/v1/activities", bodies[i], {
                        "Authorization": f"Bearer {tokens[party]}", "Idempotency-Key": f"k{i}"})
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    errors += 1
                    conn.close()
                    conn = Conn(host, int(port))
                    continue
                latencies.append(time.perf_counter() - t0)
                status[code] = status.get(code, 0) + 1
                if code >= 500:
                    errors += 1
                if code == 201:
                    accepted.append((party, json.loads(bodies[i])["activity"]))
        finally:
            conn.close()

    # The load generator's own collector paused all its connections at once (up
    # to 60 ms), which measured the instrument, not the server.
    gc.collect()
    gc.disable()
    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        elapsed = time.perf_counter() - t0
        gc.enable()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, math.ceil(p * len(latencies)) - 1)] * 1000

    return {
        "requests": n, "concurrency": concurrency, "seconds": round(elapsed, 2),
        "requests_per_s": round(n / elapsed, 1), "accepted": len(accepted),
        "accepted_per_s": round(len(accepted) / elapsed, 1), "status": status, "errors": errors,
        "p50_ms": round(pct(0.50), 2), "p99_ms": round(pct(0.99), 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2), "_accepted": accepted,
    }


def double_acceptances(accepted: list[tuple[str, dict[str, Any]]]) -> int:
    """Re-check every accepted activity against the others accepted: count conflicts."""
    from deconflict import Engine, Party
    from deconflict.model import FindingKind
    from deconflict.store.documents import decode_declaration

    engine = Engine()
    for p in PARTIES:
        engine.add_party(Party(p, p))
    decls = [decode_declaration(a, "a", owner=party, default_id=a["id"]) for party, a in accepted]
    for d in decls:
        engine.add_declaration(d)
    bad = 0
    for d in decls:
        r = engine.check(d)
        bad += any(f.kind in (FindingKind.CONFLICT, FindingKind.VIOLATION) for f in r.findings)
    return bad


def run_server(store: Path | str, src: Path | str | None = None, workers: int = 1,
               serve_args: tuple[str, ...] = ()) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    tokens = {}
    for p in PARTIES:
        tokens[p] = cli("party", "add", p, "--role", "planner", "--store", str(store), src=src)
    port = free_port()
    extra = ["--workers", str(workers)] if workers > 1 else []
    proc = subprocess.Popen([sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port),
                             "--store", str(store), *extra, *serve_args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env_for(src))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return proc, url, tokens
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a server's workers), from /proc."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out, frontier = [pid], [pid]
    while frontier:
        frontier = [c for c, p in parent.items() if p in frontier]
        out += frontier
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of the server, its workers included."""
    total = 0
    for p in tree(pid):
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1])
        except OSError:
            continue
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the server (all its threads and worker processes), from /proc."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process on this host (backends, WAL writer,
    checkpointer): what a submit costs the database, beside the server and the
    load generator on the same cores. Other databases' work is counted too."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat[stat.index("(") + 1:stat.rindex(")")] != "postgres":
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def bench_store(tmp: str, admin_url: str | None) -> Iterator[Any]:
    """An SQLite file in ``tmp``, or a new PostgreSQL database (dropped after)
    on the cluster ``admin_url`` names."""
    if admin_url is None:
        yield Path(tmp) / "load.sqlite3"
        return
    import psycopg

    name = f"dcf_bench_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    with psycopg.connect(admin_url, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    # The log's key file for this database (store/_pg_merkle.py), in the run's folder.
    before = os.environ.get("DECONFLICT_LOG_KEYS")
    os.environ["DECONFLICT_LOG_KEYS"] = str(Path(tmp) / "log.keys")
    os.environ["DECONFLICT_BENCH_POSTGRES"] = "1"  # bench/nolog patches the PostgreSQL store too
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        os.environ.pop("DECONFLICT_BENCH_POSTGRES", None)
        if before is None:
            os.environ.pop("DECONFLICT_LOG_KEYS", None)
        else:
            os.environ["DECONFLICT_LOG_KEYS"] = before
        with psycopg.connect(admin_url, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def one_run(name: str, args: argparse.Namespace, src: Path | str | None, workers: int) -> dict[str, Any]:
    make, spread = (spread_activity, False) if name == "spread" else (hotspot_activity, True)
    with tempfile.TemporaryDirectory() as tmp, bench_store(tmp, args.postgres) as store:
        proc, url, tokens = run_server(store, src, workers)
        try:
            if args.warmup:
                # Not measured: the first requests of a fresh process pay for imports, caches and
                # connections (a burst of 30-40 ms answers that was a third of the p99 at 3,000).
                # Spread sites far north of both areas (latitude 60): they touch nothing measured.
                asyncio.run(drive(url, tokens, args.warmup, args.concurrency, spread_activity, False,
                                  first=WARMUP_FIRST))
            server0, client0, pg0 = cpu_seconds(proc.pid), time.process_time(), postgres_cpu_seconds()
            out = asyncio.run(drive(url, tokens, args.requests, args.concurrency, make, spread))
            if args.postgres:
                out["postgres_cpu_ms_per_request"] = round((postgres_cpu_seconds() - pg0) / args.requests * 1000, 3)
            # CPU per request, server and load generator apart: they share two cores.
            out["server_cpu_ms_per_request"] = round((cpu_seconds(proc.pid) - server0) / args.requests * 1000, 3)
            out["client_cpu_ms_per_request"] = round((time.process_time() - client0) / args.requests * 1000, 3)
            out["server_rss_mb"] = round(rss_mb(proc.pid), 1)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
    accepted = out.pop("_accepted")
    out["double_acceptances"] = double_acceptances(accepted) if name == "hotspot" else 0
    return out


SUMMARY = ("requests_per_s", "accepted_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_request",
           "client_cpu_ms_per_request", "postgres_cpu_ms_per_request")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=3000, help="submits per run")
    ap.add_argument("--concurrency", type=int, default=32, help="connections, each one request at a time")
    ap.add_argument("--warmup", type=int, default=300, help="submits before each measured run, not counted")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each kind, alternating; medians are reported")
    ap.add_argument("--runs", default="spread,hotspot", help="which runs, comma-separated")
    ap.add_argument("--baseline-src", type=Path,
                    help="also run the server from this source tree (e.g. `git archive` of an earlier commit), "
                         "alternating with the current one in every round")
    ap.add_argument("--baseline-workers", action="store_true",
                    help="run the baseline tree with every --workers count too (it must know --workers)")
    ap.add_argument("--without-log", action="store_true",
                    help="also run this tree without the Merkle log, signing and receipts "
                         "(bench/nolog/sitecustomize.py), alternating with it in every round")
    ap.add_argument("--workers", default="1",
                    help="server processes (`deconflict serve --workers`); a comma-separated list runs each, "
                         "side by side")
    ap.add_argument("--postgres", metavar="ADMIN_URL",
                    help="run each server on a new PostgreSQL database made (and dropped) on this cluster, "
                         "e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    trees: list[tuple[str, Path | str | None]] = [("current", None)]
    if args.without_log:
        trees.append(("without log", NOLOG))
    if args.baseline_src is not None:
        trees.append(("baseline", args.baseline_src.resolve()))
    counts = [int(w) for w in args.workers.split(",")]
    # An earlier tree may predate --workers: the baseline runs one process unless asked.
    variants = [(f"{label}/w{w}" if len(counts) > 1 else label, src, w)
                for label, src in trees
                for w in (counts if src is None or src == NOLOG or args.baseline_workers else [1])]
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    results: dict[str, Any] = {
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_start": os.getloadavg()},
        "args": {k: str(v) for k, v in vars(args).items()}, "rounds": [],
    }
    for rnd in range(args.rounds):
        for name in runs:
            for label, src, workers in variants:
                out = one_run(name, args, src, workers)
                out.update(run=name, variant=label, round=rnd + 1)
                results["rounds"].append(out)
                print(json.dumps(out), flush=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    medians: dict[str, Any] = {}
    for name in runs:
        for label, _src, _w in variants:
            rows = [r for r in results["rounds"] if r["run"] == name and r["variant"] == label]
            med = {k: round(statistics.median(r[k] for r in rows), 3) for k in SUMMARY if k in rows[0]}
            med["errors"] = sum(r["errors"] for r in rows)
            med["double_acceptances"] = sum(r["double_acceptances"] for r in rows)
            medians[f"{name}/{label}"] = med
            print(f"median {name}/{label}", json.dumps(med), flush=True)
    results["medians"] = medians
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
