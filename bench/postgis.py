"""The engine measured against PostGIS, side by side, in one process.

    python bench/postgis.py --size 100000 --checks 10000 --rounds 3

``bench/synth.py``'s theatre is loaded twice: into the engine (``Engine.load``)
and into a fresh PostgreSQL database (``dcf_i10_<pid>``, dropped at the end)
with PostGIS, as a competent GIS engineer would lay it out:

* one table per kind of footprint part (sites, fire effects, fire
  trajectories, movement parts, flight parts), each with a ``geography``
  column, its radius, a ``tstzrange`` window, an altitude band in metres where
  the part has one, and **one GiST index on (geography, tstzrange)**;
* area measures (no-fire areas, the restrictive fire area, restricted
  operations zones) in one table with the same index;
* the deconfliction line as one polygon per bound party: the part of its area
  of application (50 km either side of the line, and past its ends) on that
  party's far side, built once with pyproj's geodesics (``far_band``). A
  footprint violates the line when it comes within its radius of that polygon
  (it then reaches across the line, or lies beyond it, within the area).

Each rule is one SQL statement with the margins as parameters (time grown by
the caution minutes, the vertical gap within the vertical margin, distances
within radius + radius + horizontal margin: ``ST_DWithin`` on the spheroid
with the largest radius of the table as the index's reach), prepared once and
run with generic plans (``plan_cache_mode = force_generic_plan``, psycopg 3
``prepare_threshold=0``). A row is a caution at least; it is a finding of the
rule's kind when its window overlaps, its bands meet and ``ST_DWithin`` holds
within radius + radius + the engine's touch tolerance (1 cm).

The same activities (``Theatre(seed + 1)``) are checked by both in alternating
blocks (engine first in odd blocks, PostGIS first in even ones), for several
rounds; each check's latency is its median over the rounds, and p50/p99 are
taken over checks. Then ``Engine.check_many`` and a loop of PostGIS checks on
one connection are timed on one further batch each (checks/s). Decisions
(object, rule, kind) are compared on every check; every difference is listed.

Results go to ``bench/results/postgis-<size>.json`` (gitignored).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import shapely
from pyproj import Geod

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth import PARTIES, Theatre, measures  # noqa: E402

from deconflict.engine.checker import Engine  # noqa: E402
from deconflict.model import (  # noqa: E402
    CautionMargins,
    Declaration,
    Fire,
    Flight,
    LineString,
    Measure,
    Movement,
    Point,
    Polygon,
    Side,
    Site,
    SiteCategory,
)
from deconflict.model.units import ALTITUDE_TOLERANCE_M, SURFACE_M  # noqa: E402

GEOD = Geod(ellps="WGS84")
TOUCH_M = 0.01  # the engine's TOUCH_TOLERANCE_M
RESULTS = HERE / "results"
Key = tuple[str, str, str]  # (object id, rule, kind)


# -- parts, straight from the model (no engine code) --------------------------------------
def ewkt(geom: Point | LineString | Polygon) -> str:
    if isinstance(geom, Point):
        return f"SRID=4326;POINT({geom.lon!r} {geom.lat!r})"
    if isinstance(geom, LineString):
        return "SRID=4326;LINESTRING(" + ",".join(f"{x!r} {y!r}" for x, y in geom.coords) + ")"
    rings = ",".join("(" + ",".join(f"{x!r} {y!r}" for x, y in r) + ")" for r in geom.rings)
    return f"SRID=4326;POLYGON({rings})"


def seg(a: Point, b: Point) -> Point | LineString:
    return a if (a.lon, a.lat) == (b.lon, b.lat) else LineString(((a.lon, a.lat), (b.lon, b.lat)))


def rng(start: datetime, end: datetime) -> str:
    return f"[{start.isoformat()},{end.isoformat()})"


def parts(d: Declaration) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) for every footprint part of ``d``."""
    base = {"id": d.id, "owner": d.owner}
    if isinstance(d, Site):
        assert not isinstance(d.geometry, Polygon) or True
        yield "sites", {**base, "forces": d.category is SiteCategory.FORCES, "geog": ewkt(d.geometry),
                        "radius": d.protection_m, "during": rng(d.window.start, d.window.end)}
    elif isinstance(d, Fire):
        yield "fire_effects", {**base, "geog": ewkt(d.target), "radius": d.effects_radius_m,
                               "during": rng(d.window.start, d.window.end)}
        if d.origin is not None and d.max_ordinate is not None:
            assert isinstance(d.target, Point)
            top = d.max_ordinate.metres
            yield "fire_trajectories", {**base, "geog": ewkt(seg(d.origin, d.target)),
                                        "radius": d.trajectory_half_width_m,
                                        "during": rng(d.window.start, d.window.end),
                                        "lo": min(SURFACE_M, top), "hi": top}
    elif isinstance(d, Movement):
        if d.waypoints:
            for a, b in zip(d.waypoints, d.waypoints[1:], strict=False):
                yield "movement_parts", {**base, "geog": ewkt(seg(a.position, b.position)),
                                         "radius": d.half_width_m, "during": rng(a.time, b.time)}
        else:
            assert d.route is not None
            yield "movement_parts", {**base, "geog": ewkt(d.route), "radius": d.half_width_m,
                                     "during": rng(d.window.start, d.window.end)}
    else:
        assert isinstance(d, Flight)
        if d.waypoints:
            for a, b in zip(d.waypoints, d.waypoints[1:], strict=False):
                alts = [w.altitude.metres for w in (a, b) if w.altitude is not None]
                if d.altitude is not None:
                    alts += [d.altitude.lower_m, d.altitude.upper_m]
                yield "flight_parts", {**base, "geog": ewkt(seg(a.position, b.position)),
                                       "radius": d.half_width_m, "during": rng(a.time, b.time),
                                       "lo": min(alts), "hi": max(alts)}
        else:
            assert d.geometry is not None and d.altitude is not None
            yield "flight_parts", {**base, "geog": ewkt(d.geometry), "radius": d.half_width_m,
                                   "during": rng(d.window.start, d.window.end),
                                   "lo": d.altitude.lower_m, "hi": d.altitude.upper_m}


