"""Engine benchmark: bulk-load rate, memory per declaration, check latency.

    python bench/engine.py --sizes 10000 100000 1000000

Each size runs in a fresh child process (so its RSS figures are its own) on
the seeded synthetic theatre of ``bench/synth.py``:

1. the declarations are generated (model objects in memory; their RSS is
   reported separately, as "model");
2. ``Engine.load`` builds a ready engine from them, ``--repeats`` times
   (median rate reported); the RSS the first engine adds is "engine";
   with ``--compare`` (default for sizes up to 100k) the one-by-one path
   (``add_declaration`` in a loop, then the index rebuild) is timed in the
   same process, alternating with the bulk path, and the ratio reported;
3. ``--checks`` activities of mixed kinds (a second seed of the same
   theatre) go one at a time through ``Engine.check`` after a warm-up:
   p50/p90/p99/max latency, overall and by kind;
4. a further batch of as many activities is checked in one loop, timed as
   a whole: checks per second;
5. per checked activity: index candidates (parts whose box and window meet
   the activity's grown box and window, other owners included) and findings.

With ``--baseline-src DIR`` a second child runs the same measurements with
``PYTHONPATH=DIR`` (e.g. an exported older ``src``), alternating with the
current code, so before/after ratios come from one run on one machine.

Results go to ``bench/results/<label>-<size>.json`` (gitignored); ``--readme``
rewrites the table between the markers in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def loadavg() -> str:
    """The 1/5/15-minute load averages (the machine is shared: read figures with them)."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def settle() -> int:
    gc.collect()
    return rss_bytes()


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q / 100.0 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def machine() -> dict[str, Any]:
    import numpy
    import pyproj
    import shapely

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(HERE), "describe", "--always", "--dirty"], capture_output=True, text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pyproj": pyproj.__version__,
        "proj": pyproj.proj_version_str,
        "shapely": shapely.__version__,
        "mem_total_gb": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1),
        "git": commit,
    }


