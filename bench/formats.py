"""The GIS formats over a big picture: GET /v1/export.geojson, GET /v1/export.kml and
OGC API - Features pages (no filter, a 1-degree bbox, a datetime instant) on a real
server on loopback, with the seeded synthetic theatre of bench/synth.py loaded.

Each request is timed ``--repeat`` times; the table gives the first (cold: the
exports are then kept until the state changes) and the median of the rest, and
the body size. Usage: python bench/formats.py [--declarations 10000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # beside this file (run as a script)

from deconflict.service.auth import Role
from deconflict.service.deconflict import Change, Deconflict
from deconflict.service.hotline import Hotline
from deconflict.service.http import create_app
from deconflict.store.sqlite import SQLiteStore
from deconflict.web import mount

REQUESTS = (
    ("GeoJSON export", "/v1/export.geojson"),
    ("KML export", "/v1/export.kml"),
    ("OGC items, first page of 100", "/ogc/collections/declarations/items?limit=100"),
    ("OGC items, last page of 100", "/ogc/collections/declarations/items?limit=100&offset={last}"),
    ("OGC items, 1-degree bbox", "/ogc/collections/declarations/items?limit=1000&bbox=39.5,34.5,40.5,35.5"),
    ("OGC items, datetime instant", "/ogc/collections/declarations/items?limit=1000&datetime=2018-02-14T12:00:00Z"),
    ("OGC collections", "/ogc/collections"),
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--declarations", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        service = Deconflict(SQLiteStore(Path(tmp) / "formats.sqlite3"))
        theatre = synth.Theatre(1)
        service.apply([Change(party=p) for p in synth.PARTIES] + [Change(measure=m) for m in synth.measures()])
        decls = theatre.declarations(args.declarations)
        for i in range(0, len(decls), 2000):
            service.apply([Change(declaration=d) for d in decls[i:i + 2000]])
        hotline = Hotline(service)
        admin = hotline.issue_credential(None, "", "bench", Role.ADMIN)[1]
        app = create_app(hotline)
        mount(app)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        rows = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=120) as c:
            for name, template in REQUESTS:
                path = template.format(last=max(0, args.declarations - 100))
                times, size, extra = [], 0, ""
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    r = c.get(path)
                    times.append(time.perf_counter() - t0)
                    assert r.status_code == 200, r.text[:300]
                    size = len(r.content)
                if "items" in path:
                    extra = f"{r.json()['numberReturned']} of {r.json()['numberMatched']}"
                rows.append((name, times[0] * 1000, statistics.median(times[1:]) * 1000, size, extra))
        server.should_exit = True
        thread.join(10)
        service.close()
    print(f"{args.declarations:,} declarations, {len(synth.measures())} measures; first request, then the median "
          f"of {args.repeat - 1} more")
    print("| request | first ms | median ms | body | items |")
    print("|---|---:|---:|---:|---|")
    for name, first, ms, size, extra in rows:
        print(f"| {name} | {first:,.0f} | {ms:,.0f} | {size / 1024:,.0f} KiB | {extra} |")


if __name__ == "__main__":
    main()