# -- the deconfliction line as far-side polygons ---------------------------------------------
def far_band(coords: tuple[tuple[float, float], ...], side: Side, reach: float,
             step: float = 2_000.0) -> shapely.Geometry:
    """The points within ``reach`` of the line on ``side`` of it (left or right
    of the direction its vertices run), past its ends judged against the end
    edges continued: the union of a strip along each edge (geodesic offsets at
    most ``step`` apart) and a fan round each vertex, in lon/lat."""
    turn = -90.0 if side is Side.LEFT else 90.0
    pieces = []
    azs: list[tuple[float, float]] = []  # per edge: azimuth at its start, at its end
    for (x0, y0), (x1, y1) in itertools.pairwise(coords):
        az0, _back, length = GEOD.inv(x0, y0, x1, y1)
        n = max(1, math.ceil(length / step))
        on, off = [], []
        az_end = az0
        for k in range(n + 1):
            x, y, back = GEOD.fwd(x0, y0, az0, length * k / n)
            az = az0 if k == 0 else back + 180.0
            on.append((x, y))
            ox, oy, _b = GEOD.fwd(x, y, az + turn, reach)
            off.append((ox, oy))
            az_end = az
        pieces.append(shapely.Polygon(on + off[::-1]))
        azs.append((az0, az_end))

    def fan(x: float, y: float, a0: float, a1: float) -> None:
        sweep = (a1 - a0) % 360.0 if turn > 0 else (a0 - a1) % 360.0
        if sweep <= 0.0 or sweep >= 180.0:
            return  # the inner side of a bend: the strips overlap there already
        n = max(2, math.ceil(sweep / 2.0))
        arc = []
        for k in range(n + 1):
            a = a0 + (sweep * k / n if turn > 0 else -sweep * k / n)
            ax, ay, _b = GEOD.fwd(x, y, a, reach)
            arc.append((ax, ay))
        pieces.append(shapely.Polygon([(x, y), *arc]))

    for i in range(1, len(coords) - 1):
        fan(*coords[i], azs[i - 1][1] + turn, azs[i][0] + turn)
    # past the ends: from the edge's perpendicular round to the edge continued
    fan(*coords[0], azs[0][0] + 180.0, azs[0][0] + turn)
    fan(*coords[-1], azs[-1][1] + turn, azs[-1][1])
    return shapely.unary_union(pieces)