# -- the child: one size ---------------------------------------------------------
def run_one(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from synth import PARTIES, Theatre, measures

    import deconflict
    from deconflict.engine.checker import Engine
    from deconflict.engine.parts import declaration_parts

    n = args.one
    out: dict[str, Any] = {"size": n, "label": args.label, "seed": args.seed,
                           "deconflict_from": os.pathsep.join(deconflict.__path__),
                           "loadavg_start": loadavg()}
    warm = Theatre(args.seed + 1000).declarations(args.warmup, "w")
    acts = Theatre(args.seed + 1).declarations(args.checks, "q")
    batch = Theatre(args.seed + 2).declarations(args.checks, "b")
    frozen = Theatre(args.seed + 3).declarations(args.checks, "f")
    tagged_acts = Theatre(args.seed + 4).declarations(args.checks, "t") if args.tag_filter else []
    theatre_measures = measures()

    def fresh() -> Engine:
        e = Engine()
        for p in PARTIES:
            e.add_party(p)
        for m in theatre_measures:
            e.add_measure(m)
        return e

    rss0 = settle()
    t = time.perf_counter()
    decls = Theatre(args.seed).declarations(n)
    out["generate_s"] = time.perf_counter() - t
    rss1 = settle()
    kinds: dict[str, int] = defaultdict(int)
    parts_total = 0
    for d in decls:
        kinds[type(d).__name__.lower()] += 1
    out["mix"] = dict(kinds)

    # -- build ------------------------------------------------------------------
    def bulk() -> tuple[float, Engine]:
        e = fresh()
        t = time.perf_counter()
        e.load(decls)
        return time.perf_counter() - t, e

    def one_by_one() -> tuple[float, Engine]:
        e = fresh()
        t = time.perf_counter()
        for d in decls:
            e.add_declaration(d)
        e._index.rebuild()
        return time.perf_counter() - t, e

    dt, engine = bulk()
    rss2 = settle()
    bulk_times = [dt]
    seq_times: list[float] = []
    parts_total = engine._index.parts_total
    index_bytes = engine._index.memory_bytes()
    for r in range(max(args.repeats, 1)):
        if args.one_by_one:
            del engine
            gc.collect()
            dt, engine = one_by_one()
            seq_times.append(dt)
        if r + 1 < args.repeats:
            del engine
            gc.collect()
            dt, engine = bulk()
            bulk_times.append(dt)
    if args.one_by_one:
        # Measure checks on a bulk-loaded engine, as a service starts.
        del engine
        gc.collect()
        _dt, engine = bulk()
    out["build"] = {
        "bulk_s": bulk_times,
        "bulk_median_s": statistics.median(bulk_times),
        "bulk_rate_per_s": n / statistics.median(bulk_times),
        "one_by_one_s": seq_times,
        "one_by_one_rate_per_s": n / statistics.median(seq_times) if seq_times else None,
        "speedup": statistics.median(seq_times) / statistics.median(bulk_times) if seq_times else None,
        "parts": parts_total,
    }
    out["memory"] = {
        "model_bytes_per_decl": (rss1 - rss0) / n,
        "engine_bytes_per_decl": (rss2 - rss1) / n,
        "total_bytes_per_decl": (rss2 - rss0) / n,
        "index_arrays_bytes_per_decl": index_bytes / n,
        "rss_total_mb": rss2 / 2**20,
    }
    if args.tracemalloc_max and n <= args.tracemalloc_max:
        del engine
        gc.collect()
        tracemalloc.start()
        e = fresh()
        e.load(decls)
        cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["memory"]["traced_engine_bytes_per_decl"] = cur / n
        out["memory"]["traced_peak_bytes_per_decl"] = peak / n
        engine = e
        del e
        gc.collect()

    # -- single checks ---------------------------------------------------------
    for a in warm:
        engine.check(a)
    lat: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    findings: list[int] = []
    verdicts: dict[str, int] = defaultdict(int)
    perf = time.perf_counter
    for a in acts:
        t = perf()
        res = engine.check(a)
        dt = perf() - t
        lat.append(dt)
        by_kind[type(a).__name__.lower()].append(dt)
        findings.append(len(res.findings))
        verdicts[res.verdict.value] += 1
    lat_sorted = sorted(lat)

    def summary(values: list[float]) -> dict[str, float]:
        v = sorted(values)
        return {
            "n": len(v),
            "p50_ms": percentile(v, 50) * 1e3,
            "p90_ms": percentile(v, 90) * 1e3,
            "p99_ms": percentile(v, 99) * 1e3,
            "max_ms": v[-1] * 1e3,
            "mean_ms": statistics.fmean(v) * 1e3,
        }

    # Candidates the index returns per check (outside the timed loop).
    margins = engine.margins
    candidates: list[int] = []
    for a in acts:
        c = 0
        for ap in declaration_parts(a):
            qbox = ap.shape.box(ap.radius_m + margins.horizontal_m)
            c += len(engine._index.query(qbox, ap.window.start - margins.time, ap.window.end + margins.time))
        candidates.append(c)
    out["check"] = {
        **summary(lat_sorted),
        "by_kind": {k: summary(v) for k, v in sorted(by_kind.items())},
        "mean_findings": statistics.fmean(findings),
        "mean_candidates": statistics.fmean(candidates),
        "p99_candidates": percentile(sorted(candidates), 99),
        "verdicts": dict(verdicts),
    }

    tagged: list[int] = []
    try:
        from deconflict.engine.bulk import pair_tags
    except ImportError:  # an older tree (--baseline-src)
        pair_tags = None
    if pair_tags is not None:
        for a in acts:
            c = 0
            for ap in declaration_parts(a):
                qbox = ap.shape.box(ap.radius_m + margins.horizontal_m)
                c += len(engine._index.query(qbox, ap.window.start - margins.time, ap.window.end + margins.time,
                                             pair_tags(ap)))
            tagged.append(c)
        out["check"]["mean_candidates_tagged"] = statistics.fmean(tagged)

    # -- batch throughput --------------------------------------------------------
    t = perf()
    for a in batch:
        engine.check(a)
    dt = perf() - t
    out["batch"] = {"checks": len(batch), "seconds": dt, "checks_per_s": len(batch) / dt}

    # -- the same without garbage-collector pauses -----------------------------------
    # Millions of long-lived model objects make each full collection take up to
    # a second, and a check that allocates can trigger one. A service would
    # gc.freeze() after its start-up load; this measures a further batch so.
    gc.collect()
    gc.freeze()
    frozen_lat: list[float] = []
    for a in frozen:
        t = perf()
        engine.check(a)
        frozen_lat.append(perf() - t)
    out["check_frozen"] = summary(frozen_lat)
    if args.tag_filter and pair_tags is not None:
        out["check_tagged"] = tag_filter_projection(engine, tagged_acts, pair_tags)
    gc.unfreeze()
    out["loadavg_end"] = loadavg()
    return out


def tag_filter_projection(engine: Any, acts: list[Any], pair_tags: Any) -> dict[str, Any]:
    """Engine.check as it is, and the same with its index query given the
    tags some pair rule applies to (bulk.pair_tags): one call, alternating
    which goes first, results compared. A projection for the lead, not the
    engine's code: the method is compiled from Engine.check's own source with
    that one argument added."""
    import inspect
    import textwrap

    from deconflict.engine import checker

    src = textwrap.dedent(inspect.getsource(checker.Engine.check))
    call = "self._index.query(qbox, ap.window.start - grow_t, ap.window.end + grow_t)"
    if call not in src:
        return {"skipped": "Engine.check no longer has the expected query call"}
    ns = dict(vars(checker))
    ns["pair_tags"] = pair_tags
    exec(src.replace(call, call[:-1] + ", pair_tags(ap))").replace("def check(", "def check_tagged("), ns)
    tagged = ns["check_tagged"]
    plain_lat: list[float] = []
    tagged_lat: list[float] = []
    same = 0
    perf = time.perf_counter
    for i, a in enumerate(acts):
        results = []
        for which in ((0, 1) if i % 2 else (1, 0)):
            t = perf()
            results.append(engine.check(a) if which == 0 else tagged(engine, a))
            (plain_lat if which == 0 else tagged_lat).append(perf() - t)
        same += results[0] == results[1]

    def summ(values: list[float]) -> dict[str, float]:
        v = sorted(values)
        return {"p50_ms": percentile(v, 50) * 1e3, "p99_ms": percentile(v, 99) * 1e3, "max_ms": v[-1] * 1e3}

    return {"n": len(acts), "identical_results": same, "plain": summ(plain_lat), "tagged": summ(tagged_lat)}


# -- the parent ----------------------------------------------------------------------
def child(args: argparse.Namespace, size: int, label: str, src: str | None) -> dict[str, Any]:
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--one", str(size), "--label", label,
        "--seed", str(args.seed), "--checks", str(args.checks), "--warmup", str(args.warmup),
        "--repeats", str(args.repeats if size < 1_000_000 else args.repeats_1m),
        "--tracemalloc-max", str(args.tracemalloc_max),
    ]
    if args.compare and size <= args.compare_max:
        cmd.append("--one-by-one")
    if args.tag_filter:
        cmd.append("--tag-filter")
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child for {label} {size} failed")
    result: dict[str, Any] = json.loads(proc.stdout)
    if src and not result["deconflict_from"].startswith(str(Path(src).resolve())):
        raise SystemExit(f"{label}: deconflict was imported from {result['deconflict_from']}, not {src} "
                         "(an exported tree needs src/deconflict/__init__.py)")
    return result


