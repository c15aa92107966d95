"""The embedded store: one SQLite file holding the event log and the current state.

Why SQLite and these settings:

- Durability: write-ahead logging with ``synchronous=FULL`` makes every commit
  fsync the WAL before it returns, so an :meth:`SQLiteStore.append` that has
  returned survives a crash or a power cut. A kill in the middle of an append
  leaves the previous commit, never half of this one.
- One writer at a time, across processes: each append is a ``BEGIN
  IMMEDIATE`` transaction, which takes SQLite's write lock before reading the
  head of the log, so two processes on one file number their events one after
  the other without gaps or repeats. A writer that decides *what* to append
  from what is in force (check, then accept) holds :meth:`exclusive` across
  both, a lock on the file ``<store>-lock`` that every append also takes, so
  that no other process appends in between (several server workers on one
  store stay serialisable). Readers (:meth:`declarations`,
  :meth:`events`, :meth:`verify`) use their own connection and transaction:
  they see one consistent snapshot and never block the writer.
- The current-state tables are written in the same transaction as the events
  that change them, so they cannot disagree with the log; :meth:`state_as_of`
  rebuilds any past state from the log alone.

Only :mod:`deconflict.errors` exceptions leave this module.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import platformdirs

from deconflict.engine.cells import Claim
from deconflict.errors import DeconflictError, InvalidInput, NotFound, StoreError, TamperedLog
from deconflict.model import CautionMargins, Declaration, Measure, Party
from deconflict.model.time import require_utc
from deconflict.store import _schema, startup, tree, vouch
from deconflict.store.documents import (
    decode_declaration,
    decode_measure,
    decode_party,
)
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
from deconflict.store.keys import KeyRing, keys_path
from deconflict.store.merkle import Frontier
from deconflict.store.note import Verifier
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

#: How long to wait for another process's write transaction before giving up.
#: Generous, because importing a large scenario is one long transaction.
BUSY_TIMEOUT_S = 60.0

Clock = Callable[[], datetime]
T = TypeVar("T")

_SELECT_EVENTS = f"SELECT {_schema.EVENT_COLUMNS} FROM events"


def _now() -> datetime:
    return datetime.now(UTC)


def _is_busy(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _sync_dir(folder: Path) -> None:
    """Make a new file's directory entry durable (POSIX only; a no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _Prepared:
    """A draft checked and decoded before the write lock is taken."""

    __slots__ = ("change", "data", "draft", "text")

    def __init__(self, draft: EventDraft, text: str, data: dict[str, Any], change: Change | None) -> None:
        self.draft = draft
        self.text = text
        self.data = data
        self.change = change


class StaleWrite(StoreError):
    """An append decided on the state after event ``expected`` while the log had
    moved on to ``head``: refused, nothing written."""

    def __init__(self, expected: int, head: int) -> None:
        self.expected = expected
        self.head = head
        super().__init__(f"decided on the state after event {expected}, but the store is at event {head}; "
                         "nothing was written")


@dataclass(frozen=True)
class Snapshot:
    """The current state after event ``seq``; ``declarations`` streams (read it
    inside the :meth:`SQLiteStore.snapshot` block)."""

    seq: int
    parties: list[Party]
    measures: list[Measure]
    margins: CautionMargins | None
    declarations: Iterator[Declaration]