# -- the database -----------------------------------------------------------------------------
SCHEMA = """
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE sites (id text, owner text, forces bool, geog geography, radius float8, during tstzrange);
CREATE TABLE fire_effects (id text, owner text, geog geography, radius float8, during tstzrange);
CREATE TABLE fire_trajectories (id text, owner text, geog geography, radius float8, during tstzrange,
                                lo float8, hi float8);
CREATE TABLE movement_parts (id text, owner text, geog geography, radius float8, during tstzrange);
CREATE TABLE flight_parts (id text, owner text, geog geography, radius float8, during tstzrange,
                           lo float8, hi float8);
CREATE TABLE area_measures (id text, kind text, owner text, binds_mode text, binds text[],
                            geog geography, radius float8, during tstzrange, lo float8, hi float8);
CREATE TABLE line_far (id text, party text, applies_to text[], geog geography, during tstzrange);
"""
TABLES = {
    "sites": ("id", "owner", "forces", "geog", "radius", "during"),
    "fire_effects": ("id", "owner", "geog", "radius", "during"),
    "fire_trajectories": ("id", "owner", "geog", "radius", "during", "lo", "hi"),
    "movement_parts": ("id", "owner", "geog", "radius", "during"),
    "flight_parts": ("id", "owner", "geog", "radius", "during", "lo", "hi"),
}


def psql(sql: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                   check=True, stdout=subprocess.DEVNULL)


def load_db(conn: psycopg.Connection[Any], decls: list[Declaration], ms: list[Measure]) -> dict[str, float]:
    """Create, fill and index the tables; return the largest radius of each."""
    with conn.cursor() as cur:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                cur.execute(statement)
        rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for d in decls:
            for table, row in parts(d):
                rows[table].append(row)
        max_r: dict[str, float] = {}
        for table, cols in TABLES.items():
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows[table]:
                    copy.write_row([row[c] for c in cols])
            max_r[table] = max((r["radius"] for r in rows[table]), default=0.0)
        rows.clear()
        for m in ms:
            if m.kind.is_line:
                for party, side in m.sides:
                    band = far_band(m.geometry.coords, side.other, m.application_m)  # type: ignore[union-attr]
                    cur.execute("INSERT INTO line_far VALUES (%s, %s, %s, ST_GeogFromText(%s), %s::tstzrange)",
                                (m.id, party, sorted(k.value for k in m.applies_to),
                                 "SRID=4326;" + band.wkt, rng(m.window.start, m.window.end)))
                continue
            band_lo = m.altitude.lower_m if m.altitude else None
            band_hi = m.altitude.upper_m if m.altitude else None
            cur.execute("INSERT INTO area_measures VALUES (%s,%s,%s,%s,%s,ST_GeogFromText(%s),%s,%s::tstzrange,%s,%s)",
                        (m.id, m.kind.value, m.owner, m.binds.mode.value, sorted(m.binds.parties),
                         ewkt(m.geometry), m.half_width_m, rng(m.window.start, m.window.end),
                         band_lo, band_hi))
        max_r["area_measures"] = max((m.half_width_m for m in ms), default=0.0)
        for table in (*TABLES, "area_measures", "line_far"):
            cur.execute(f"CREATE INDEX ON {table} USING gist (geog, during)")
            cur.execute(f"ANALYZE {table}")
    conn.commit()
    return max_r


# -- the rules as SQL -------------------------------------------------------------------------
# One statement per kind of activity part: every rule that part takes part in, UNION ALL,
# the part's geography given as EWKT text. Parameters: g (the part, EWKT), r (its radius), t0, t1
# (its window), owner, lo, hi (its band, 3D rules), reach_<table> (the index's reach: r + the
# table's largest radius + the horizontal margin), hm, tm, vm (the margins), tol (the touch
# tolerance), atol (the altitude tolerance). Each row: rule (or measure kind), id, strict.
PAIR_SQL = """
SELECT '{rule}', id, (during && tstzrange(%(t0)s, %(t1)s))
           AND ST_DWithin(geog, %(g)s::geography, radius + %(r)s + %(tol)s){strict3d}
FROM {table}
WHERE owner <> %(owner)s {extra}
  AND during && tstzrange(%(t0)s - %(tm)s::interval, %(t1)s + %(tm)s::interval)
  AND ST_DWithin(geog, %(g)s::geography, %(reach_{table})s)
  AND ST_DWithin(geog, %(g)s::geography, radius + %(r)s + %(hm)s){where3d}"""
