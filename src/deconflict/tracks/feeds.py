"""Flood fairness: a bounded queue per feed, taken from in turn.

A feed (one connection, one UDP credential, the SBS-1 source, an HTTP caller)
puts its reports in its own queue of at most ``per_feed``; a full queue drops
the new report and counts it. The evaluator takes up to ``quantum`` reports
from each non-empty queue in turn, so one feed sending a million reports a
second delays another feed's next report by at most one quantum per busy feed,
and memory stays bounded by ``per_feed`` times the number of feeds (itself
bounded by the servers' connection limits).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from deconflict.tracks.report import Report

DEFAULT_PER_FEED = 20_000
DEFAULT_QUANTUM = 512
MAX_BATCH = 8_192


@dataclass(eq=False)
class Feed:
    name: str
    party: str
    credential: str = ""
    queue: deque[Report] = field(default_factory=deque)
    accepted: int = 0
    dropped: int = 0
    malformed: int = 0
    oversized: int = 0
    closed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"feed": self.name, "party": self.party or None, "queued": len(self.queue), "accepted": self.accepted,
                "dropped": self.dropped, "malformed": self.malformed, "oversized": self.oversized}


class FairQueue:
    def __init__(self, per_feed: int = DEFAULT_PER_FEED, quantum: int = DEFAULT_QUANTUM) -> None:
        self.per_feed = per_feed
        self.quantum = quantum
        self._feeds: list[Feed] = []
        self._cv = threading.Condition()
        self._next = 0
        self.retired: dict[str, int] = {"accepted": 0, "dropped": 0, "malformed": 0, "oversized": 0}

    def open(self, name: str, party: str, credential: str = "") -> Feed:
        feed = Feed(name, party, credential)
        with self._cv:
            self._feeds.append(feed)
        return feed

    def close(self, feed: Feed) -> None:
        """The feed ends; what it queued is still judged."""
        feed.closed = True

    def put(self, feed: Feed, report: Report) -> bool:
        if len(feed.queue) >= self.per_feed:
            feed.dropped += 1
            return False
        feed.queue.append(report)
        feed.accepted += 1
        with self._cv:
            self._cv.notify()
        return True

    def put_many(self, feed: Feed, reports: list[Report]) -> int:
        room = max(0, self.per_feed - len(feed.queue))
        took = reports[:room]
        feed.queue.extend(took)
        feed.accepted += len(took)
        feed.dropped += len(reports) - len(took)
        if took:
            with self._cv:
                self._cv.notify()
        return len(took)

    def take(self, timeout: float) -> list[Report]:
        """Up to ``quantum`` from each feed in turn (round robin), at most MAX_BATCH."""
        with self._cv:
            if not any(f.queue for f in self._feeds):
                self._cv.wait(timeout)
            out: list[Report] = []
            feeds = self._feeds
            n = len(feeds)
            for k in range(n):
                if len(out) >= MAX_BATCH:
                    break
                f = feeds[(self._next + k) % n]
                q = f.queue
                for _ in range(min(self.quantum, len(q), MAX_BATCH - len(out))):
                    out.append(q.popleft())
            self._next = (self._next + 1) % max(1, n)
            # Closed and drained feeds leave (their counters are kept in total).
            for f in [f for f in feeds if f.closed and not f.queue]:
                feeds.remove(f)
                for key in self.retired:
                    self.retired[key] += getattr(f, key)
            return out

    def feeds(self) -> list[dict[str, Any]]:
        with self._cv:
            return [f.to_json() for f in self._feeds]

    def totals(self) -> dict[str, int]:
        with self._cv:
            out = dict(self.retired)
            for f in self._feeds:
                for key in out:
                    out[key] += getattr(f, key)
            return out
