"""Live tracks benchmark: evaluation throughput, CoT over loopback TCP, CPA screening, report-to-alert latency.

    python bench/tracks.py                 # every section, a few minutes on a quiet machine
    python bench/tracks.py --only cpa      # one section: eval, tcp, cpa, latency

Figures are medians of repeats; A and B run alternately in one process where
there is something to compare. The machine is shared (2 cores, other work
beside): the load average is printed with each section.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deconflict.codecs import cot
from deconflict.codecs.scenario import load_into, load_scenario
from deconflict.model import (
    AltitudeBand,
    Binds,
    Measure,
    MeasureKind,
    Movement,
    Point,
    Polygon,
    Site,
    SiteCategory,
    Window,
)
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.sqlite import SQLiteStore
from deconflict.tracks.conformance import Fences, Judge
from deconflict.tracks.proximity import approaches
from deconflict.tracks.report import Report
from deconflict.tracks.vector import Batch

T0 = datetime(2018, 2, 7, 12, 0, tzinfo=UTC)
WIN = Window(datetime(2018, 2, 1, tzinfo=UTC), datetime(2018, 3, 1, tzinfo=UTC))
BUNDLED = Path(__file__).resolve().parents[1] / "src/deconflict/data/euphrates-2018.json"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f}"


#: CPU seconds of the last median_time (the median of its repeats): on a shared
#: machine the wall clock counts other work too; the CPU time of this process does not.
LAST_CPU: list[float] = [0.0]


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    LAST_CPU[0] = statistics.median(cpu)
    return statistics.median(times)


def old_module(old_src: str | None, name: str) -> Any:
    """``deconflict/tracks/<name>.py`` of another checkout (``--old-src DIR``: its ``src``),
    loaded beside this one for a side-by-side run in one process; None without it."""
    if not old_src:
        return None
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"old_{name}", Path(old_src) / "deconflict/tracks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look themselves up there
    spec.loader.exec_module(mod)
    return mod


# -- 1. in-process evaluation -------------------------------------------------------------
def theatre_fences(n: int, rnd: random.Random) -> tuple[list[Measure], list[Site]]:
    """``n`` fences over about 1,000 x 1,000 km: forces sites (80 %) and small area measures."""
    sites, measures = [], []
    for i in range(n):
        lon, lat = rnd.uniform(35.0, 45.0), rnd.uniform(31.0, 39.0)
        if i % 5:
            sites.append(Site(id=f"s{i}", owner=f"p{i % 4}", window=WIN, geometry=Point(lon, lat),
                              category=SiteCategory.FORCES, protection_m=rnd.uniform(100, 2000)))
        else:
            d = rnd.uniform(0.01, 0.05)
            ring = ((lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d), (lon, lat))
            kind = rnd.choice([MeasureKind.NO_FIRE_AREA, MeasureKind.RESTRICTED_OPERATIONS_ZONE])
            measures.append(Measure(f"m{i}", kind, f"p{i % 4}", Polygon((ring,)), WIN, binds=Binds(),
                                    altitude=AltitudeBand.metres(1000, 5000)
                                    if kind is MeasureKind.RESTRICTED_OPERATIONS_ZONE else None))
    return measures, sites


def reports_for(assets: int, per_asset: int, rnd: random.Random) -> list[Report]:
    """``per_asset`` reports of each of ``assets`` moving assets (1 s apart, 10-20 m/s ground, 150 m/s air)."""
    out = []
    start = [(rnd.uniform(35.0, 45.0), rnd.uniform(31.0, 39.0), rnd.uniform(0, 360), rnd.random() < 0.2)
             for _ in range(assets)]
    for k in range(per_asset):
        t = T0 + timedelta(seconds=k)
        for i, (lon, lat, crs, air) in enumerate(start):
            v = 150.0 if air else 15.0
            dlat = v * k * math.cos(math.radians(crs)) / 111_000
            dlon = v * k * math.sin(math.radians(crs)) / (111_000 * math.cos(math.radians(lat)))
            out.append(Report(f"p{4 + i % 4}", f"a{i}", lon + dlon, lat + dlat, t, air,
                              3000.0 if air else math.nan, crs, v))
    return out


def bench_eval(fences_n: int, assets: int, per_asset: int, batch: int, repeats: int = 3,
               old_src: str | None = None) -> None:
    rnd = random.Random(1)
    measures, sites = theatre_fences(fences_n, rnd)
    t = time.perf_counter()
    fences = Fences(measures, sites)
    build = time.perf_counter() - t
    reps = reports_for(assets, per_asset, rnd)
    chunks = [reps[i:i + batch] for i in range(0, len(reps), batch)]
    batches = [Batch.of(c) for c in chunks]
    judge = Judge(fences)
    # A: arrays in (what a feed that batches its reports hands over), arrays out.
    counts: list[int] = []

    def arrays() -> None:
        n = 0
        for bt in batches:
            decided, engine_hits = judge.judge_areas(bt)
            n += len(decided.r) + len(engine_hits)
        counts.append(n)

    # B: the same judging from Report objects to Hit objects (Judge.judge, the tracker's call).
    def objects() -> None:
        for c in chunks:
            judge.judge(c)

    arrays()  # warm-up
    ta: list[float] = []
    tb: list[float] = []
    ca: list[float] = []
    cb: list[float] = []
    checks0 = judge.exact_checks
    for _ in range(repeats):
        ta.append(median_time(arrays, 1))
        ca.append(LAST_CPU[0])
        tb.append(median_time(objects, 1))
        cb.append(LAST_CPU[0])
    checks = (judge.exact_checks - checks0) / (2 * repeats)
    n = len(reps)
    print(f"eval: {fences_n} fences (compiled in {build:.2f} s), {assets} assets, {n} reports in batches "
          f"of {batch}: arrays {n / statistics.median(ta):,.0f} reports/s ({n / statistics.median(ca):,.0f} per "
          f"CPU second); Report objects (Judge.judge) {n / statistics.median(tb):,.0f} reports/s "
          f"({n / statistics.median(cb):,.0f} per CPU second); {counts[-1]} hits, {checks:,.0f} pairs left to the "
          f"engine per pass ({checks / n:.4f} per report); medians of {repeats}; {load()}")
    old = old_module(old_src, "conformance")
    if old is not None:
        # The old judge (before the vectorised path), on a sample, alternating with the new on the same sample.
        sample = reps[: min(len(reps), 5000)]
        bs = Batch.of(sample)
        oj = old.Judge(old.Fences(measures, sites))
        oj.judge(sample[:500])
        to, tn = [], []
        for _ in range(repeats):
            median_time(lambda: oj.judge(sample), 1)
            to.append(LAST_CPU[0])
            median_time(lambda: judge.judge_areas(bs), 1)
            tn.append(LAST_CPU[0])
        print(f"eval old vs new, same {len(sample)} reports (CPU): old Judge.judge "
              f"{len(sample) / statistics.median(to):,.0f} reports/s; new arrays "
              f"{len(sample) / statistics.median(tn):,.0f} reports/s; {load()}")
    # B: the engine's own check, one report at a time (a movement of one point per report), on a sample.
    eng_svc = Deconflict(SQLiteStore(Path(tempfile.mkdtemp()) / "e.sqlite3"))
    from deconflict.model import Party

    for p in range(8):
        eng_svc.engine.add_party(Party(f"p{p}", f"p{p}"))
    for m in measures:
        eng_svc.engine.add_measure(m)
    eng_svc.engine.load(sites)
    sample = reps[:2000]
    t = time.perf_counter()
    for r in sample:
        lon2 = r.lon + 1e-6
        eng_svc.engine.check(Movement(id="x", owner=r.party, window=Window(r.t, r.t + timedelta(seconds=1)),
                                      route=__import__("deconflict.model", fromlist=["LineString"]).LineString(
                                          ((r.lon, r.lat), (lon2, r.lat)))))
    took_b = time.perf_counter() - t
    print(f"eval B: Engine.check per report (a movement of one step), {len(sample)} reports: "
          f"{len(sample) / took_b:,.0f} reports/s")
    eng_svc.close()


# -- 2. CoT over loopback TCP, end to end --------------------------------------------------
def _world() -> tuple[Deconflict, Hotline]:
    svc = Deconflict(SQLiteStore(Path(tempfile.mkdtemp()) / "t.sqlite3"))
    load_into(svc, load_scenario(BUNDLED))
    return svc, Hotline(svc)


def bench_tcp(clients: int, per_client: int) -> None:
    from deconflict.tracks.server import TakServer
    from deconflict.tracks.tracker import Tracker

    svc, hl = _world()
    tr = Tracker(hl)
    srv = TakServer(tr, tcp=0)
    srv.start()
    tokens = [hl.issue_credential(None, p, f"b{k}", Role.PLANNER)[1]
              for k, p in enumerate(["coalition", "regime", "russia", "sdf"] * clients)][:clients]
    payloads = []
    for c in range(clients):
        msgs = [cot.event_xml(cot.position(f"c{c}", "a-h-G", 39.0 + c * 0.01, 34.0, T0, token=tokens[c]))]
        for k in range(per_client):
            # Every 100th report of the regime's feeds enters S1's zone (an alert), the next leaves it.
            inside = c % 4 == 1 and k % 100 == 50
            lon, lat = (40.321, 35.361) if inside else (39.0 + c * 0.01, 34.0 + k * 1e-5)
            msgs.append(cot.event_xml(cot.position(f"c{c}", "a-h-G", lon, lat, T0 + timedelta(seconds=k))))
        payloads.append(b"".join(msgs))
    total = clients * (per_client + 1)
    socks = [socket.create_connection(("127.0.0.1", srv.ports["tcp"])) for _ in range(clients)]
    drains = []
    for s in socks:
        def drain(s: socket.socket = s) -> None:
            with contextlib.suppress(OSError):
                while s.recv(1 << 16):
                    pass
        th = threading.Thread(target=drain, daemon=True)
        th.start()
        drains.append(th)
    t = time.perf_counter()
    senders = [threading.Thread(target=s.sendall, args=(p,)) for s, p in zip(socks, payloads, strict=True)]
    for th in senders:
        th.start()
    for th in senders:
        th.join()
    while tr.stats.reports + srv.queue.totals()["dropped"] < total:
        time.sleep(0.005)
    took = time.perf_counter() - t
    totals = srv.queue.totals()
    print(f"tcp: {clients} clients x {per_client + 1} CoT XML events: {tr.stats.reports / took:,.0f} events/s judged "
          f"end to end ({totals['dropped']} dropped by flood control, {tr.stats.alerts_raised} alerts raised); "
          f"{load()}")
    for s in socks:
        s.close()
    srv.stop()
    svc.close()


# -- 3. CPA screening ------------------------------------------------------------------------
def cpa_world(n: int, rnd: np.random.Generator) -> tuple[np.ndarray, ...]:
    # A busy theatre's density: n assets over a square whose side grows with sqrt(n), 10 per 10 x 10 km
    # (10k over 316 x 316 km, 100k over 1,000 x 1,000 km).
    side = math.sqrt(n / 10.0) * 10_000.0 / 111_000.0
    lon = 40.0 + rnd.uniform(0, side, n)
    lat = 35.0 + rnd.uniform(0, side, n)
    air = rnd.random(n) < 0.2
    alt = np.where(air, rnd.uniform(500, 6000, n), np.nan)
    speed = np.where(air, rnd.uniform(50, 250, n), rnd.uniform(0, 20, n))
    course = rnd.uniform(0, 360, n)
    vz = np.zeros(n)
    party = rnd.integers(-1, 8, n)
    return lon, lat, alt, speed, course, vz, party


def dense_nxn(lon: np.ndarray, lat: np.ndarray, h: float) -> int:
    """BlueSky-style dense N x N flat-earth distance matrix (the comparison)."""
    x = np.radians(lon) * 6_371_000 * np.cos(np.radians(lat.mean()))
    y = np.radians(lat) * 6_371_000
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    return int((d < h).sum())


def bench_cpa(sizes: list[int], repeats: int, old_src: str | None = None) -> None:
    rnd = np.random.default_rng(7)
    old = old_module(old_src, "proximity")
    for n in sizes:
        w = cpa_world(n, rnd)
        if old is not None:
            to, tn = [], []
            for _ in range(repeats):
                median_time(lambda w=w: old.approaches(*w, horizontal_m=1000.0, vertical_m=300.0,
                                                       lookahead_s=120.0), 1)
                to.append(LAST_CPU[0])
                median_time(lambda w=w: approaches(*w, horizontal_m=1000.0, vertical_m=300.0, lookahead_s=120.0), 1)
                tn.append(LAST_CPU[0])
            print(f"cpa old vs new, {n} assets (CPU, alternating): old {statistics.median(to) * 1000:,.1f} ms, "
                  f"new {statistics.median(tn) * 1000:,.1f} ms; {load()}")
        found: list[int] = []
        tk = median_time(lambda w=w, found=found: found.append(len(approaches(
            *w, horizontal_m=1000.0, vertical_m=300.0, lookahead_s=120.0))), repeats)
        ck = LAST_CPU[0]
        line = (f"cpa: {n} assets: {tk * 1000:,.1f} ms per cycle, {ck * 1000:,.1f} ms CPU "
                f"({found[-1]} approaches)")
        if n <= 8000:
            tb = median_time(lambda w=w: dense_nxn(w[0], w[1], 1000.0), max(1, repeats // 2))
            line += f"; dense N x N distances {tb * 1000:,.1f} ms"
        print(line + f"; {load()}")


# -- 4. report in to alert on the stream ------------------------------------------------------
def bench_latency(samples: int) -> None:
    import httpx
    import uvicorn

    from deconflict.service.http import create_app
    from deconflict.tracks.http import mount
    from deconflict.tracks.server import TakServer
    from deconflict.tracks.tracker import Tracker

    svc, hl = _world()
    tr = Tracker(hl)
    srv = TakServer(tr, tcp=0)
    srv.start()
    app = create_app(hl)
    mount(app, tr)
    with socket.socket() as s0:
        s0.bind(("127.0.0.1", 0))
        port = s0.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=uv.run, daemon=True).start()
    while not uv.started:
        time.sleep(0.01)
    regime = hl.issue_credential(None, "regime", "lat", Role.PLANNER)[1]
    coalition = hl.issue_credential(None, "coalition", "watch", Role.VIEWER)[1]
    seen: dict[str, float] = {}
    after = hl.head

    def follow() -> None:
        import json

        with httpx.stream("GET", f"http://127.0.0.1:{port}/v1/stream", params={"wait": 1},
                          headers={"Authorization": f"Bearer {coalition}", "Last-Event-ID": str(after)},
                          timeout=None) as r:
            event = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "alert.raised":
                    data = json.loads(line[6:])
                    if data.get("rule") == "track-in-forces-site" and not data.get("predicted"):
                        seen.setdefault(data["asset"]["uid"], time.perf_counter())
                if len(seen) >= samples:
                    return

    th = threading.Thread(target=follow, daemon=True)
    th.start()
    time.sleep(0.5)
    s = socket.create_connection(("127.0.0.1", srv.ports["tcp"]))
    s.sendall(cot.event_xml(cot.position("hello", "a-h-G", 39.0, 34.0, T0, token=regime)))
    threading.Thread(target=lambda: [None for _ in iter(lambda: s.recv(65536), b"")], daemon=True).start()
    sent: dict[str, float] = {}
    for k in range(samples):
        uid = f"lat-{k}"
        sent[uid] = time.perf_counter()
        s.sendall(cot.event_xml(cot.position(uid, "a-h-G", 40.321, 35.361, T0 + timedelta(seconds=k))))
        time.sleep(0.02)
    th.join(60)
    lat = sorted((seen[u] - sent[u]) * 1000 for u in sent if u in seen)
    if lat:
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
        print(f"latency: report in (TCP) to alert.raised on the coalition's SSE stream, {len(lat)} samples: "
              f"p50 {p(0.5):.1f} ms, p90 {p(0.9):.1f} ms, p99 {p(0.99):.1f} ms, max {lat[-1]:.1f} ms; {load()}")
    s.close()
    hl.close_streams()
    uv.should_exit = True
    srv.stop()
    svc.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["eval", "tcp", "cpa", "latency"])
    ap.add_argument("--fences", type=int, default=10_000)
    ap.add_argument("--assets", type=int, default=10_000)
    ap.add_argument("--per-asset", type=int, default=20)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-client", type=int, default=5_000)
    ap.add_argument("--cpa-sizes", type=int, nargs="+", default=[1_000, 8_000, 10_000, 100_000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--old-src", help="another checkout's src/: its tracks judge and CPA timed beside these")
    a = ap.parse_args()
    print(f"deconflict bench/tracks.py; {load()}")
    if a.only in (None, "eval"):
        bench_eval(a.fences, a.assets, a.per_asset, a.batch, old_src=a.old_src)
    if a.only in (None, "cpa"):
        bench_cpa(a.cpa_sizes, a.repeats, a.old_src)
    if a.only in (None, "tcp"):
        bench_tcp(a.clients, a.per_client)
    if a.only in (None, "latency"):
        bench_latency(a.samples)


if __name__ == "__main__":
    main()
