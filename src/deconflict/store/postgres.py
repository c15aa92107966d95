"""The server store: the event log and current state in one PostgreSQL database
that several service processes, on several hosts, share.

It behaves as :class:`~deconflict.store.sqlite.SQLiteStore` does (same events,
same canonical bytes, same hash chain, same state, snapshots and ``as_of``)
and keeps to SQL that CockroachDB and YugabyteDB also speak (docs/store.md,
"Portable SQL"):

- Every write is one ``SERIALIZABLE`` transaction, retried with backoff on
  serialization failures and deadlocks (SQLSTATE 40001, 40P01). It locks the
  one ``head`` row first (``SELECT ... FOR UPDATE``), so events are numbered
  without gaps or repeats whoever writes, and refuses a stale decision
  (``append(after=seq)``) exactly as SQLite does.
- A writer that decides (check, then accept) holds :meth:`exclusive`: a
  transaction of its own holding ``SELECT ... FOR UPDATE`` on rows of the
  ``locks`` table, taken in sorted order. No advisory locks. A process that
  dies loses its connection and PostgreSQL releases its rows.
- Followers read the log by sequence number, which is the truth (no
  LISTEN/NOTIFY is needed for correctness; see docs/store.md).
- A lost connection (a restart, a failover) is re-opened on the next call; the
  call that met it raises :class:`StoreUnavailable` (HTTP 503, retryable).
  A commit whose answer was lost is resolved by reading the log back on the
  new connection, so the caller is told what happened, never a guess.

Only :mod:`deconflict.errors` exceptions leave this module.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from deconflict.engine.cells import EVERYTHING, GLOBAL, Claim
from deconflict.errors import DeconflictError, InvalidInput, NotFound, StoreError, TamperedLog
from deconflict.model import CautionMargins, Declaration, Measure, Party
from deconflict.model.time import require_utc
from deconflict.store import _pg_schema as schema
from deconflict.store import startup
from deconflict.store._pg_merkle import PgLog
from deconflict.store.documents import decode_declaration, decode_measure, decode_party
from deconflict.store.events import (
    GENESIS_HASH,
    ChainCheck,
    Event,
    EventDraft,
    check_draft,
    format_instant,
    parse_instant,
    read_event,
    stored_event_hash,
)
from deconflict.store.note import Verifier
from deconflict.store.sqlite import Snapshot, StaleWrite
from deconflict.store.state import (
    Change,
    PutDeclaration,
    PutMeasure,
    PutParty,
    RemoveDeclaration,
    RemoveMeasure,
    SetMargins,
    State,
    decode_change,
    decode_margins,
)
from deconflict.store.vouch import Report

Clock = Callable[[], datetime]
T = TypeVar("T")

#: Serialization failures and deadlocks: the transaction is retried this many times.
MAX_ATTEMPTS = 12
#: First backoff after a serialization failure; doubled each time, with jitter.
BACKOFF_S = 0.002
BACKOFF_MAX_S = 0.25
#: How long a lost commit is looked for on a new connection (a failover takes seconds).
RESOLVE_S = 30.0
#: Connect timeout; keepalives make a dead peer (a host gone) show within about 10 s.
CONNECT_TIMEOUT_S = 5
#: Readers kept open for reuse (each one is a server process on the database).
IDLE_READERS = 2
#: Rows streamed per round trip from a server-side cursor.
FETCH_ROWS = 2000
#: Bytes per row of the start-up snapshot (store/startup.py).
SNAPSHOT_CHUNK = 8 << 20

_SELECT_EVENTS = f"SELECT {schema.EVENT_COLUMNS} FROM events"
_GAP = f"{_SELECT_EVENTS} WHERE seq > %s ORDER BY seq"
_LOCK_ROWS = "SELECT key FROM locks WHERE key = ANY(%s) ORDER BY key FOR UPDATE"
_SHARE_ROWS = "SELECT key FROM locks WHERE key = ANY(%s) ORDER BY key FOR SHARE"
_RETRY = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
_cursor_ids = itertools.count(1)
#: The channel appends NOTIFY on (one per database; a wake-up from another schema is harmless).
NOTIFY_CHANNEL = "deconflict_log"
#: How long a follower waits before listening again when the database is away.
LISTEN_RETRY_S = 1.0


class StoreUnavailable(StoreError):
    """The database cannot be reached now (restarting, failing over); nothing was
    written, try again."""


def _now() -> datetime:
    return datetime.now(UTC)


def is_url(spec: object) -> bool:
    return isinstance(spec, str) and spec.startswith(("postgresql://", "postgres://"))


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "a PostgreSQL database"
    return f"PostgreSQL database {info.get('dbname', '?')!s} on {info.get('host', 'localhost')!s}"


class _Prepared:
    __slots__ = ("change", "data", "draft", "text")

    def __init__(self, draft: EventDraft, text: str, data: dict[str, Any], change: Change | None) -> None:
        self.draft = draft
        self.text = text
        self.data = data
        self.change = change


class _Lost(Exception):
    """The connection went away during COMMIT (internal): ``events`` may or may not be recorded."""

    def __init__(self, exc: BaseException, events: list[Event]) -> None:
        super().__init__(_first_line(exc))
        self.events = events


class PostgresStore:
    """The event log and current state in one PostgreSQL database. Thread-safe."""

    def __init__(self, url: str, *, clock: Clock | None = None, trace: bool = False, notify: bool = True,
                 keys: Path | None = None) -> None:
        """``keys``: this host's copy of the log's key file (store/_pg_merkle.py);
        default ``DECONFLICT_LOG_KEYS``, else a file in the user's data folder.
        ``notify``: NOTIFY followers at each append (plain PostgreSQL only)."""
        self.url = url
        self.path = describe(url)
        self._clock = clock or _now
        self._lock = threading.Lock()  # the write connection
        self._writer = threading.RLock()
        self._writer_depth = 0
        self._held: Claim = EVERYTHING
        #: Lock rows known to exist (rows are never deleted).
        self._known_rows: set[str] = {GLOBAL}
        self._db: psycopg.Connection[Any] | None = None
        #: The last append's read of others' events before it: (the head then, their rows).
        self._gap: tuple[int, int, list[Any]] | None = None
        #: The backend of the connection appends go through (0: none yet).
        self._writer_pid = 0
        self._lockdb: psycopg.Connection[Any] | None = None
        self._idle: list[psycopg.Connection[Any]] = []
        self._idle_lock = threading.Lock()
        self._closed = False
        #: Whether appends NOTIFY (plain PostgreSQL only: a wake-up, never the truth).
        self._notify = notify
        self._plain = False  # plain PostgreSQL (not CockroachDB, YugabyteDB): known once open
        self._listener: psycopg.Connection[Any] | None = None
        self._listen_lock = threading.Lock()
        #: Every statement issued, with the id of its connection, when ``trace``
        #: (the portability test reads it).
        self.statements: list[tuple[int, str]] | None = [] if trace else None
        self._log = PgLog(self, keys)
        try:
            self._open()
            self._log.upgrade()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresStore({self.path!r})"

    # -- connections -------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        try:
            return psycopg.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3,
                application_name="deconflict",
            )
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot connect to the {self.path}: {_first_line(exc)}") from None

    def _exec(self, db: psycopg.Connection[Any], sql: str, params: Sequence[Any] | None = None
              ) -> psycopg.Cursor[Any]:
        if self.statements is not None:
            self.statements.append((id(db), sql))
        return db.execute(sql, params)

    def _one(self, db: psycopg.Connection[Any], sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first row of ``sql`` (one that always has a row)."""
        row = self._exec(db, sql, params).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: {sql!r} gave no row; the store's tables are damaged")
        return row

    def _one_binary(self, db: psycopg.Connection[Any], sql: str, params: Sequence[Any]) -> Any:
        """The first row of ``sql`` (one that always has a row), its values in binary."""
        if self.statements is not None:
            self.statements.append((id(db), sql))
        row = db.cursor(binary=True).execute(sql, params).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: {sql!r} gave no row; the store's tables are damaged")
        return row

    def _conn(self) -> psycopg.Connection[Any]:
        db = self._db
        if db is None or db.closed or db.broken:
            self._drop(db)
            db = self._db = self._connect()
            # Its appends' NOTIFYs are this process's own: no follower need wake for them.
            self._writer_pid = db.info.backend_pid
        return db

    @staticmethod
    def _drop(db: psycopg.Connection[Any] | None) -> None:
        if db is not None:
            with contextlib.suppress(Exception):
                db.close()

    def _failed(self, db: psycopg.Connection[Any] | None, what: str, exc: psycopg.Error) -> StoreError:
        """The error to raise for ``exc``; a connection that broke is dropped."""
        lost = db is None or db.closed or db.broken or isinstance(exc, psycopg.OperationalError)
        if lost:
            if db is self._db:
                self._db = None
            self._drop(db)
            return StoreUnavailable(f"{self.path}: {what}: the database is unreachable "
                                    f"({_first_line(exc)}); try again")
        return StoreError(f"{self.path}: {what}: {_first_line(exc)}")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            db = self._conn()
            try:
                return self._exec(db, sql, params).fetchall()
            except psycopg.Error as exc:
                raise self._failed(db, "cannot read the store", exc) from None

    @contextlib.contextmanager
    def _reader(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection with one read-only REPEATABLE READ transaction: a
        consistent snapshot a long stream can hold while others append."""
        with self._idle_lock:
            db = self._idle.pop() if self._idle else None
        if db is None or db.closed or db.broken:
            db = self._connect()
        ok = False
        try:
            try:
                self._exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            except psycopg.Error as exc:
                raise self._failed(db, "cannot read the store", exc) from None
            yield db
            ok = True
        finally:
            with contextlib.suppress(psycopg.Error):
                self._exec(db, "ROLLBACK")
            with self._idle_lock:
                if ok and not db.broken and not self._closed and len(self._idle) < IDLE_READERS:
                    self._idle.append(db)
                    db = None
            self._drop(db)

    def _stream(self, db: psycopg.Connection[Any], sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """Rows of ``sql`` from a server-side cursor (inside a :meth:`_reader`)."""
        if self.statements is not None:
            self.statements.append((id(db), sql))
        with db.cursor(name=f"dcf_{next(_cursor_ids)}") as cur:
            cur.itersize = FETCH_ROWS
            cur.execute(sql, params)
            yield from cur

    # -- opening -------------------------------------------------------------------
    def _open(self) -> None:
        for attempt in range(MAX_ATTEMPTS):
            with self._lock:
                db = self._conn()
                try:
                    self._exec(db, "BEGIN ISOLATION LEVEL SERIALIZABLE")
                    self._migrate(db)
                    self._exec(db, "COMMIT")
                    text = str(self._one(db, "SELECT version()")[0])
                    # CockroachDB and YugabyteDB have no LISTEN/NOTIFY, nor synchronous_commit.
                    self._plain = "CockroachDB" not in text and "YB-" not in text
                    self._notify = self._notify and self._plain
                    return
                except (*_RETRY, pg_errors.UniqueViolation, pg_errors.DuplicateTable,
                        pg_errors.DuplicateObject) as exc:
                    # Another process creating the store at the same moment.
                    self._rollback(db)
                    if attempt == MAX_ATTEMPTS - 1:
                        raise self._failed(db, "cannot create the store", exc) from None
                except psycopg.Error as exc:
                    self._rollback(db)
                    raise self._failed(db, "cannot open the store", exc) from None
                except BaseException:
                    self._rollback(db)
                    raise
            _backoff(attempt)

    def _rollback(self, db: psycopg.Connection[Any]) -> None:
        with contextlib.suppress(psycopg.Error):
            self._exec(db, "ROLLBACK")

    def _migrate(self, db: psycopg.Connection[Any]) -> None:
        tables = {r[0] for r in self._exec(
            db, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
        if tables and "schema_migrations" not in tables:
            raise StoreError(f"{self.path} holds tables but is not a Deconflict store")
        if not tables:
            self._exec(db, """CREATE TABLE schema_migrations (
                version     INT PRIMARY KEY,
                description TEXT NOT NULL,
                applied_at  TEXT NOT NULL
            )""")
            done = 0
        else:
            done = int(self._one(db, "SELECT coalesce(max(version), 0) FROM schema_migrations")[0])
            if done > schema.SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer Deconflict (store schema {done}; this version "
                    f"reads up to {schema.SCHEMA_VERSION}); upgrade Deconflict")
            if done:
                row = self._exec(db, "SELECT value FROM meta WHERE key = 'application'").fetchone()
                if row is None or row[0] != schema.APPLICATION:
                    raise StoreError(f"{self.path} holds tables but is not a Deconflict store")
        plain = None
        for version, description, script in schema.MIGRATIONS:
            statements = script
            if version <= done:
                continue
            if version in schema.POSTGRES_ONLY:
                if plain is None:
                    text = str(self._one(db, "SELECT version()")[0])
                    plain = "CockroachDB" not in text and "YB-" not in text
                if not plain:
                    statements = ()
            if version in schema.POSTGIS and statements and not self._exec(
                    db, "SELECT name FROM pg_available_extensions WHERE name = 'postgis'").fetchall():
                continue  # applied on a later opening, once PostGIS is installed
            for statement in statements:
                self._exec(db, statement)
            self._exec(db, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (%s, %s, %s)",
                       (version, description, format_instant(_now())))

    def schema_version(self) -> int:
        return int(self._query("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0])

    # -- writing ---------------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self, claim: Claim | None = None) -> Iterator[None]:
        """Be the only writer deciding on the rows of ``claim`` (every row, through
        the global one, when none is given), across threads, processes and hosts,
        until the block ends. Reentrant within a thread: an inner block keeps the
        outer block's rows and must need no more (engine/cells.py)."""
        with self._writer:
            self._writer_depth += 1
            try:
                if self._writer_depth == 1:
                    self._held = claim or EVERYTHING
                    self._take(self._held)
                elif claim is not None and not self._held.covers(claim):
                    raise StoreError(f"{self.path}: a nested lock asked for rows the outer lock does not hold")
                try:
                    yield
                finally:
                    if self._writer_depth == 1:
                        self._release()
            finally:
                self._writer_depth -= 1

    def _take(self, claim: Claim) -> None:
        db = self._lockdb
        if db is None or db.closed or db.broken:
            self._drop(db)
            db = self._lockdb = self._connect()
            # A new connection may follow a crash or a failover that lost rows.
            self._known_rows = {GLOBAL}
            if self._plain:
                # This connection commits only the lock rows it makes on first use:
                # one lost in a crash is made again (and a missing row is found
                # below), so its commit need not wait for a WAL flush (a cold cell
                # cost one fsync per decision).
                self._exec(db, "SET synchronous_commit = off")
        rows = claim.rows()
        # Cell rows are made on first use, outside the locking transaction (which
        # then only reads); rows this process has seen need no statement.
        new = [k for k, _x in rows if k not in self._known_rows]
        try:
            for _attempt in range(MAX_ATTEMPTS):
                locked: list[psycopg.Cursor[Any]] = []
                with db.pipeline() as pipe:  # one round trip
                    if new:
                        self._exec(db, "INSERT INTO locks (key) SELECT unnest(%s::text[])"
                                   " ON CONFLICT (key) DO NOTHING", (new,))
                        pipe.sync()  # its own transaction, committed before the locking one begins
                    self._exec(db, "BEGIN ISOLATION LEVEL SERIALIZABLE")
                    # Sorted by key, so two writers never wait on each other in a cycle;
                    # one statement per run of rows of one mode, in that order.
                    for exclusive, run in itertools.groupby(rows, key=lambda r: r[1]):
                        keys = [k for k, _x in run]
                        locked.append(self._exec(db, _LOCK_ROWS if exclusive else _SHARE_ROWS, (keys,)))
                held = {r[0] for cur in locked for r in cur.fetchall()}
                if len(held) == len(rows):
                    self._known_rows.update(new)
                    return
                # A row this process thought made is missing (lost in a crash): a
                # lock on nothing would guard nothing. Make them all, lock again.
                self._exec(db, "ROLLBACK")
                new = [k for k, _x in rows]
            raise StoreError(f"{self.path}: cannot lock the store for writing: lock rows keep vanishing")
        except psycopg.Error as exc:
            self._rollback(db)
            if db.broken or isinstance(exc, psycopg.OperationalError):
                self._lockdb = None
                self._drop(db)
                raise StoreUnavailable(f"{self.path}: cannot lock the store for writing: the database is "
                                       f"unreachable ({_first_line(exc)}); try again") from None
            raise StoreError(f"{self.path}: cannot lock the store for writing: {_first_line(exc)}") from None

    def holding(self) -> Claim | None:
        """The rows this thread's :meth:`exclusive` block holds (None outside one)."""
        return self._held if self._writer_depth else None

    def _release(self) -> None:
        db = self._lockdb
        if db is None:
            return
        try:
            # ROLLBACK, not COMMIT: locking rows gave the transaction an id, and
            # committing it would wait for a WAL flush (an fsync per decision)
            # for nothing worth keeping. Either ends it and releases the rows.
            self._exec(db, "ROLLBACK")
        except psycopg.Error:
            # The rows are released with the connection either way.
            self._lockdb = None
            self._drop(db)

    def append(self, drafts: Sequence[EventDraft], *, after: int | None = None) -> list[Event]:
        """Record ``drafts`` as consecutive events, in one transaction, as
        :meth:`SQLiteStore.append` does; returns after the commit."""
        prepared = [self._prepare(d, f"drafts[{i}]") for i, d in enumerate(drafts)]
        if not prepared:
            return []
        return self._append(lambda _start: prepared, after)

    def append_numbered(self, build: Callable[[int], Sequence[EventDraft]]) -> list[Event]:
        """Record the drafts ``build(first)`` gives, ``first`` being the number the
        first of them gets: for a decision taken under cell rows, while others
        append elsewhere, whose events name their own numbers (references).
        ``build`` runs while the head row is held, and again if the transaction
        is retried: it must be quick and depend on nothing but its argument."""
        return self._append(lambda start: [self._prepare(d, f"drafts[{i}]") for i, d in enumerate(build(start))],
                            None)

    def _append(self, prepare: Callable[[int], list[_Prepared]], after: int | None) -> list[Event]:
        with self._lock:
            for attempt in range(MAX_ATTEMPTS):
                db = self._conn()
                try:
                    out = self._write(db, prepare, after)
                except _RETRY as exc:
                    self._rollback(db)
                    if attempt == MAX_ATTEMPTS - 1:
                        raise self._failed(db, "cannot append; nothing was written", exc) from None
                    _backoff(attempt)
                    continue
                except _Lost as lost:
                    return self._resolve(lost)
                except psycopg.Error as exc:
                    self._rollback(db)
                    raise self._failed(db, "cannot append; nothing was written", exc) from None
                except BaseException:
                    self._rollback(db)
                    raise
                return out
        raise AssertionError("unreachable")

    @staticmethod
    def _prepare(draft: EventDraft, where: str) -> _Prepared:
        text = check_draft(draft, where)
        data: dict[str, Any] = json.loads(text)
        change = decode_change(draft.type, draft.subject, data, where)
        return _Prepared(draft, text, data, change)

    def _write(self, db: psycopg.Connection[Any], prepare: Callable[[int], list[_Prepared]],
               after: int | None) -> list[Event]:
        known = self._log.known_size()
        since: list[tuple[int, str]] = []
        self._gap = None
        with db.pipeline():  # one round trip
            self._exec(db, "BEGIN ISOLATION LEVEL SERIALIZABLE")
            # Others' events since this process last appended, in the snapshot the
            # head row is locked in (a head row moved since fails the lock, and the
            # write is retried): the tree's edge grows by them (reading the tree's
            # rows back cost two round trips whenever another process had appended
            # in between), and the service folds them in (store.events_between).
            # Before the lock, not after: a statement a failed one aborts in a
            # pipeline would leave psycopg believing it prepared it.
            gap = None if known is None else db.cursor()
            if gap is not None:
                if self.statements is not None:
                    self.statements.append((id(db), _GAP))
                gap.execute(_GAP, (known,))
            head = self._exec(db, "SELECT seq, recorded_at, hash FROM head WHERE id = 1 FOR UPDATE")
        row = head.fetchone()
        if row is None:
            raise StoreError(f"{self.path}: the head row is missing; the store's tables are damaged")
        if gap is not None and known is not None:
            others = gap.fetchall()
            since = [(int(r[0]), str(r[7])) for r in others]
            self._gap = (known, int(row[0]), others)
        seq, last_at, prev = int(row[0]), str(row[1]), str(row[2])
        if after is not None and seq != after:
            raise StaleWrite(after, seq)
        prepared = prepare(seq + 1)
        if not prepared:
            self._rollback(db)
            return []
        self._log.prepare(db, seq + 1, since)
        try:
            now = require_utc(self._clock(), "clock")
        except (InvalidInput, AttributeError, TypeError) as exc:
            raise StoreError(f"the store's clock did not give a UTC time: {exc}") from None
        at = max(format_instant(now), last_at)
        when = parse_instant(at)
        out: list[Event] = []
        rows: list[tuple[Any, ...]] = []
        for p in prepared:
            d = p.draft
            seq += 1
            digest = stored_event_hash(seq, at, d.type, d.actor, d.subject, p.text, prev)
            rows.append((seq, at, d.type, d.actor, d.subject, p.text, prev, digest))
            out.append(Event(seq, when, d.type, d.actor, d.subject, p.data, prev, digest))
            prev = digest
        insert = f"INSERT INTO events ({schema.EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        if self.statements is not None:
            self.statements.append((id(db), insert))
        removals: list[tuple[psycopg.Cursor[Any], RemoveMeasure | RemoveDeclaration]] = []
        # A removal's row count decides whether to commit (NotFound: nothing
        # written), so it is read first; without one (a batch of submits), the
        # COMMIT goes in the same round trip as the rows. An error in a
        # pipeline skips what follows it, the COMMIT too: nothing is written.
        commit_now = not any(isinstance(p.change, RemoveMeasure | RemoveDeclaration) for p in prepared)
        try:
            with db.pipeline():  # the rows, the state and the head in one round trip
                with db.cursor() as cur:
                    cur.executemany(insert, rows)
                for p, e in zip(prepared, out, strict=True):
                    if p.change is not None:
                        cur = db.cursor()
                        self._put(cur, p.change, e.seq, p.text)
                        if isinstance(p.change, RemoveMeasure | RemoveDeclaration):
                            removals.append((cur, p.change))
                self._exec(db, "UPDATE head SET seq = %s, recorded_at = %s, hash = %s WHERE id = 1",
                           (seq, at, prev))
                self._log.queue(db, out, at)  # the tree and the signed checkpoint (store/_pg_merkle.py)
                if self._notify:
                    # Delivered at the commit, to wake other processes' followers early.
                    self._exec(db, f"NOTIFY {NOTIFY_CHANNEL}")
                if commit_now:
                    self._exec(db, "COMMIT")
        except _RETRY:
            raise
        except psycopg.Error as exc:
            if commit_now and (db.broken or isinstance(exc, psycopg.OperationalError)):
                raise _Lost(exc, out) from None  # the COMMIT may have been sent: look, never guess
            raise
        if not commit_now:
            for cur, change in removals:
                if cur.rowcount == 0:
                    raise NotFound("measure" if isinstance(change, RemoveMeasure) else "declaration", change.id)
            try:
                self._exec(db, "COMMIT")
            except _RETRY:
                raise
            except psycopg.Error as exc:
                if db.broken or isinstance(exc, psycopg.OperationalError):
                    raise _Lost(exc, out) from None
                raise
        self._log.committed()
        return out

    def _put(self, cur: psycopg.Cursor[Any], change: Change, seq: int, doc: str) -> None:
        """Queue the state-table change (in the write's pipeline); a removal's
        row count is checked by the caller once the pipeline has run."""
        def run(sql: str, params: Sequence[Any]) -> None:
            if self.statements is not None:
                self.statements.append((id(cur.connection), sql))
            cur.execute(sql, params)

        if isinstance(change, PutParty):
            p = change.party
            run("INSERT INTO parties (id, name, kind, seq, doc) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,"
                " seq = excluded.seq, doc = excluded.doc", (p.id, p.name, p.kind.value, seq, doc))
        elif isinstance(change, SetMargins):
            run("INSERT INTO meta (key, value) VALUES ('margins', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (doc,))
        elif isinstance(change, PutMeasure | PutDeclaration):
            x = change.measure if isinstance(change, PutMeasure) else change.declaration
            table = "measures" if isinstance(change, PutMeasure) else "declarations"
            run(f"INSERT INTO {table} (id, kind, owner, window_start, window_end, seq, doc)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,"
                " owner = excluded.owner, window_start = excluded.window_start,"
                " window_end = excluded.window_end, seq = excluded.seq, doc = excluded.doc",
                (x.id, x.kind.value, x.owner, format_instant(x.window.start), format_instant(x.window.end),
                 seq, doc))
        elif isinstance(change, RemoveMeasure):
            run("DELETE FROM measures WHERE id = %s", (change.id,))
        else:
            run("DELETE FROM declarations WHERE id = %s", (change.id,))

    def _resolve(self, lost: _Lost) -> list[Event]:
        """The connection broke during COMMIT: the events are in the log or not.
        Look on a new connection (the promoted standby after a failover) for the
        last one's hash, which names this very write (it covers the time and the
        previous hash), until :data:`RESOLVE_S`; say which, never guess."""
        self._drop(self._db)
        self._db = None
        last = lost.events[-1]
        deadline = time.monotonic() + RESOLVE_S
        while True:
            try:
                db = self._conn()
                row = self._exec(db, "SELECT hash FROM events WHERE seq = %s", (last.seq,)).fetchone()
                break
            except (StoreError, psycopg.Error):
                self._drop(self._db)
                self._db = None
                if time.monotonic() > deadline:
                    raise StoreError(f"{self.path}: the database went away while committing and has not come "
                                     f"back to say whether the events were recorded ({lost.args[0]})") from None
                time.sleep(0.2)
        if row is not None and row[0] == last.hash:
            return lost.events
        raise StoreUnavailable(f"{self.path}: the database went away while committing; the events were not "
                               "recorded; nothing was written, try again")

    # -- waking followers ------------------------------------------------------------------
    def wait_for_log(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for another append (a NOTIFY); True if one
        came. Only a hint to look early: a NOTIFY may be lost (a dropped connection,
        a writer that does not send it, an engine without LISTEN), so a follower
        reads the log by sequence number whatever this says, at least every
        ``timeout``.

        A NOTIFY sent by this store's own appends wakes nobody: the service that
        appended has folded its events in already (a wake-up for each of its own
        batches cost a read of the log that found nothing)."""
        if not self._notify:
            time.sleep(timeout)
            return False
        deadline = time.monotonic() + timeout
        with self._listen_lock:
            db = self._listener
            try:
                if db is None or db.closed or db.broken:
                    self._drop(db)
                    db = self._listener = self._connect()
                    self._exec(db, f"LISTEN {NOTIFY_CHANNEL}")
                while (left := deadline - time.monotonic()) > 0:
                    came = list(db.notifies(timeout=left, stop_after=1))
                    if not came:
                        return False
                    if any(n.pid != self._writer_pid for n in came):
                        return True
                return False
            except (psycopg.Error, StoreError):
                self._drop(db)
                self._listener = None
        if not self._closed:
            time.sleep(min(timeout, LISTEN_RETRY_S))  # the database is away: the caller polls
        return False

    # -- the log -------------------------------------------------------------------------
    def events(self, *, after_seq: int = 0) -> Iterator[Event]:
        with self._reader() as db:
            try:
                for row in self._stream(db, f"{_SELECT_EVENTS} WHERE seq > %s ORDER BY seq", (after_seq,)):
                    yield read_event(*row)
            except psycopg.Error as exc:
                raise self._failed(db, "cannot read the events", exc) from None

    def events_after(self, seq: int) -> list[Event]:
        return [read_event(*row) for row in self._query(f"{_SELECT_EVENTS} WHERE seq > %s ORDER BY seq", (seq,))]

    def events_between(self, after: int, before: int) -> list[Event]:
        """The events numbered after ``after`` and before ``before``: those others
        appended just before this store's last append are the ones it read with
        the head row (no round trip); any others are read."""
        with self._lock:
            gap = self._gap
        if gap is not None and gap[0] <= after and gap[1] == before - 1:
            return [read_event(*r) for r in gap[2] if after < r[0] < before]
        return [read_event(*row) for row in self._query(
            f"{_SELECT_EVENTS} WHERE seq > %s AND seq < %s ORDER BY seq", (after, before))]

    def data_version(self) -> int:
        """The number of the last event: it changes whenever anyone appends."""
        return int(self._query("SELECT seq FROM head WHERE id = 1")[0][0])

    def news(self, after: int, seen: int | None) -> tuple[int | None, list[Event]]:
        """The events after ``after``, read at once: asking the head row first
        costs the same round trip, and a second one whenever the log moved (with
        several processes, nearly every time)."""
        return None, self.events_after(after)

    def head(self) -> Event | None:
        rows = self._query(f"{_SELECT_EVENTS} ORDER BY seq DESC LIMIT 1")
        return read_event(*rows[0]) if rows else None

    def verify(self) -> int:
        chain = ChainCheck()
        with self._reader() as db:
            try:
                recorded = self._exec(db, "SELECT seq, hash FROM head WHERE id = 1").fetchone()
                for row in self._stream(db, f"{_SELECT_EVENTS} ORDER BY seq"):
                    chain.feed(*row)
            except psycopg.Error as exc:
                raise self._failed(db, "cannot read the events", exc) from None
        head_seq, head_hash = (int(recorded[0]), str(recorded[1])) if recorded else (0, GENESIS_HASH)
        if chain.seq < head_seq:
            raise TamperedLog(
                chain.seq + 1,
                f"the log ends at event {chain.seq} but the last append recorded {head_seq} events: "
                f"events {chain.seq + 1} to {head_seq} are missing",
            )
        if chain.seq > head_seq:
            raise TamperedLog(head_seq + 1, f"events after {head_seq} were not written by the store's appends")
        if chain.hash != head_hash:
            raise TamperedLog(chain.seq, "the last event's hash is not the one recorded at the last append")
        return chain.seq

    # -- paging, and what this store can prove ------------------------------------------
    def events_page(self, after_seq: int, limit: int) -> list[Event]:
        """At most ``limit`` events with ``seq > after_seq``: a resumed stream pages."""
        return [read_event(*row) for row in
                self._query(f"{_SELECT_EVENTS} WHERE seq > %s ORDER BY seq LIMIT %s", (after_seq, limit))]

    def log_span(self) -> tuple[str | None, str | None]:
        first = self._query("SELECT recorded_at FROM events ORDER BY seq LIMIT 1")
        last = self._query("SELECT recorded_at FROM events ORDER BY seq DESC LIMIT 1")
        return (str(first[0][0]) if first else None, str(last[0][0]) if last else None)

    # The Merkle log, its keys, receipts and witnesses: store/_pg_merkle.py.
    def vouch(self, *, held: Sequence[str] = (), keys: Sequence[Verifier] = (),
              base: startup.Base | None = None) -> Report:
        """Check the log, its checkpoints, its tree and the state tables
        (:mod:`deconflict.store.vouch`); raises :class:`TamperedLog` naming the first bad event."""
        return self._log.vouch(held, keys, base)

    # -- start-up snapshots (store/startup.py) --------------------------------------
    def key_file(self) -> Path:
        """The signing key file of this host (store/keys.py)."""
        return self._log.keys_path

    def put_startup(self, body: bytes) -> None:
        """Keep ``body`` as the database's start-up snapshot, replacing the last one
        in one transaction (processes on every host start from it), unless that one
        was taken at a later event. Writers do not hold the store's lock rows
        (Deconflict.write_snapshot): two may overlap, and SERIALIZABLE makes one
        of them retry, which then finds the other's snapshot and compares."""
        # Compressed (level 1, about a quarter of the bytes for the documents) before
        # the transaction: every process that joins reads it over the network.
        rows = [(i, zlib.compress(body[at:at + SNAPSHOT_CHUNK], 1))
                for i, at in enumerate(range(0, len(body), SNAPSHOT_CHUNK))]
        seq = startup.peek_seq(memoryview(body))

        def run(db: psycopg.Connection[Any]) -> None:
            first = self._exec(db, "SELECT body FROM startup_snapshot WHERE part = 0").fetchone()
            if first is not None:
                try:
                    head = zlib.decompressobj().decompress(first[0], startup.PEEK_BYTES)
                except zlib.error:
                    head = b""  # unreadable: replaced
                if not startup.newer(seq, startup.peek_seq(memoryview(head))):
                    return
            self._exec(db, "DELETE FROM startup_snapshot")
            with db.cursor() as cur:
                sql = "INSERT INTO startup_snapshot (part, body) VALUES (%s, %s)"
                if self.statements is not None:
                    self.statements.append((id(db), sql))
                cur.executemany(sql, rows)
        self._log._transaction(run, "cannot keep the start-up snapshot")

    def startup_buffer(self) -> memoryview | None:
        """The start-up snapshot, read once into an unnamed file and mapped; None when there is none."""
        with self._reader() as db:
            try:
                # A chunk per round trip (a cursor's batch would hold the whole
                # snapshot in this process's memory at once), in binary (text
                # would be hex: twice the bytes, encoded there and decoded here),
                # inflated on threads while the next ones come.
                parts = [int(r[0]) for r in self._exec(db, "SELECT part FROM startup_snapshot ORDER BY part")]
                return startup.read_chunks((self._one_binary(
                    db, "SELECT body FROM startup_snapshot WHERE part = %s", (p,))[0] for p in parts),
                    zlib.decompress)
            except psycopg.Error as exc:
                raise self._failed(db, "cannot read the start-up snapshot", exc) from None
            except zlib.error as exc:
                raise startup.SnapshotMismatch(f"{self.path}: the start-up snapshot's rows cannot be "
                                               f"decompressed ({exc}): refused; delete them to start cold") from None

    def drop_startup(self) -> None:
        self._log._transaction(lambda db: self._exec(db, "DELETE FROM startup_snapshot"),
                               "cannot drop the start-up snapshot")

    def event_row(self, seq: int) -> tuple[Any, ...] | None:
        """Event ``seq``'s stored fields, unchecked (None if there is none)."""
        rows = self._query(f"{_SELECT_EVENTS} WHERE seq = %s", (seq,))
        return tuple(rows[0]) if rows else None

    def verifiers(self) -> list[Verifier]:
        return self._log.verifiers()

    def rotate_key(self) -> Verifier:
        return self._log.rotate()

    def check_signing(self) -> None:
        self._log.check_signing()

    def checkpoint(self) -> tuple[int, str] | None:
        return self._log.checkpoint()

    def published_checkpoint(self) -> str | None:
        return self._log.published()

    def receipt(self, seq: int) -> dict[str, Any]:
        made = self.receipts([seq])
        if seq not in made:
            raise NotFound("event", str(seq))
        return made[seq]

    def receipts(self, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
        return self._log.receipts(seqs)

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        return self._log.inclusion_proof(seq, size)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return self._log.consistency_proof(old, new)

    def add_cosignature(self, size: int, text: str, key: str, line: str) -> None:
        self._log.add_cosignature(size, text, key, line)

    def cosignatures(self, size: int, text: str) -> list[str]:
        return self._log.cosignatures(size, text)

    def witness_keys(self) -> list[str]:
        return self._log.witness_keys()

    def state_as_of(self, instant: datetime) -> State:
        cut = format_instant(require_utc(instant, "instant"))
        state = State()
        chain = ChainCheck()
        with self._reader() as db:
            try:
                for row in self._stream(db, f"{_SELECT_EVENTS} ORDER BY seq"):
                    if isinstance(row[1], str) and row[1] > cut:
                        break
                    event = chain.feed(*row)
                    try:
                        state.apply(event)
                    except (InvalidInput, NotFound) as exc:
                        raise StoreError(
                            f"{self.path}: event {event.seq} ({event.type}) cannot be replayed: {exc}"
                        ) from None
            except psycopg.Error as exc:
                raise self._failed(db, "cannot read the events", exc) from None
        return state

    # -- current state ------------------------------------------------------------------
    def _decode_doc(self, decode: Callable[[object, str], T], what: str, ident: object, doc: object) -> T:
        try:
            if not isinstance(doc, str):
                raise TypeError(f"the document is {type(doc).__name__}, not text")
            return decode(json.loads(doc), "")
        except (ValueError, TypeError, DeconflictError) as exc:
            raise StoreError(f"{self.path}: the stored {what} {ident!r} cannot be read: {exc}") from None

    def parties(self) -> list[Party]:
        rows = self._query("SELECT id, doc FROM parties ORDER BY id")
        return [self._decode_doc(decode_party, "party", ident, doc) for ident, doc in rows]

    def measures(self) -> list[Measure]:
        rows = self._query("SELECT id, doc FROM measures ORDER BY id")
        return [self._decode_doc(decode_measure, "measure", ident, doc) for ident, doc in rows]

    def declarations(self) -> Iterator[Declaration]:
        with self._reader() as db:
            yield from self._declarations(db)

    def _declarations(self, db: psycopg.Connection[Any]) -> Iterator[Declaration]:
        loads = json.loads
        try:
            for ident, doc in self._stream(db, "SELECT id, doc FROM declarations ORDER BY id"):
                try:
                    decl = decode_declaration(loads(doc))
                except (ValueError, TypeError, DeconflictError) as exc:
                    raise StoreError(
                        f"{self.path}: the stored declaration {ident!r} cannot be read: {exc}"
                    ) from None
                yield decl
        except psycopg.Error as exc:
            raise self._failed(db, "cannot read the declarations", exc) from None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        with self._reader() as db:
            try:
                head = int(self._one(db, "SELECT seq FROM head WHERE id = 1")[0])
                parties = [self._decode_doc(decode_party, "party", i, d)
                           for i, d in self._exec(db, "SELECT id, doc FROM parties ORDER BY id")]
                measures = [self._decode_doc(decode_measure, "measure", i, d)
                            for i, d in self._exec(db, "SELECT id, doc FROM measures ORDER BY id")]
                row = self._exec(db, "SELECT value FROM meta WHERE key = 'margins'").fetchone()
            except psycopg.Error as exc:
                raise self._failed(db, "cannot read the store", exc) from None
            margins = None if row is None else self._decode_doc(decode_margins, "settings", "margins", row[0])
            yield Snapshot(head, parties, measures, margins, self._declarations(db))

    def count_declarations(self) -> int:
        return int(self._query("SELECT count(*) FROM declarations")[0][0])

    def margins(self) -> CautionMargins | None:
        rows = self._query("SELECT value FROM meta WHERE key = 'margins'")
        if not rows:
            return None
        return self._decode_doc(decode_margins, "settings", "margins", rows[0][0])

    # -- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._closed = True
            db, self._db = self._db, None
            self._drop(db)
            lockdb, self._lockdb = self._lockdb, None
            self._drop(lockdb)
            listener, self._listener = self._listener, None
            self._drop(listener)
            with self._idle_lock:
                idle, self._idle = self._idle, []
            for c in idle:
                self._drop(c)
            self._log.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0.5, 1.0) * min(BACKOFF_S * (2 ** attempt), BACKOFF_MAX_S))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

