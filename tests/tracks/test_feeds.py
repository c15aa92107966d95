"""Flood fairness: bounded queues that drop with counters, taken from in turn."""

from __future__ import annotations

from datetime import UTC, datetime

from deconflict.tracks.feeds import FairQueue
from deconflict.tracks.report import Report

T = datetime(2018, 2, 7, tzinfo=UTC)


def _r(uid: str) -> Report:
    return Report("p", uid, 40.0, 35.0, T, False)


def test_a_flood_fills_only_its_own_queue_and_the_canary_goes_first() -> None:
    q = FairQueue(per_feed=100, quantum=10)
    flood, canary = q.open("flood", "p"), q.open("canary", "q")
    for k in range(1000):
        q.put(flood, _r(f"f{k}"))
    assert q.put_many(canary, [_r("c0"), _r("c1")]) == 2
    assert (flood.accepted, flood.dropped, len(flood.queue)) == (100, 900, 100)
    batch = q.take(0.0)
    assert [r.uid for r in batch if r.uid.startswith("c")] == ["c0", "c1"]  # in the first round
    assert len(batch) == 12  # one quantum from the flood, the canary's two
    q.close(flood)
    while q.take(0.0):
        pass
    assert q.totals() == {"accepted": 102, "dropped": 900, "malformed": 0, "oversized": 0}
    assert [f["feed"] for f in q.feeds()] == ["canary"]