class SQLiteStore:
    """The event log and current state in one SQLite file. Thread-safe."""

    def __init__(self, path: str | Path, *, clock: Clock | None = None) -> None:
        """Open the store at ``path``, creating the file and its folders if needed.

        ``clock`` gives the time events are recorded at (tests and scenario
        replays); it defaults to the system clock in UTC."""
        self.path = Path(path)
        self._clock = clock or _now
        self._lock = threading.Lock()
        self._writer = threading.RLock()
        self._writer_depth = 0
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None
        created = self._prepare_path()
        db = self._connect()
        try:
            self._open(db)
        except BaseException:
            db.close()
            raise
        self._db = db
        self._ring: KeyRing | None = None
        self._pending_note: str | None = None
        self._head_fd: int | None = None
        self._frontier: Frontier | None = None
        self._pending_frontier: Frontier | None = None
        #: The last append's receipts' material (store/tree.py: Recent), once committed.
        self._recent: tree.Recent | None = None
        self._pending_recent: tree.Recent | None = None
        self._open_tree(db)
        if created:
            _sync_dir(self.path.parent)

    @staticmethod
    def default_path() -> Path:
        return platformdirs.user_data_path("deconflict") / "deconflict.sqlite3"

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- opening ---------------------------------------------------------------------
    def _prepare_path(self) -> bool:
        p = self.path
        if p.is_dir():
            raise StoreError(f"{p} is a directory; give the path of a store file, such as {p / 'deconflict.sqlite3'}")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder {p.parent} for the store: {exc.strerror or exc}") from None
        return not p.exists()

    def _connect(self, *, uri: str | None = None) -> sqlite3.Connection:
        try:
            return sqlite3.connect(
                uri or self.path,
                timeout=BUSY_TIMEOUT_S,
                # Autocommit at the driver level: this module issues BEGIN/COMMIT itself.
                isolation_level=None,
                check_same_thread=False,
                uri=uri is not None,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {self.path}: {exc}") from None

    def _open(self, db: sqlite3.Connection) -> None:
        # Recognise the file before changing anything in it: setting WAL on
        # someone else's database would alter a file that is not ours.
        try:
            # One read transaction: another process creating the store between
            # two separate reads would look like a foreign database.
            db.execute("BEGIN")
            try:
                app_id = db.execute("PRAGMA application_id").fetchone()[0]
                tables = self._tables(db)
            finally:
                db.execute("ROLLBACK")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a Deconflict store (not an SQLite database: {exc})") from None
        self._check_ours(app_id, tables)
        try:
            mode = self._set_wal(db)
            db.execute("PRAGMA synchronous = FULL")
            # macOS: a plain fsync does not reach the disk; harmless elsewhere.
            db.execute("PRAGMA fullfsync = ON")
        except sqlite3.Error as exc:
            raise self._error("cannot open the store", exc) from None
        if str(mode).lower() != "wal":
            raise StoreError(
                f"{self.path}: the store needs write-ahead logging, which this file system does not allow "
                f"(journal mode {mode!r}); use a local disk"
            )
        # Check again under the write lock: another process may be creating the store now.
        with self._transaction(db, "cannot create the store"):
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            tables = self._tables(db)
            if not tables:
                for statement in _schema.SCHEMA:
                    db.execute(statement)
            else:
                self._check_ours(app_id, tables)
                self._check_meta(db, tables)

    @staticmethod
    def _set_wal(db: sqlite3.Connection) -> str:
        """Switch to WAL, waiting for other processes: SQLite does not call the
        busy handler for this switch, so two processes creating one store at
        the same moment would otherwise fail at once."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        delay = 0.002
        while True:
            try:
                return str(db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    @staticmethod
    def _tables(db: sqlite3.Connection) -> set[str]:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _check_ours(self, app_id: int, tables: set[str]) -> None:
        if (tables or app_id) and (app_id != _schema.APPLICATION_ID or "meta" not in tables):
            raise StoreError(f"{self.path} is an SQLite database but not a Deconflict store")

    def _check_meta(self, db: sqlite3.Connection, tables: set[str]) -> None:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("application") != _schema.APPLICATION:
            raise StoreError(f"{self.path} is an SQLite database but not a Deconflict store")
        raw = meta.get("schema_version")
        try:
            version = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise StoreError(f"{self.path}: the store's schema version {raw!r} is unreadable") from None
        if version > _schema.SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer Deconflict (store schema {version}; this version "
                f"reads schema {_schema.SCHEMA_VERSION}): upgrade Deconflict to open it"
            )
        if version < _schema.SCHEMA_VERSION:
            raise StoreError(f"{self.path}: store schema {version} is not one this version can upgrade")
        missing = {"events", "parties", "measures", "declarations"} - tables
        if missing:
            raise StoreError(f"{self.path}: the store is damaged: missing tables {', '.join(sorted(missing))}")

    # -- plumbing -------------------------------------------------------------------
    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if _is_busy(exc):
            text = f"another process kept the store locked for {BUSY_TIMEOUT_S:g} s ({text}); try again"
        return StoreError(f"{self.path}: {what}: {text}")

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(f"{self.path}: the store is closed")
        return self._db

    @contextlib.contextmanager
    def _transaction(self, db: sqlite3.Connection, what: str) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; any failure rolls everything back."""
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(what, exc) from None
        try:
            yield
            db.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._error(f"{what}; nothing was written", exc) from None
            raise

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own with one read transaction: a consistent
        snapshot that a long stream (a million declarations) can hold while
        this store, or another process, keeps appending."""
        self._conn()
        # mode=rw: if the file has vanished, fail rather than create an empty one.
        db = self._connect(uri=self.path.absolute().as_uri() + "?mode=rw")
        try:
            try:
                db.execute("PRAGMA query_only = ON")
                db.execute("BEGIN")
            except sqlite3.Error as exc:
                raise self._error("cannot read the store", exc) from None
            yield db
        finally:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            db.close()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._error("cannot read the store", exc) from None

    def _decode_doc(self, decode: Callable[[object, str], T], what: str, ident: object, doc: object) -> T:
        try:
            if not isinstance(doc, str):
                raise TypeError(f"the document is {type(doc).__name__}, not text")
            return decode(json.loads(doc), "")
        except (ValueError, TypeError, DeconflictError) as exc:
            raise StoreError(f"{self.path}: the stored {what} {ident!r} cannot be read: {exc}") from None

    # -- writing ---------------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self, claim: Claim | None = None) -> Iterator[None]:
        """Be this store's only writer, across threads and processes, until the
        block ends. Reentrant within a thread; :meth:`append` takes it too.
        One file lock stands for every row of ``claim`` (engine/cells.py): a
        decision that needs only some cells waits for all of them here."""
        with self._writer:
            self._writer_depth += 1
            try:
                if self._writer_depth == 1:
                    self._flock(fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    if self._writer_depth == 1:
                        self._flock(fcntl.LOCK_UN)
            finally:
                self._writer_depth -= 1

    def _flock(self, op: int) -> None:
        try:
            if self._lock_fd is None:
                self._conn()  # not on a closed store
                self._lock_fd = os.open(self.path.with_name(self.path.name + "-lock"), os.O_RDWR | os.O_CREAT, 0o600)
            # Blocking: held only for a decision and its commit (or an import).
            fcntl.flock(self._lock_fd, op)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot lock the store for writing: {exc}") from None

    def append(self, drafts: Sequence[EventDraft], *, after: int | None = None) -> list[Event]:
        """Record ``drafts`` as consecutive events, in one transaction.

        All or nothing: a draft whose type, envelope or payload is wrong, or a
        withdrawal of something not in force, raises (:class:`InvalidInput`,
        :class:`NotFound`) and nothing is written. With ``after``, the events
        must follow event ``after`` (the last one the caller decided on), or
        :class:`StaleWrite` is raised and nothing is written: the log itself
        refuses a decision taken on a stale state, whatever lock a writer forgot.
        Returns after the commit is on disk."""
        prepared = [self._prepare(d, f"drafts[{i}]") for i, d in enumerate(drafts)]
        if not prepared:
            return []
        with self.exclusive(), self._lock:
            db = self._conn()
            self._pending_note = self._pending_frontier = self._pending_recent = None
            with self._transaction(db, "cannot append"):
                out = self._write(db, prepared, after)
            self._publish()
            return out

    @staticmethod
    def wait_for_log(timeout: float) -> bool:
        """Wait ``timeout`` s: a file says nothing of other processes' appends
        until one looks (:meth:`data_version`)."""
        time.sleep(timeout)
        return False

    def append_numbered(self, build: Callable[[int], Sequence[EventDraft]]) -> list[Event]:
        """Record the drafts ``build(first)`` gives, ``first`` being the number the
        first of them gets (as :meth:`PostgresStore.append_numbered`)."""
        with self.exclusive():
            head = self.head()
            seq = head.seq if head is not None else 0
            return self.append(build(seq + 1), after=seq)

    @staticmethod
    def _prepare(draft: EventDraft, where: str) -> _Prepared:
        text = check_draft(draft, where)
        # Decode what will be stored, not the caller's objects, so that the
        # state tables see exactly what a replay of the log will see.
        data: dict[str, Any] = json.loads(text)
        change = decode_change(draft.type, draft.subject, data, where)
        return _Prepared(draft, text, data, change)

    def _write(self, db: sqlite3.Connection, prepared: list[_Prepared], after: int | None) -> list[Event]:
        row = db.execute("SELECT seq, recorded_at, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        seq, last_at, prev = row if row is not None else (0, "", GENESIS_HASH)
        if after is not None and seq != after:
            raise StaleWrite(after, seq)
        try:
            now = require_utc(self._clock(), "clock")
        except (InvalidInput, AttributeError, TypeError) as exc:
            raise StoreError(f"the store's clock did not give a UTC time: {exc}") from None
        # Taken under the write lock, so times follow the order of the log even
        # across processes; a clock stepping back does not make them decrease.
        at = max(format_instant(now), last_at)
        when = parse_instant(at)
        out = []
        for p in prepared:
            d = p.draft
            seq += 1
            digest = stored_event_hash(seq, at, d.type, d.actor, d.subject, p.text, prev)
            db.execute(
                f"INSERT INTO events ({_schema.EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, at, d.type, d.actor, d.subject, p.text, prev, digest),
            )
            if p.change is not None:
                self._put(db, p.change, seq, p.text)
            out.append(Event(seq, when, d.type, d.actor, d.subject, p.data, prev, digest))
            prev = digest
        self._grow_tree(db, out, at)
        # The head as of the last append: a log cut short after it is then detectable.
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('head', ?)", (f"{seq} {prev}",))
        return out

    @staticmethod
    def _put(db: sqlite3.Connection, change: Change, seq: int, doc: str) -> None:
        """Apply ``change`` to the state tables. ``doc`` is the event's payload
        text: the tables then hold the very text a replay decodes, so the two
        cannot differ by a lossy re-encoding (and writing skips one)."""
        if isinstance(change, PutParty):
            p = change.party
            db.execute(
                "INSERT OR REPLACE INTO parties (id, name, kind, seq, doc) VALUES (?, ?, ?, ?, ?)",
                (p.id, p.name, p.kind.value, seq, doc),
            )
        elif isinstance(change, SetMargins):
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('margins', ?)",
                (doc,),
            )
        elif isinstance(change, PutMeasure):
            m = change.measure
            db.execute(
                "INSERT OR REPLACE INTO measures (id, kind, owner, window_start, window_end, seq, doc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (m.id, m.kind.value, m.owner, format_instant(m.window.start), format_instant(m.window.end),
                 seq, doc),
            )
        elif isinstance(change, PutDeclaration):
            x = change.declaration
            db.execute(
                "INSERT OR REPLACE INTO declarations (id, kind, owner, window_start, window_end, seq, doc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (x.id, x.kind.value, x.owner, format_instant(x.window.start), format_instant(x.window.end),
                 seq, doc),
            )
        elif isinstance(change, RemoveMeasure):
            if db.execute("DELETE FROM measures WHERE id = ?", (change.id,)).rowcount == 0:
                raise NotFound("measure", change.id)
        else:
            assert isinstance(change, RemoveDeclaration)
            if db.execute("DELETE FROM declarations WHERE id = ?", (change.id,)).rowcount == 0:
                raise NotFound("declaration", change.id)

    # -- the Merkle tree, checkpoints, receipts (store/tree.py, store/vouch.py) -----
    def _open_tree(self, db: sqlite3.Connection) -> None:
        """Create the tree's tables if missing, and grow the tree over events
        that have none yet (a store from before the tree): derived from the log."""
        with self._transaction(db, "cannot open the store's Merkle tree"):
            for statement in tree.SCHEMA:
                db.execute(statement)
            size = tree.tree_size(db)
            head = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
            # Only a store from before the tree (no checkpoint yet) is grown and
            # signed here, trusting what it holds. Events beyond a signed tree
            # were not written by an append: signing them would launder them,
            # so they are left for vouch() to name.
            if size < head and size == 0 and not tree.has_nodes(db):
                rows = db.execute("SELECT seq, hash, recorded_at FROM events WHERE seq > ? ORDER BY seq",
                                  (size,)).fetchall()
                tree.extend(db, size, [tree.event_leaf(str(h)) for _, h, _ in rows])
                tree.sign(db, self._keyring(db), int(head), str(rows[-1][2]))

    def _keyring(self, db: sqlite3.Connection | None = None) -> KeyRing:
        if self._ring is None:
            path = keys_path(self.path)
            if not path.exists() and db is not None and tree.latest_checkpoint(db) is not None:
                raise StoreError(f"{self.path}: the log's key file {path} is missing; restore it, or no "
                                 "checkpoint can be signed (nothing is appended without one)")
            self._ring = KeyRing.open(path)
        return self._ring

    def _grow_tree(self, db: sqlite3.Connection, events: list[Event], at: str) -> None:
        first = events[0].seq
        front = self._frontier
        if front is None or front.size != first - 1:
            # Another process appended since (or first append here): read the
            # compact range once; then each append of ours needs no read.
            if tree.tree_size(db) != first - 1:
                raise StoreError(f"{self.path}: the Merkle tree does not end where the log does; "
                                 "run `deconflict audit verify`")
            front = tree.frontier(db, first - 1)
        # A copy: if the transaction rolls back, the cache must not have moved.
        grown = front.copy()
        made: dict[tuple[int, int], bytes] = {}
        root = tree.grow(db, grown, tree.event_leaves(e.hash for e in events), made)
        self._pending_note = tree.sign(db, self._keyring(db), events[-1].seq, at, root)
        self._pending_frontier = grown
        self._pending_recent = tree.Recent(front, made, self._pending_note,
                                           {e.seq: (e.hash, e.type, at) for e in events})

    def _publish(self) -> None:
        self._frontier, self._pending_frontier = self._pending_frontier, None
        self._recent, self._pending_recent = self._pending_recent, None
        note, self._pending_note = self._pending_note, None
        if note is not None:
            with contextlib.suppress(OSError):
                self._head_fd = vouch.publish(self.path, note, self._head_fd)

    def verifiers(self) -> list[Verifier]:
        """The log's public keys (current first): what parties check checkpoints with."""
        path = keys_path(self.path)
        return KeyRing.load(path).verifiers if path.exists() else []

    def rotate_key(self) -> Verifier:
        with self.exclusive(), self._lock:
            ring = self._keyring(self._conn())
            new = ring.rotate()
            db = self._conn()
            with self._transaction(db, "cannot sign a checkpoint"):
                n = tree.tree_size(db)
                if n:
                    row = db.execute("SELECT recorded_at FROM events WHERE seq = ?", (n,)).fetchone()
                    self._pending_note = tree.sign(db, ring, n, str(row[0]))
            self._publish()
            return new

    # -- start-up snapshots (store/startup.py) --------------------------------------
    def startup_path(self) -> Path:
        return self.path.with_name(self.path.name + "-snapshot")

    def key_file(self) -> Path:
        """The signing key file (store/keys.py)."""
        return keys_path(self.path)

    def put_startup(self, body: bytes) -> None:
        """Keep ``body`` as the start-up snapshot (a file beside the store, replaced whole)."""
        try:
            startup.write_file(self.startup_path(), body)
        except OSError as exc:
            raise StoreError(f"cannot write the start-up snapshot {self.startup_path()}: "
                             f"{exc.strerror or exc}") from None

    def startup_buffer(self) -> memoryview | None:
        """The start-up snapshot, memory-mapped read-only; None when there is none."""
        return startup.read_path(self.startup_path())

    def drop_startup(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.startup_path().unlink()

    def event_row(self, seq: int) -> tuple[Any, ...] | None:
        """Event ``seq``'s stored fields, unchecked (None if there is none)."""
        rows = self._query("SELECT seq, recorded_at, type, actor, subject, payload, prev_hash, hash FROM events "
                           "WHERE seq = ?", (seq,))
        return tuple(rows[0]) if rows else None

    def vouch(self, *, held: Sequence[str] = (), keys: Sequence[Verifier] = (),
              base: startup.Base | None = None) -> vouch.Report:
        """Check the log, its checkpoints, its tree and the state tables
        (:mod:`deconflict.store.vouch`); raises :class:`TamperedLog` naming the first bad event."""
        verifiers = [*keys, *self.verifiers()]
        published = vouch.read_published(self.path)  # before the snapshot: see vouch.vouch
        with self._reader() as db:
            if not verifiers and tree.latest_checkpoint(db) is not None:
                raise StoreError(f"{self.path}: no public key to check the checkpoints with "
                                 f"(the key file {keys_path(self.path)} is missing): give one with --key")
            return vouch.vouch(db, self.path, verifiers, held, published, base)

    def log_span(self) -> tuple[str | None, str | None]:
        """When the first and the last event were recorded (None for an empty log)."""
        first = self._query("SELECT recorded_at FROM events ORDER BY seq LIMIT 1")
        last = self._query("SELECT recorded_at FROM events ORDER BY seq DESC LIMIT 1")
        return (str(first[0][0]) if first else None, str(last[0][0]) if last else None)

    def checkpoint(self) -> tuple[int, str] | None:
        """The latest signed checkpoint: (tree size, note)."""
        with self._reader() as db:
            return tree.latest_checkpoint(db)

    def check_signing(self) -> None:
        """The key file is read (or made, for a log with no checkpoint yet), as the next append would."""
        with self._lock:
            self._keyring(self._conn())

    def published_checkpoint(self) -> str | None:
        """The last checkpoint published in ``<store>-head``."""
        return vouch.read_published(self.path)

    def receipt(self, seq: int) -> dict[str, Any]:
        """A signed receipt for event ``seq`` (store/tree.py: receipt)."""
        made = self.receipts([seq])
        if seq not in made:
            raise NotFound("event", str(seq))
        return made[seq]

    def receipts(self, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Receipts for several events, read in one transaction (a batch of submits)."""
        out: dict[int, dict[str, Any]] = {}
        if not seqs:
            return out
        recent = self._recent
        if recent is not None:
            # The last append's events (a batch of submits asks right after it): from memory.
            out.update(recent.receipts(seqs))
            if len(out) == len(seqs):
                return out
            seqs = [s for s in seqs if s not in out]
        # On the store's own connection: a reader of its own costs a connect
        # per batch, and what is read here is committed and append-only.
        with self._lock:
            db = self._conn()
            try:
                for seq in seqs:
                    row = db.execute("SELECT hash, type, recorded_at FROM events WHERE seq = ?", (seq,)).fetchone()
                    if row is not None:
                        out[seq] = tree.receipt(db, seq, str(row[0]), str(row[1]), str(row[2]))
            except sqlite3.Error as exc:
                raise self._error("cannot make a receipt", exc) from None
        return out

    def add_cosignature(self, size: int, text: str, key: str, line: str) -> None:
        """Keep a witness's cosignature of the checkpoint ``text`` (already verified)."""
        name = key.split("+", 1)[0]
        with self._lock:
            db = self._conn()
            with self._transaction(db, "cannot keep the cosignature"):
                db.execute("INSERT OR REPLACE INTO cosignatures (size, witness, key, line) VALUES (?, ?, ?, ?)",
                           (size, name, key, text + "\n" + line))

    def cosignatures(self, size: int, text: str) -> list[str]:
        """The cosignature lines of the checkpoint ``text`` of ``size`` leaves."""
        rows = self._query("SELECT line FROM cosignatures WHERE size = ? ORDER BY witness", (size,))
        return [str(r[0])[len(text) + 1:] for r in rows if str(r[0]).startswith(text + "\n")]

    def witness_keys(self) -> list[str]:
        return sorted({str(r[0]) for r in self._query("SELECT DISTINCT key FROM cosignatures")})

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        with self._reader() as db:
            return tree.inclusion(db, seq - 1, size)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        with self._reader() as db:
            return tree.consistency(db, old, new)

    # -- the log -------------------------------------------------------------------------
    def events(self, *, after_seq: int = 0) -> Iterator[Event]:
        """Events with ``seq > after_seq`` in order, streamed from one snapshot.

        Rows are read back, not verified: :meth:`verify` checks the chain."""
        with self._reader() as db:
            try:
                cursor = db.execute(f"{_SELECT_EVENTS} WHERE seq > ? ORDER BY seq", (after_seq,))
                for row in cursor:
                    yield read_event(*row)
            except sqlite3.Error as exc:
                raise self._error("cannot read the events", exc) from None

    def events_after(self, seq: int) -> list[Event]:
        """Events with ``seq`` greater than this, on the store's own connection:
        cheaper than :meth:`events` for the few that another process appended."""
        return [read_event(*row) for row in self._query(f"{_SELECT_EVENTS} WHERE seq > ? ORDER BY seq", (seq,))]

    def events_between(self, after: int, before: int) -> list[Event]:
        """The events numbered after ``after`` and before ``before``."""
        return [read_event(*row) for row in
                self._query(f"{_SELECT_EVENTS} WHERE seq > ? AND seq < ? ORDER BY seq", (after, before))]

    def events_page(self, after_seq: int, limit: int) -> list[Event]:
        """At most ``limit`` events with ``seq > after_seq``, in order: a resumed
        stream pages through the log, it never holds the backlog at once."""
        return [read_event(*row) for row in
                self._query(f"{_SELECT_EVENTS} WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit))]

    def data_version(self) -> int:
        """A number that changes when another connection (another process) has
        committed to the store since this one last looked (SQLite's data_version)."""
        return int(self._query("PRAGMA data_version")[0][0])

    def news(self, after: int, seen: int | None) -> tuple[int | None, list[Event]]:
        """The events after ``after``, read only when :meth:`data_version` moved
        from ``seen`` (a local read: no other process's append, no read)."""
        version = self.data_version()
        return version, ([] if version == seen else self.events_after(after))

    def head(self) -> Event | None:
        rows = self._query(f"{_SELECT_EVENTS} ORDER BY seq DESC LIMIT 1")
        return read_event(*rows[0]) if rows else None

    def verify(self) -> int:
        """Re-hash the whole chain; return the number of events.

        Raises :class:`TamperedLog` naming the first bad event. Also compares
        the end of the log with the head recorded by the last append, which
        catches a log cut short (events deleted from the end)."""
        chain = ChainCheck()
        with self._reader() as db:
            try:
                recorded = db.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()
                cursor = db.execute(f"{_SELECT_EVENTS} ORDER BY seq")
                for row in cursor:
                    chain.feed(*row)
            except sqlite3.Error as exc:
                raise self._unreadable(db, chain, exc) from None
        head_seq, head_hash = 0, GENESIS_HASH
        if recorded is not None:
            try:
                text_seq, head_hash = str(recorded[0]).split(" ")
                head_seq = int(text_seq)
            except ValueError:
                raise TamperedLog(
                    chain.seq, f"the head recorded at the last append is unreadable: {recorded[0]!r}"
                ) from None
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

    def _unreadable(self, db: sqlite3.Connection, chain: ChainCheck, exc: sqlite3.Error) -> StoreError:
        """Name the event whose row SQLite could not read (bytes that are not UTF-8)."""
        try:
            row = db.execute("SELECT min(seq) FROM events WHERE seq > ?", (chain.seq,)).fetchone()
        except sqlite3.Error:
            return self._error("cannot read the events", exc)
        if row is None or row[0] is None:
            return self._error("cannot read the events", exc)
        if row[0] != chain.seq + 1:
            return chain.gap(int(row[0]))
        return TamperedLog(int(row[0]), f"undecodable: {exc}")

    def state_as_of(self, instant: datetime) -> State:
        """The state after every event recorded at or before ``instant``,
        rebuilt from the log alone (the chain is checked on the way)."""
        cut = format_instant(require_utc(instant, "instant"))
        state = State()
        chain = ChainCheck()
        with self._reader() as db:
            try:
                for row in db.execute(f"{_SELECT_EVENTS} ORDER BY seq"):
                    if isinstance(row[1], str) and row[1] > cut:
                        break
                    event = chain.feed(*row)
                    try:
                        state.apply(event)
                    except (InvalidInput, NotFound) as exc:
                        raise StoreError(
                            f"{self.path}: event {event.seq} ({event.type}) cannot be replayed: {exc}"
                        ) from None
            except sqlite3.Error as exc:
                raise self._unreadable(db, chain, exc) from None
        return state

    # -- current state ------------------------------------------------------------------
    def parties(self) -> list[Party]:
        rows = self._query("SELECT id, doc FROM parties ORDER BY id")
        return [self._decode_doc(decode_party, "party", ident, doc) for ident, doc in rows]

    def measures(self) -> list[Measure]:
        rows = self._query("SELECT id, doc FROM measures ORDER BY id")
        return [self._decode_doc(decode_measure, "measure", ident, doc) for ident, doc in rows]

    def declarations(self) -> Iterator[Declaration]:
        """Every declaration in force, by id, streamed from one snapshot."""
        with self._reader() as db:
            yield from self._declarations(db)

    def _declarations(self, db: sqlite3.Connection) -> Iterator[Declaration]:
        loads = json.loads
        try:
            cursor = db.execute("SELECT id, doc FROM declarations ORDER BY id")
            for ident, doc in cursor:
                # The hot loop of a start-up load: no per-row path string.
                try:
                    decl = decode_declaration(loads(doc))
                except (ValueError, TypeError, DeconflictError) as exc:
                    raise StoreError(
                        f"{self.path}: the stored declaration {ident!r} cannot be read: {exc}"
                    ) from None
                yield decl
        except sqlite3.Error as exc:
            raise self._error("cannot read the declarations", exc) from None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """The current state as of one event, read in one transaction: what a
        process loads at start while other processes may be appending."""
        with self._reader() as db:
            try:
                head = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
                parties = [self._decode_doc(decode_party, "party", i, d)
                           for i, d in db.execute("SELECT id, doc FROM parties ORDER BY id")]
                measures = [self._decode_doc(decode_measure, "measure", i, d)
                            for i, d in db.execute("SELECT id, doc FROM measures ORDER BY id")]
                row = db.execute("SELECT value FROM meta WHERE key = 'margins'").fetchone()
            except sqlite3.Error as exc:
                raise self._error("cannot read the store", exc) from None
            margins = None if row is None else self._decode_doc(decode_margins, "settings", "margins", row[0])
            yield Snapshot(int(head), parties, measures, margins, self._declarations(db))

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
            db, self._db = self._db, None
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    db.close()
            fd, self._lock_fd = self._lock_fd, None
            if fd is not None:
                os.close(fd)
            fd, self._head_fd = self._head_fd, None
            if fd is not None:
                os.close(fd)

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

