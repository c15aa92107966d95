"""Track history in a PostgreSQL store: the same points as ``<store>.tracks.sqlite3``
beside an SQLite store, in the store's own database (tables ``track_points`` and
``track_assets``, made by the store's migration 6, store/_pg_schema.py).

Kept to the store's portable SQL (docs/store.md): every write in a SERIALIZABLE
transaction retried on serialization failures, several rows per ``INSERT``
(``ON CONFLICT ... DO NOTHING``: a point already there, sent again after a
restart, is not an error), no advisory locks, no float types (coordinates as
the floats' shortest text). It has a connection of its own, so judging never
waits behind the store's writers, and goes through the store's statement trace.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg

from deconflict.errors import StoreError
from deconflict.store import postgres as pg
from deconflict.store.postgres import PostgresStore
from deconflict.tracks.history import PRUNE_EVERY_S, Point, from_micros, micros

#: Rows per INSERT statement (6 parameters each: far below PostgreSQL's 65,535).
ROWS_PER_INSERT = 500


def _text(v: float) -> str | None:
    return None if math.isnan(v) else repr(float(v))


class PgHistory:
    """The points in the store's PostgreSQL database."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.path = store.path
        self._lock = threading.Lock()
        self._db: psycopg.Connection[Any] | None = None
        self._pruned = 0.0

    # -- the connection ------------------------------------------------------------
    def _conn(self) -> psycopg.Connection[Any]:
        db = self._db
        if db is None or db.closed or db.broken:
            PostgresStore._drop(db)
            db = self._db = self.store._connect()
        return db

    def _exec(self, db: psycopg.Connection[Any], sql: str, params: Any = None) -> psycopg.Cursor[Any]:
        return self.store._exec(db, sql, params)

    def _write(self, what: str, statements: list[tuple[str, list[Any] | tuple[Any, ...]]]) -> None:
        """Run ``statements`` in one SERIALIZABLE transaction, retried as the store's writes are."""
        with self._lock:
            for attempt in range(pg.MAX_ATTEMPTS):
                db = self._conn()
                try:
                    self._exec(db, "BEGIN ISOLATION LEVEL SERIALIZABLE")
                    for sql, params in statements:
                        self._exec(db, sql, params)
                    self._exec(db, "COMMIT")
                    return
                except pg._RETRY as exc:
                    self._rollback(db)
                    if attempt == pg.MAX_ATTEMPTS - 1:
                        raise self._failed(db, what, exc) from None
                except psycopg.Error as exc:
                    self._rollback(db)
                    raise self._failed(db, what, exc) from None
                pg._backoff(attempt)

    def _rollback(self, db: psycopg.Connection[Any]) -> None:
        if not (db.closed or db.broken):
            try:
                self._exec(db, "ROLLBACK")
            except psycopg.Error:
                PostgresStore._drop(db)

    def _failed(self, db: psycopg.Connection[Any], what: str, exc: psycopg.Error) -> StoreError:
        if db.closed or db.broken or isinstance(exc, psycopg.OperationalError):
            self._db = None
            PostgresStore._drop(db)
            return pg.StoreUnavailable(f"{self.path}: {what}: the database is unreachable "
                                       f"({pg._first_line(exc)}); try again")
        return StoreError(f"{self.path}: {what}: {pg._first_line(exc)}")

    def _read(self, sql: str, params: Any) -> list[Any]:
        with self._lock:
            db = self._conn()
            try:
                return self._exec(db, sql, params).fetchall()
            except psycopg.Error as exc:
                raise self._failed(db, "cannot read the track history", exc) from None

    # -- the history --------------------------------------------------------------------
    def add(self, points: Iterable[Point]) -> None:
        rows = [(p.uid, micros(p.t), p.party, repr(float(p.lon)), repr(float(p.lat)), _text(p.alt_m))
                for p in points]
        if not rows:
            return
        statements: list[tuple[str, list[Any] | tuple[Any, ...]]] = []
        for k in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[k:k + ROWS_PER_INSERT]
            statements.append((
                "INSERT INTO track_points (uid, t, party, lon, lat, alt) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk)) + " ON CONFLICT (uid, t) DO NOTHING",
                [v for row in chunk for v in row]))
        assets = sorted({(r[0], r[2]) for r in rows})
        for k in range(0, len(assets), ROWS_PER_INSERT):
            chunk2 = assets[k:k + ROWS_PER_INSERT]
            statements.append((
                "INSERT INTO track_assets (uid, party) VALUES " + ", ".join(["(%s, %s)"] * len(chunk2))
                + " ON CONFLICT (uid) DO NOTHING",
                [v for row in chunk2 for v in row]))
        self._write("cannot write the track history", statements)

    def prune(self, before: datetime) -> None:
        """Delete the points older than ``before`` (at most once a minute), and the
        assets left with none (a flood of invented uids leaves nothing behind)."""
        now = time.monotonic()
        if now - self._pruned < PRUNE_EVERY_S:
            return
        self._pruned = now
        self._write("cannot prune the track history", [
            ("DELETE FROM track_points WHERE t < %s", (micros(before),)),
            ("DELETE FROM track_assets WHERE NOT EXISTS "
             "(SELECT 1 FROM track_points WHERE track_points.uid = track_assets.uid)", ()),
        ])

    def points(self, uids: list[str] | None, since: datetime, until: datetime, limit: int) -> list[Point]:
        lo, hi = micros(since), micros(until)
        if uids is None:
            rows = self._read("SELECT uid, party, t, lon, lat, alt FROM track_points WHERE t >= %s AND t <= %s "
                              "ORDER BY uid, t LIMIT %s", (lo, hi, limit))
        else:
            rows = []
            for uid in uids:
                rows += self._read("SELECT uid, party, t, lon, lat, alt FROM track_points WHERE uid = %s AND "
                                   "t >= %s AND t <= %s ORDER BY t LIMIT %s", (uid, lo, hi, limit - len(rows)))
                if len(rows) >= limit:
                    break
        return [Point(u, p, from_micros(int(t)), float(lon), float(lat), math.nan if alt is None else float(alt))
                for u, p, t, lon, lat, alt in rows]

    def parties(self) -> dict[str, str]:
        return dict(self._read("SELECT uid, party FROM track_assets", ()))

    def close(self) -> None:
        with self._lock:
            PostgresStore._drop(self._db)
            self._db = None