def _n(v: float | None, fmt: str = ",.0f") -> str:
    return "-" if v is None else format(v, fmt)


def tables(rows: list[dict[str, Any]]) -> str:
    """The markdown tables of a run."""
    out = [
        "Build and memory (B = bytes per declaration; model = the declarations themselves, "
        "engine = what Engine.load adds on top):",
        "",
        "| code | declarations | parts | build (decl/s) | one-by-one (decl/s) | speed-up "
        "| model B (RSS) | engine B (RSS) | engine B (traced) | index arrays B | total B (RSS) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        b, m = r["build"], r["memory"]
        out.append(
            f"| {r['label']} | {r['size']:,} | {b['parts']:,} | {b['bulk_rate_per_s']:,.0f} "
            f"| {_n(b.get('one_by_one_rate_per_s'))} | {_n(b.get('speedup'), '.1f')} "
            f"| {m['model_bytes_per_decl']:,.0f} | {m['engine_bytes_per_decl']:,.0f} "
            f"| {_n(m.get('traced_engine_bytes_per_decl'))} | {m['index_arrays_bytes_per_decl']:,.0f} "
            f"| {m['total_bytes_per_decl']:,.0f} |"
        )
    out += [
        "",
        "Checks (one at a time through Engine.check; candidates = parts the index returns, "
        "summed over the activity's parts; tagged = those a pair rule applies to):",
        "",
        "| code | declarations | p50 ms | p90 ms | p99 ms | max ms | p50 / p99 / max ms after gc.freeze() "
        "| batch checks/s | candidates | tagged | findings |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        c, f = r["check"], r.get("check_frozen")
        frozen = "-" if f is None else f"{f['p50_ms']:.2f} / {f['p99_ms']:.2f} / {f['max_ms']:.1f}"
        out.append(
            f"| {r['label']} | {r['size']:,} | {c['p50_ms']:.2f} | {c['p90_ms']:.2f} | {c['p99_ms']:.2f} "
            f"| {c['max_ms']:.1f} | {frozen} | {r['batch']['checks_per_s']:,.0f} "
            f"| {c['mean_candidates']:.1f} | {_n(c.get('mean_candidates_tagged'), '.1f')} "
            f"| {c['mean_findings']:.2f} |"
        )
    out += ["", "Check latency by the activity's kind (default GC):", "",
            "| code | declarations | kind | n | p50 ms | p99 ms | max ms |", "|---|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        for k, v in r["check"]["by_kind"].items():
            out.append(f"| {r['label']} | {r['size']:,} | {k} | {v['n']} | {v['p50_ms']:.2f} "
                       f"| {v['p99_ms']:.2f} | {v['max_ms']:.1f} |")
    tagged = [r for r in rows if "check_tagged" in r and "plain" in r["check_tagged"]]
    if tagged:
        out += ["", "Projection: Engine.check with the index tag filter (bulk.pair_tags), alternating "
                "with Engine.check as it is, after gc.freeze():", "",
                "| code | declarations | n | identical results | as is p50 / p99 / max ms "
                "| tag filter p50 / p99 / max ms |", "|---|---:|---:|---:|---|---|"]
        for r in tagged:
            t = r["check_tagged"]
            p, q = t["plain"], t["tagged"]
            out.append(f"| {r['label']} | {r['size']:,} | {t['n']} | {t['identical_results']} "
                       f"| {p['p50_ms']:.2f} / {p['p99_ms']:.2f} / {p['max_ms']:.1f} "
                       f"| {q['p50_ms']:.2f} / {q['p99_ms']:.2f} / {q['max_ms']:.1f} |")
    return "\n".join(out)


def summary_line(r: dict[str, Any]) -> str:
    c = r["check"]
    return (f"{r['label']} {r['size']:,}: build {r['build']['bulk_rate_per_s']:,.0f}/s, "
            f"total {r['memory']['total_bytes_per_decl']:,.0f} B/decl, check p50 {c['p50_ms']:.2f} "
            f"p99 {c['p99_ms']:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--checks", type=int, default=2000, help="activities timed one at a time (and batch size)")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3, help="bulk builds per size below 1M (median reported)")
    ap.add_argument("--repeats-1m", type=int, default=3, help="bulk builds per size from 1M")
    ap.add_argument("--compare", action=argparse.BooleanOptionalAction, default=True,
                    help="also time add_declaration one by one, alternating with the bulk load")
    ap.add_argument("--compare-max", type=int, default=100_000, help="largest size for --compare")
    ap.add_argument("--tracemalloc-max", type=int, default=100_000,
                    help="largest size for the (slow) tracemalloc build; 0 for none")
    ap.add_argument("--baseline-src", help="a src/ directory to measure side by side (PYTHONPATH)")
    ap.add_argument("--baseline-max", type=int, default=100_000, help="largest size for the baseline")
    ap.add_argument("--label", default="current")
    ap.add_argument("--readme", action="store_true", help="rewrite the results table in bench/README.md")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--one-by-one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tag-filter", action="store_true",
                    help="also project Engine.check with the index tag filter (side by side)")
    args = ap.parse_args()

    if args.one:
        print(json.dumps(run_one(args)))
        return

    RESULTS.mkdir(exist_ok=True)
    info = machine()
    print(json.dumps(info), file=sys.stderr)
    rows: list[dict[str, Any]] = []
    started = time.time()
    for size in args.sizes:
        runs = [(args.label, None)]
        if args.baseline_src and size <= args.baseline_max:
            runs.insert(0, ("baseline", args.baseline_src))
        for label, src in runs:
            t = time.perf_counter()
            r = child(args, size, label, src)
            r["machine"] = info
            r["wall_s"] = time.perf_counter() - t
            (RESULTS / f"{label}-{size}.json").write_text(json.dumps(r, indent=2) + "\n")
            rows.append(r)
            print(summary_line(r), f"[{r['wall_s']:.0f} s]", file=sys.stderr, flush=True)
    table = tables(rows)
    print(table)
    if args.readme:
        cmd = "python bench/engine.py " + " ".join(sys.argv[1:])
        block = (
            f"{BEGIN}\n"
            f"Measured {time.strftime('%Y-%m-%d', time.gmtime(started))} with `{cmd}` "
            f"(git {info['git']}) on {info['nproc']} x {info['cpu']}, {info['mem_total_gb']} GB; "
            f"Python {info['python']}, numpy {info['numpy']}, pyproj {info['pyproj']} "
            f"(PROJ {info['proj']}), shapely {info['shapely']}.\n\n"
            f"{table}\n{END}"
        )
        text = README.read_text()
        a, b = text.index(BEGIN), text.index(END) + len(END)
        README.write_text(text[:a] + block + text[b:])


if __name__ == "__main__":
    main()
