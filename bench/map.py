"""The map in headless Chromium with 10,000 declarations in the picture.

Measures, for the map built in ``src/deconflict/web/static`` (or another build
given with ``--static``, e.g. an older checkout's, for a side-by-side run):

* **ready**: from navigation start to the map signed in with every declaration
  loaded and a frame drawn (``performance.now()`` in the page), median of
  ``--repeat`` fresh pages;
* **frame time while panning and zooming**: at a busy instant (14 February
  12:00Z, about a thousand objects in force, the whole theatre in view) the
  mouse drags the map around a circle of 200 px in ``--frames`` moves, then the
  wheel zooms in and out ``--frames``/4 times, as a user does; the page records
  the interval between animation frames meanwhile (so a frame's time includes
  drawing it). p50 and p95 over the frames of every page, and the median of the
  pages' p95.

The server is real (uvicorn on loopback, SQLite store in a temporary folder)
and the theatre is bench/synth.py's (seed 1), signed in as an administrator so
the whole picture is sent. Chromium is Debian's (``/usr/bin/chromium``) driven
by Playwright, as in tests/web. Targets (issue 14): ready in at most 2 s, p95
frame time at most 50 ms.

    PYTHONPATH=src .venv/bin/python bench/map.py [--declarations 10000] [--static DIR] [--compare DIR]

With ``--compare DIR`` a second server serves that build (e.g. a copy of main's
``src/deconflict/web/static``) from the same store, and the pages alternate
between the two builds (each first every other round), so that the machine's
load falls on both alike; the 1-minute load average is recorded at each page.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # beside this file (run as a script)

from deconflict.service.auth import Role
from deconflict.service.deconflict import Change, Deconflict
from deconflict.service.hotline import Hotline
from deconflict.service.http import create_app
from deconflict.store.sqlite import SQLiteStore
from deconflict.web import mount

CHROMIUM = os.environ.get("DECONFLICT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

RECORD = """() => {
  window.__frames = [];
  window.__recording = true;
  let last = performance.now();
  const tick = () => {
    const now = performance.now();
    window.__frames.push(now - last);
    last = now;
    if (window.__recording) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def drive(page: Any, frames: int) -> list[float]:
    """Pan with the mouse (a drag around a circle of 200 px), then zoom with the wheel
    (in and out), as a user does, while the page records its frame intervals."""
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate(RECORD)
    page.mouse.move(cx + 200, cy)
    page.mouse.down()
    for i in range(frames):
        a = 2 * math.pi * i / frames
        page.mouse.move(cx + 200 * math.cos(a), cy + 200 * math.sin(a))
    page.mouse.up()
    for i in range(frames // 4):
        page.mouse.wheel(0, -120 if (i // 5) % 2 == 0 else 120)
        page.wait_for_timeout(16)
    page.wait_for_timeout(300)
    times: list[float] = page.evaluate("() => { window.__recording = false; return window.__frames.slice(2); }")
    return times


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


DRAWN = """() => window.deconflict.drawn
    ? new Set(window.deconflict.drawn().filter((f) => ['areas', 'lines', 'symbols'].includes(f.layer))
        .map((f) => f.id)).size
    : new Set([...document.querySelectorAll('#map .obj')].map((e) => e.dataset.id)).size"""


def one_page(context: Any, url: str, args: argparse.Namespace, expect: int) -> dict[str, Any]:
    """A fresh page: its time to a ready map, the objects drawn, its frame times while panning and zooming."""
    page = context.new_page()
    page.goto(url, wait_until="commit")
    page.wait_for_function(
        "(n) => window.deconflict && window.deconflict.ready"
        " && window.deconflict.state.declarations.length >= n", arg=expect, timeout=120_000)
    ready = page.evaluate(
        "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame("
        "() => r(performance.now()))))")
    # A busy instant in the middle of the theatre's four weeks, the whole theatre in view.
    page.evaluate("window.deconflict.setTime('2018-02-14T12:00:00Z')")
    page.click("#zoom-fit")
    page.wait_for_timeout(500)
    drawn = page.evaluate(DRAWN)
    times = drive(page, args.frames)
    page.close()
    return {"ready": ready, "drawn": drawn, "frames": times}


def serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/"


def summary(pages: list[dict[str, Any]], static: str) -> dict[str, Any]:
    frames = [t for p in pages for t in p["frames"]]
    return {
        "static": static, "pages": len(pages),
        "ready_ms_median": round(statistics.median(p["ready"] for p in pages)),
        "ready_ms": [round(p["ready"]) for p in pages],
        "frame_ms_p50": round(pct(frames, 50), 1), "frame_ms_p95": round(pct(frames, 95), 1),
        "frame_ms_p95_median_of_pages": round(statistics.median(pct(p["frames"], 95) for p in pages), 1),
        "objects_drawn_median": statistics.median(p["drawn"] for p in pages),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    builds = [("this", args.static or "")] + ([("other", args.compare)] if args.compare else [])
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        service = Deconflict(SQLiteStore(Path(tmp) / "map.sqlite3"))
        service.apply([Change(party=p) for p in synth.PARTIES] + [Change(measure=m) for m in synth.measures()])
        decls = synth.Theatre(1).declarations(args.declarations)
        for i in range(0, len(decls), 2000):
            service.apply([Change(declaration=d) for d in decls[i:i + 2000]])
        hotline = Hotline(service)
        admin = hotline.issue_credential(None, "", "bench", Role.ADMIN)[1]
        servers = []
        for _, static in builds:
            app = create_app(hotline)
            mount(app, static=Path(static) if static else None)
            servers.append(serve(app))
        pages: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in builds}
        profile = tempfile.mkdtemp(prefix="deconflict-bench-")
        try:
            with sync_playwright() as p:
                context = p.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, headless=True, args=ARGS,
                    viewport={"width": 1366, "height": 860})
                context.add_init_script(f"sessionStorage.setItem('deconflict.token', {json.dumps(admin)})")
                for r in range(args.repeat):
                    # Alternating, each build first every other round: the machine's load falls on both alike.
                    order = list(range(len(builds))) if r % 2 == 0 else list(reversed(range(len(builds))))
                    for i in order:
                        name = builds[i][0]
                        expect = (args.expect_other if name == "other" else args.expect) or args.declarations
                        loads.append(os.getloadavg()[0])
                        pages[name].append(one_page(context, servers[i][2], args, expect))
                context.close()
        finally:
            for server, thread, _ in servers:
                server.should_exit = True
                thread.join(10)
            service.close()
    return {
        "declarations": args.declarations, "frames_per_page": args.frames,
        "load_1min_median": round(statistics.median(loads), 2), "load_1min_range": [min(loads), max(loads)],
        "objects_in_force_at_instant": "2018-02-14T12:00Z, whole theatre in view",
        "builds": [summary(pages[name], static or "src/deconflict/web/static") for name, static in builds],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--declarations", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5, help="fresh pages")
    ap.add_argument("--frames", type=int, default=240, help="animation frames driven per page")
    ap.add_argument("--static", default="", help="a built map to serve instead (e.g. another checkout's)")
    ap.add_argument("--compare", default="",
                    help="another built map (e.g. main's src/deconflict/web/static, copied), measured alternately")
    ap.add_argument("--expect", type=int, default=0,
                    help="declarations the map is ready with (default all; 1000 for a map that reads one page)")
    ap.add_argument("--expect-other", type=int, default=0, help="--expect for the --compare build")
    print(json.dumps(run(ap.parse_args()), indent=1))


if __name__ == "__main__":
    main()
