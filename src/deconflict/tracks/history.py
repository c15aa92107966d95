"""Track history: who was where, kept for the retention, at most one point per asset per interval.

The tracker keeps each asset's recent trail in memory (what the map draws) and,
when given a file, writes every kept point to SQLite (beside the store,
``<store>.tracks.sqlite3``), so an incident review still has them after a
restart. Memory is bounded: per asset at most ``trail_s / every_s`` points
(and the retention); the file by the retention (older points are deleted, at
most once a minute). The log is not the place: it would grow by every fix of
every asset; the alerts it keeps say what mattered when it mattered.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: At most this many points in one answer.
MAX_POINTS = 50_000
#: Old points are deleted at most this often (seconds).
PRUNE_EVERY_S = 60.0


def micros(t: datetime) -> int:
    return (t - _EPOCH) // timedelta(microseconds=1)


def from_micros(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class Point:
    uid: str
    party: str  # "" for an aircraft no party owns
    t: datetime
    lon: float
    lat: float
    alt_m: float  # NaN on the ground

    def to_json(self) -> dict[str, object]:
        return {"uid": self.uid, "time": self.t.isoformat().replace("+00:00", "Z"), "lon": self.lon, "lat": self.lat,
                "alt_m": None if math.isnan(self.alt_m) else self.alt_m}


class History(Protocol):
    """Where the kept points go: a file beside an SQLite store (:class:`HistoryFile`), or
    the PostgreSQL store's own database (``tracks/history_pg.py``)."""

    def add(self, points: Iterable[Point]) -> None: ...
    def prune(self, before: datetime) -> None: ...
    def points(self, uids: list[str] | None, since: datetime, until: datetime, limit: int) -> list[Point]: ...
    def parties(self) -> dict[str, str]: ...
    def close(self) -> None: ...


class HistoryFile:
    """The points on disk: one SQLite table, written in one transaction per batch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a crash may lose the last moments of trails, not the log
        self._db.execute("CREATE TABLE IF NOT EXISTS point (uid TEXT NOT NULL, party TEXT NOT NULL, "
                         "t INTEGER NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL, alt REAL)")
        self._db.execute("CREATE INDEX IF NOT EXISTS point_uid_t ON point (uid, t)")
        self._db.execute("CREATE INDEX IF NOT EXISTS point_t ON point (t)")
        # Each uid's party, kept apart so that asking who is on file does not scan the points.
        self._db.execute("CREATE TABLE IF NOT EXISTS asset (uid TEXT PRIMARY KEY, party TEXT NOT NULL)")
        self._pruned = 0.0

    def add(self, points: Iterable[Point]) -> None:
        rows = [(p.uid, p.party, micros(p.t), p.lon, p.lat, None if math.isnan(p.alt_m) else p.alt_m)
                for p in points]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO point VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._db.executemany("INSERT OR IGNORE INTO asset VALUES (?, ?)", {(r[0], r[1]) for r in rows})
            self._db.execute("COMMIT")

    def prune(self, before: datetime) -> None:
        now = time.monotonic()
        if now - self._pruned < PRUNE_EVERY_S:
            return
        self._pruned = now
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM point WHERE t < ?", (micros(before),))
            # Assets left with no point go too (a flood of invented uids leaves nothing behind).
            self._db.execute("DELETE FROM asset WHERE NOT EXISTS (SELECT 1 FROM point WHERE point.uid = asset.uid)")
            self._db.execute("COMMIT")

    def points(self, uids: list[str] | None, since: datetime, until: datetime, limit: int) -> list[Point]:
        lo, hi = micros(since), micros(until)
        with self._lock:
            if uids is None:
                cur = self._db.execute("SELECT uid, party, t, lon, lat, alt FROM point WHERE t >= ? AND t <= ? "
                                       "ORDER BY uid, t LIMIT ?", (lo, hi, limit))
                rows = cur.fetchall()
            else:
                rows = []
                for uid in uids:
                    cur = self._db.execute("SELECT uid, party, t, lon, lat, alt FROM point WHERE uid = ? AND "
                                           "t >= ? AND t <= ? ORDER BY t LIMIT ?", (uid, lo, hi, limit - len(rows)))
                    rows.extend(cur.fetchall())
                    if len(rows) >= limit:
                        break
        return [Point(u, p, from_micros(t), lon, lat, math.nan if alt is None else alt)
                for u, p, t, lon, lat, alt in rows]

    def parties(self) -> dict[str, str]:
        """Each uid on file and its party (for assets the tracker no longer holds)."""
        with self._lock:
            return dict(self._db.execute("SELECT uid, party FROM asset").fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()