STRICT_3D = " AND greatest(0, lo - %(hi)s, %(lo)s - hi) <= %(atol)s"
WHERE_3D = "\n  AND greatest(0, lo - %(hi)s, %(lo)s - hi) <= %(vm)s + %(atol)s"

AREA_SQL = """
SELECT kind, id, (during && tstzrange(%(t0)s, %(t1)s))
           AND ST_DWithin(geog, %(g)s::geography, radius + %(r)s + %(tol)s){strict3d}
FROM area_measures
WHERE kind IN ({kinds})
  AND (binds_mode = 'all' OR (binds_mode = 'all_but_owner' AND owner <> %(owner)s)
       OR %(owner)s = ANY(binds))
  AND during && tstzrange(%(t0)s - %(tm)s::interval, %(t1)s + %(tm)s::interval)
  AND ST_DWithin(geog, %(g)s::geography, %(reach_area_measures)s)
  AND ST_DWithin(geog, %(g)s::geography, radius + %(r)s + %(hm)s){where3d}"""
LINE_SQL = """
SELECT 'deconfliction-line-far-side', id,
       (during && tstzrange(%(t0)s, %(t1)s)) AND ST_DWithin(geog, %(g)s::geography, %(r)s + %(tol)s)
FROM line_far
WHERE party = %(owner)s AND '{kind}' = ANY(applies_to)
  AND during && tstzrange(%(t0)s - %(tm)s::interval, %(t1)s + %(tm)s::interval)
  AND ST_DWithin(geog, %(g)s::geography, %(r)s + %(hm)s)"""

SITE_FORCES = "AND forces"
#: activity part -> [(object table, rule, 3D, extra condition on the object)]
PAIRS: dict[str, list[tuple[str, str, bool, str]]] = {
    "fire_effects": [("sites", "fire-effects-on-site", False, ""),
                     ("movement_parts", "fire-effects-on-movement", False, "")],
    "fire_trajectories": [("flight_parts", "fire-trajectory-through-flight", True, "")],
    "sites": [("fire_effects", "fire-effects-on-site", False, "")],
    "forces_sites": [("fire_effects", "fire-effects-on-site", False, ""),
                     ("movement_parts", "movement-into-forces-site", False, "")],
    "movement_parts": [("fire_effects", "fire-effects-on-movement", False, ""),
                       ("sites", "movement-into-forces-site", False, SITE_FORCES)],
    "flight_parts": [("flight_parts", "flight-into-flight", True, ""),
                     ("fire_trajectories", "fire-trajectory-through-flight", True, "")],
}
#: area measures per activity part: (kinds, 3D)
AREAS = {
    "fire_effects": (["no_fire_area", "restrictive_fire_area"], False),
    "flight_parts": (["restricted_operations_zone"], True),
}
#: the deconfliction line's applies_to, per activity part (the theatre's line: the default)
LINE_KIND = {"fire_effects": "fire", "movement_parts": "movement", "sites": "site",
             "forces_sites": "site", "flight_parts": "flight"}
PAIR_RULE_KIND = "conflict"
MEASURE_RULES = {"no_fire_area": ("no-fire-area", "violation"),
                 "restrictive_fire_area": ("restrictive-fire-area", "coordination_required"),
                 "restricted_operations_zone": ("restricted-operations-zone", "violation"),
                 "deconfliction-line-far-side": ("deconfliction-line-far-side", "violation")}
SEVERITY = {"caution": 1, "coordination_required": 2, "conflict": 3, "violation": 4}


