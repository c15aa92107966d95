"""A/B in one process: ``Tracker.process`` with the asset bound's bookkeeping (the
claim that keeps the recency orders, issue 11) against the claim before it (a dict
lookup), alternated, 12 rounds, CPU time per report; then each claim alone.

    PYTHONPATH=src:. .venv/bin/python bench/tracks_asset_bound.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.tracks.conftest import world

from deconflict.tracks.report import Report
from deconflict.tracks.tracker import Asset, Tracker

N = 10_000
ROUNDS = 12
T = datetime(2018, 2, 7, 12, tzinfo=UTC)


def old_claim(self: Tracker, r: Report) -> Asset | None:
    a = self.assets.get(r.uid)
    if a is None:
        a = self.assets[r.uid] = Asset(r.uid, r.party, r.air)
        return a
    if a.party != r.party:
        self.stats.uid_taken += 1
        return None
    return a


def grid(t: datetime, step: int = 1) -> list[Report]:
    # Far from every measure of the Euphrates scenario: the judging's fixed cost.
    return [Report("sdf", f"a{j}", 38.0 + (j % 100) * 0.01, 37.0 + (j // 100) * 0.01, t, False)
            for j in range(0, N, step)]


def main() -> None:
    new_claim: Callable[[Tracker, Report], Asset | None] = Tracker.claim
    gen = world(Path(tempfile.mkdtemp()) / "b.sqlite3")
    tr = next(gen).tracker
    all_reports = grid(T)
    for k in range(0, N, 500):
        tr.process(all_reports[k:k + 500])
    res: dict[str, list[float]] = {"new": [], "old": []}
    t = T
    for rnd in range(ROUNDS):
        order = [("new", new_claim), ("old", old_claim)]
        for name, claim in order if rnd % 2 else order[::-1]:
            Tracker.claim = claim  # type: ignore[method-assign]
            t += timedelta(seconds=2)
            batch = grid(t, 20)
            c0 = time.process_time()
            tr.process(batch)
            res[name].append((time.process_time() - c0) / len(batch) * 1e6)
    Tracker.claim = new_claim  # type: ignore[method-assign]
    for name, v in res.items():
        print(f"{name}: process() median {statistics.median(v):.2f} µs/report (CPU), {len(v)} rounds")
    r = Report("sdf", "a5", 38.0, 37.0, t, False)
    for name, claim in (("new", new_claim), ("old", old_claim)):
        c0 = time.process_time()
        for _ in range(200_000):
            claim(tr, r)
        print(f"{name}: claim alone {(time.process_time() - c0) / 200_000 * 1e9:.0f} ns")
    print("load average", os.getloadavg())
    gen.close()


if __name__ == "__main__":
    main()
