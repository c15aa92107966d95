"""The map in headless Chromium with 10,000 declarations in the picture.

Measures, for the map built in ``src/deconflict/web/static`` (or another build
given with ``--static``, e.g. an older checkout's, for a side-by-side run):

* **ready**: from navigation start to the map signed in with every declaration
  loaded and a frame drawn (``performance.now()`` in the page), median of
  ``--repeat`` fresh pages;
* **frame time while panning and zooming**: the map's view is moved on every
  animation frame (a circle of 200 px with the zoom breathing by half) for
  ``--frames`` frames; a frame's time is the interval between two animation
  frames, so it includes drawing the previous view. p50 and p95 over the frames
  of every page, and the median of the pages' p95.

The server is real (uvicorn on loopback, SQLite store in a temporary folder)
and the theatre is bench/synth.py's (seed 1), signed in as an administrator so
the whole picture is sent. Chromium is Debian's (``/usr/bin/chromium``) driven
by Playwright, as in tests/web. Targets (issue 14): ready in at most 2 s, p95
frame time at most 50 ms.

    PYTHONPATH=src .venv/bin/python bench/map.py [--declarations 10000] [--static DIR]
"""

from __future__ import annotations

import argparse
import json
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

DRIVE = """async (frames) => {
  const v = window.deconflict.state.view;
  const start = { cx: v.cx, cy: v.cy, scale: v.scale };
  const lonlat = (cx, cy) => [cx * 360 - 180, Math.atan(Math.sinh(Math.PI * (1 - 2 * cy))) * 180 / Math.PI];
  const times = [];
  let last = performance.now();
  for (let i = 0; i < frames; i += 1) {
    await new Promise((r) => requestAnimationFrame(r));
    const now = performance.now();
    times.push(now - last);
    last = now;
    const a = (i / frames) * 2 * Math.PI;
    const scale = start.scale * (1 + 0.5 * Math.sin(2 * a));
    const cx = start.cx + (Math.cos(a) * 200) / scale;
    const cy = start.cy + (Math.sin(a) * 200) / scale;
    window.deconflict.setView(lonlat(cx, cy), scale);
  }
  return times.slice(2);
}"""


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        service = Deconflict(SQLiteStore(Path(tmp) / "map.sqlite3"))
        service.apply([Change(party=p) for p in synth.PARTIES] + [Change(measure=m) for m in synth.measures()])
        decls = synth.Theatre(1).declarations(args.declarations)
        for i in range(0, len(decls), 2000):
            service.apply([Change(declaration=d) for d in decls[i:i + 2000]])
        hotline = Hotline(service)
        admin = hotline.issue_credential(None, "", "bench", Role.ADMIN)[1]
        app = create_app(hotline)
        mount(app, static=Path(args.static) if args.static else None)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/"
        ready: list[float] = []
        p95s: list[float] = []
        frames: list[float] = []
        drawn: list[int] = []
        profile = tempfile.mkdtemp(prefix="deconflict-bench-")
        try:
            with sync_playwright() as p:
                context = p.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, headless=True, args=ARGS,
                    viewport={"width": 1366, "height": 860})
                context.add_init_script(f"sessionStorage.setItem('deconflict.token', {json.dumps(admin)})")
                for _ in range(args.repeat):
                    page = context.new_page()
                    page.goto(url, wait_until="commit")
                    page.wait_for_function(
                        "(n) => window.deconflict && window.deconflict.ready"
                        " && window.deconflict.state.declarations.length >= n", arg=args.declarations, timeout=120_000)
                    ready.append(page.evaluate(
                        "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame("
                        "() => r(performance.now()))))"))
                    drawn.append(page.evaluate("document.querySelectorAll('#map .obj').length"))
                    times = page.evaluate(DRIVE, args.frames)
                    frames.extend(times)
                    p95s.append(pct(times, 95))
                    page.close()
                context.close()
        finally:
            server.should_exit = True
            thread.join(10)
            service.close()
    return {
        "declarations": args.declarations, "static": args.static or "src/deconflict/web/static",
        "pages": args.repeat, "frames_per_page": args.frames,
        "ready_ms_median": round(statistics.median(ready)), "ready_ms": [round(r) for r in ready],
        "frame_ms_p50": round(pct(frames, 50), 1), "frame_ms_p95": round(pct(frames, 95), 1),
        "frame_ms_p95_median_of_pages": round(statistics.median(p95s), 1),
        "objects_drawn_median": statistics.median(drawn),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--declarations", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5, help="fresh pages")
    ap.add_argument("--frames", type=int, default=240, help="animation frames driven per page")
    ap.add_argument("--static", default="", help="a built map to serve instead (e.g. another checkout's)")
    print(json.dumps(run(ap.parse_args()), indent=1))


if __name__ == "__main__":
    main()