def statement(key: str) -> str:
    parts = [PAIR_SQL.format(rule=rule, table=table, extra=extra,
                             strict3d=STRICT_3D if three_d else "", where3d=WHERE_3D if three_d else "")
             for table, rule, three_d, extra in PAIRS[key]]
    if key in AREAS:
        kinds, three_d = AREAS[key]
        parts.append(AREA_SQL.format(kinds=", ".join(f"'{k}'" for k in kinds),
                                     strict3d=STRICT_3D if three_d else "",
                                     where3d=WHERE_3D if three_d else ""))
    if key in LINE_KIND:
        parts.append(LINE_SQL.format(kind=LINE_KIND[key]))
    return "\nUNION ALL".join(parts)


class PostGIS:
    def __init__(self, conn: psycopg.Connection[Any], margins: CautionMargins, max_r: dict[str, float]):
        self.conn = conn
        self.max_r = max_r
        self.base = {"tm": timedelta(minutes=margins.minutes), "hm": margins.horizontal_m,
                     "vm": margins.vertical_m, "tol": TOUCH_M, "atol": ALTITUDE_TOLERANCE_M}
        self.sql = {key: statement(key) for key in PAIRS}

    def check(self, activity: Declaration) -> set[Key]:
        best: dict[tuple[str, str], str] = {}
        cur = self.conn.cursor()
        for table, row in parts(activity):
            t0, t1 = row["during"][1:-1].split(",")
            r = row["radius"]
            p = {**self.base, "g": row["geog"], "r": r, "owner": activity.owner,
                 "t0": datetime.fromisoformat(t0), "t1": datetime.fromisoformat(t1),
                 "lo": row.get("lo"), "hi": row.get("hi")}
            for other, mr in self.max_r.items():
                p[f"reach_{other}"] = r + mr + self.base["hm"]
            key = "forces_sites" if table == "sites" and row["forces"] else table
            for what, oid, strict in cur.execute(self.sql[key], p):
                rule, rule_kind = MEASURE_RULES.get(what, (what, PAIR_RULE_KIND))
                if strict:
                    kind = rule_kind
                elif rule_kind == "coordination_required":
                    continue  # cautions flag near-conflicts and near-violations only
                else:
                    kind = "caution"
                old = best.get((oid, rule))
                if old is None or SEVERITY[kind] > SEVERITY[old]:
                    best[(oid, rule)] = kind
        return {(oid, rule, kind) for (oid, rule), kind in best.items()}


# -- the run -----------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(q / 100.0 * len(s) + 0.5) - 1))]


def engine_keys(engine: Engine, activity: Declaration) -> set[Key]:
    return {(f.object_id, f.rule, f.kind.value) for f in engine.check(activity).findings}


def run(args: argparse.Namespace) -> dict[str, Any]:
    margins = CautionMargins()
    t = time.perf_counter()
    decls = Theatre(args.seed).declarations(args.size)
    acts = Theatre(args.seed + 1).declarations(args.checks, "q")
    batch = Theatre(args.seed + 2).declarations(args.batch, "b")
    ms = measures()
    print(f"theatre: {args.size:,} declarations in {time.perf_counter() - t:.0f} s", flush=True)

    engine = Engine(margins)
    for party in PARTIES:
        engine.add_party(party)
    for m in ms:
        engine.add_measure(m)
    t = time.perf_counter()
    engine.load(decls)
    engine_build = time.perf_counter() - t
    print(f"engine: built in {engine_build:.1f} s", flush=True)

    db = f"dcf_i10_{os.getpid()}"
    psql(f"CREATE DATABASE {db}")
    try:
        conn = psycopg.connect(f"host=127.0.0.1 dbname={db} user=postgres", prepare_threshold=0)
        conn.execute("SET plan_cache_mode = force_generic_plan")
        t = time.perf_counter()
        max_r = load_db(conn, decls, ms)
        pg_build = time.perf_counter() - t
        print(f"postgis: loaded and indexed in {pg_build:.1f} s", flush=True)
        del decls
        pg = PostGIS(conn, margins, max_r)
        for a in Theatre(args.seed + 1000).declarations(200, "w"):  # warm-up, both
            engine.check(a)
            pg.check(a)
        lat_e: list[list[float]] = [[] for _ in acts]
        lat_p: list[list[float]] = [[] for _ in acts]
        diffs: list[dict[str, Any]] = []
        decisions_e: dict[int, set[Key]] = {}
        decisions_p: dict[int, set[Key]] = {}
        by_kind: dict[int, str] = {i: a.kind.value for i, a in enumerate(acts)}
        block = args.block
        for rnd in range(args.rounds):
            for b0 in range(0, len(acts), block):
                order = ("e", "p") if (b0 // block + rnd) % 2 == 0 else ("p", "e")
                for who in order:
                    for i in range(b0, min(b0 + block, len(acts))):
                        a = acts[i]
                        s = time.perf_counter()
                        keys = engine_keys(engine, a) if who == "e" else pg.check(a)
                        (lat_e if who == "e" else lat_p)[i].append(time.perf_counter() - s)
                        if rnd == 0:
                            (decisions_e if who == "e" else decisions_p)[i] = keys
            print(f"round {rnd + 1}/{args.rounds} done", flush=True)
        for i, a in enumerate(acts):
            if decisions_e[i] != decisions_p[i]:
                diffs.append({"activity": a.id, "kind": a.kind.value,
                              "engine_only": sorted(decisions_e[i] - decisions_p[i]),
                              "postgis_only": sorted(decisions_p[i] - decisions_e[i])})
        med_e = [statistics.median(v) * 1e3 for v in lat_e]
        med_p = [statistics.median(v) * 1e3 for v in lat_p]
        kinds = sorted(set(by_kind.values()))
        per_kind = {k: {"engine_p50": statistics.median([med_e[i] for i in by_kind if by_kind[i] == k]),
                        "postgis_p50": statistics.median([med_p[i] for i in by_kind if by_kind[i] == k]),
                        "engine_mean": statistics.fmean([med_e[i] for i in by_kind if by_kind[i] == k]),
                        "postgis_mean": statistics.fmean([med_p[i] for i in by_kind if by_kind[i] == k]),
                        "n": sum(1 for i in by_kind if by_kind[i] == k)} for k in kinds}
        # throughput: one batch each, engine first then PostGIS then engine again (median of 2)
        thr_e = []
        for _ in range(2):
            s = time.perf_counter()
            engine.check_many(batch)
            thr_e.append(len(batch) / (time.perf_counter() - s))
            s = time.perf_counter()
            for a in batch:
                pg.check(a)
            thr_p = len(batch) / (time.perf_counter() - s)
        findings = Counter(k[2] for ks in decisions_e.values() for k in ks)
        conn.close()
    finally:
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    out = {
        "size": args.size, "checks": len(acts), "rounds": args.rounds, "block": block,
        "engine_build_s": engine_build, "postgis_build_s": pg_build,
        "engine": {"p50": pct(med_e, 50), "p90": pct(med_e, 90), "p99": pct(med_e, 99), "max": max(med_e)},
        "postgis": {"p50": pct(med_p, 50), "p90": pct(med_p, 90), "p99": pct(med_p, 99), "max": max(med_p)},
        "by_kind": per_kind,
        "throughput": {"engine_check_many": statistics.median(thr_e), "postgis_loop": thr_p},
        "findings": dict(findings), "differences": diffs,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--checks", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=2_000, help="activities in the throughput batch")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--block", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    # A SIGTERM unwinds like Ctrl-C, so the database is dropped on the way out.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    out = run(args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"postgis-{args.size}.json").write_text(json.dumps(out, indent=1, default=str))
    e, p = out["engine"], out["postgis"]
    print(f"engine  p50 {e['p50']:.3f} ms  p99 {e['p99']:.3f} ms   build {out['engine_build_s']:.1f} s")
    print(f"postgis p50 {p['p50']:.3f} ms  p99 {p['p99']:.3f} ms   build {out['postgis_build_s']:.1f} s")
    for k, v in out["by_kind"].items():
        print(f"  {k:9s} n={v['n']:5d} engine p50 {v['engine_p50']:.3f} mean {v['engine_mean']:.3f}  "
              f"postgis p50 {v['postgis_p50']:.3f} mean {v['postgis_mean']:.3f}")
    thr = out["throughput"]
    print(f"throughput: engine check_many {thr['engine_check_many']:.0f}/s, postgis {thr['postgis_loop']:.0f}/s")
    print(f"findings {out['findings']}; decisions differing: {len(out['differences'])}")
    for d in out["differences"][:20]:
        print("  ", d)


if __name__ == "__main__":
    main()
