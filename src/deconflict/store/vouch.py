"""What the store can vouch for: the whole log and the state tables, checked in one pass.

Run when a service opens a store (it refuses to serve otherwise) and by
``deconflict audit verify``. Each failure is a :class:`TamperedLog` naming
the first bad event, found by:

1. the hash chain (:class:`deconflict.store.events.ChainCheck`): an edited,
   deleted, inserted or reordered event, time going backwards;
2. the head recorded by the last append (a tail cut off by hand);
3. the Merkle tree recomputed from the events against every signed
   checkpoint it can check: the latest one in the store, the last one the
   service published (``<store>-head``, outside the database), and any a
   party holds (``held``). A log truncated together with its recorded head,
   or rewritten consistently from some event on (every later hash
   recomputed), no longer has the root its signed checkpoint says; the first
   stored checkpoint that fails names where the rewrite starts;
4. the stored tree (the nodes proofs are served from) against the recomputed root;
5. the state tables against the log: every row must be the payload of the
   last event that wrote it, and every object the log has in force must
   have its row (an SQL UPDATE of a declaration's document, a deleted or an
   added row).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from deconflict.errors import TamperedLog
from deconflict.store import tree
from deconflict.store.events import (
    DECLARATION_DECLARED,
    DECLARATION_WITHDRAWN,
    GENESIS_HASH,
    MEASURE_ADDED,
    MEASURE_WITHDRAWN,
    PARTY_ADDED,
    SETTINGS_CHANGED,
    ChainCheck,
)
from deconflict.store.merkle import Frontier
from deconflict.store.note import Checkpoint, NoteError, Verifier, open_checkpoint

if TYPE_CHECKING:
    from deconflict.store.startup import Base

_EVENTS = "SELECT seq, recorded_at, type, actor, subject, payload, prev_hash, hash FROM events ORDER BY seq"
_EVENTS_AFTER = ("SELECT seq, recorded_at, type, actor, subject, payload, prev_hash, hash FROM events "
                 "WHERE seq > ? ORDER BY seq")
#: State rows whose events are fetched in one query (``IN`` of this many numbers).
_BATCH = 500


class Source(Protocol):
    """What the checks read, inside one read transaction: SQL in the subset both
    stores speak (``?`` placeholders), and the stored tree. An SQLite connection
    is wrapped by :class:`SQLiteSource`; the PostgreSQL store has its own
    (store/_pg_merkle.py)."""

    #: The driver's errors: a row that cannot be read names its event.
    errors: tuple[type[BaseException], ...]

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterable[Any]:
        """Rows streamed (a whole log need not fit in memory)."""
        ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def latest_checkpoint(self) -> tuple[int, str] | None: ...

    def tree_size(self) -> int:
        """Leaves the stored tree covers (the latest checkpoint's, written with it)."""
        ...

    def has_nodes(self) -> bool: ...

    def root(self, size: int) -> bytes: ...

    def recorded_head(self) -> tuple[int, str] | None:
        """The head recorded by the last append; raises :class:`TamperedLog` if unreadable."""
        ...


class SQLiteSource:
    """:class:`Source` over an SQLite connection (a store, or a bundle)."""

    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterable[Any]:
        return self.db.execute(sql, tuple(params))

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.db.execute(sql, tuple(params)).fetchall()

    def latest_checkpoint(self) -> tuple[int, str] | None:
        return tree.latest_checkpoint(self.db)

    def tree_size(self) -> int:
        return tree.tree_size(self.db)

    def has_nodes(self) -> bool:
        return tree.has_nodes(self.db)

    def root(self, size: int) -> bytes:
        return tree.root(self.db, size)

    def recorded_head(self) -> tuple[int, str] | None:
        recorded = self.db.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()
        if recorded is None:
            return None
        try:
            text_seq, head_hash = str(recorded[0]).split(" ")
            return int(text_seq), head_hash
        except ValueError:
            raise TamperedLog(0, f"the head recorded at the last append is unreadable: {recorded[0]!r}") from None


def head_path(store: Path) -> Path:
    """The last checkpoint the service published, kept outside the database."""
    return store.with_name(store.name + "-head")


#: The head file has two slots, written in turn in place (a rename per append
#: cost 5 ms on this machine's file system): a write torn by a crash spoils
#: only the slot being written, and the reader takes the larger valid one.
SLOT = 4096


def _slot(note: str) -> bytes:
    body = note.encode("utf-8")
    if len(body) > SLOT - 40:
        raise ValueError("a checkpoint note does not fit a slot of the head file")
    return len(body).to_bytes(4, "big") + hashlib.sha256(body).digest() + body


def publish(store: Path, note: str, fd: int | None = None) -> int:
    """Write ``note`` as the published head (after its commit). Not fsynced:
    after a crash the file may be older than the log, which is consistent; it
    is never newer than what was committed. Returns the open file descriptor
    (give it back next time). Called under the store's exclusive lock."""
    if fd is None:
        fd = os.open(head_path(store), os.O_RDWR | os.O_CREAT, 0o644)
    # Overwrite the slot holding the smaller (older) checkpoint. A one-byte
    # marker at the end of the file says which was written last, so that
    # this costs no read of the notes (other processes write it too).
    marker = os.pread(fd, 1, 2 * SLOT)
    target = 1 if marker == b"\x00" else 0
    os.pwrite(fd, _slot(note), target * SLOT)
    os.pwrite(fd, bytes([target]), 2 * SLOT)
    return fd


def _size(note: str) -> int:
    try:
        return int(note.split("\n", 2)[1])
    except (IndexError, ValueError):
        return -1


def _read_slot(fd: int, i: int) -> str | None:
    raw = os.pread(fd, SLOT, i * SLOT)
    if len(raw) < 36:
        return None
    n = int.from_bytes(raw[:4], "big")
    body = raw[36:36 + n]
    if len(body) != n or hashlib.sha256(body).digest() != raw[4:36]:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_published(store: Path, fd: int | None = None) -> str | None:
    """The last published checkpoint note, or None when there is none."""
    own = fd is None
    if fd is None:
        try:
            fd = os.open(head_path(store), os.O_RDONLY)
        except FileNotFoundError:
            return None
    try:
        notes = [s for s in (_read_slot(fd, 0), _read_slot(fd, 1)) if s]
    finally:
        if own:
            os.close(fd)
    return max(notes, key=_size) if notes else None


@dataclass
class Report:
    """What a verification found good."""

    events: int = 0
    root: bytes = b""
    checkpoints_checked: list[int] = field(default_factory=list)
    published: int | None = None
    state_rows: int = 0
    first_recorded_at: str = ""
    last_recorded_at: str = ""
    #: Witnesses' reports of inconsistent checkpoints in the log: (seq, party, sizes).
    forks: list[tuple[int, str, list[int]]] = field(default_factory=list)
    #: The Merkle tree's compact range after the last event (what a snapshot keeps).
    frontier: Frontier = field(default_factory=Frontier)
    #: Where the check started: 0, or the seq of the snapshot it started from
    #: (events up to it and the state tables were not read: store/startup.py).
    since: int = 0


def _signed(note: str, verifiers: Sequence[Verifier], what: str) -> Checkpoint:
    try:
        return open_checkpoint(note, list(verifiers))
    except NoteError as exc:
        raise TamperedLog(0, f"{what} does not verify with the log's keys: {exc}") from None


def vouch(db: sqlite3.Connection | Source, store: Path | str, verifiers: Sequence[Verifier],
          held: Sequence[str] = (), published: str | None = None, base: Base | None = None) -> Report:
    """Check everything (see the module's text) inside the read transaction ``db``.

    With ``base`` (a verified start-up snapshot's place in the log,
    store/startup.py), only the events after it are read: the chain continues
    from its hash, the tree from its frontier, every signed checkpoint from its
    seq on is checked against that, and the state tables are not checked (a
    process starting from the snapshot does not read them; docs/store.md says
    why this is sound). Checkpoints older than the snapshot were checked when it
    was taken, by the full check of the process that wrote it.

    ``published`` is the published checkpoint, read by the caller *before* the
    snapshot ``db`` began: the service publishes after it commits, so what was
    published before the snapshot is in it. Read after, it may cover another
    process's later append, and a sound log would read as truncated."""
    src: Source = SQLiteSource(db) if isinstance(db, sqlite3.Connection) else db
    report = Report()
    wanted: dict[int, list[tuple[str, Checkpoint]]] = {}

    def want(cp: Checkpoint, what: str) -> None:
        wanted.setdefault(cp.size, []).append((what, cp))

    latest = src.latest_checkpoint()
    if latest is not None:
        want(_signed(latest[1], verifiers, f"the checkpoint of {latest[0]} events"), "the latest signed checkpoint")
    if published is not None:
        cp = _signed(published, verifiers, "the published checkpoint")
        want(cp, "the last checkpoint the service published")
        report.published = cp.size
    for i, note in enumerate(held):
        want(_signed(note, verifiers, f"held checkpoint {i + 1}"), f"held checkpoint {i + 1}")

    chain = ChainCheck()
    frontier = Frontier()
    query = _EVENTS
    params: tuple[int, ...] = ()
    if base is not None:
        chain.seq, chain.hash, chain.recorded_at = base.seq, base.hash, base.recorded_at
        frontier = base.frontier.copy()
        query, params = _EVENTS_AFTER, (base.seq,)
        report.since = base.seq
        for size in [s for s in wanted if s < base.seq]:
            del wanted[size]
    roots: dict[int, bytes] = {}
    if frontier.size in wanted:
        roots[frontier.size] = frontier.root()
    try:
        for row in src.rows(query, params):
            event = chain.feed(*row)
            if not report.first_recorded_at:
                report.first_recorded_at = row[1]
            frontier.add(tree.event_leaf(event.hash))
            if event.type == "log.fork_reported":
                report.forks.append((event.seq, event.actor, list(event.payload.get("sizes", []))))
            if frontier.size in wanted:
                roots[frontier.size] = frontier.root()
    except src.errors as exc:
        raise TamperedLog(chain.seq + 1, f"undecodable: {exc}") from None
    n = chain.seq
    report.events, report.root, report.last_recorded_at = n, frontier.root(), chain.recorded_at
    report.frontier = frontier
    _check_head(src, chain)

    for size in sorted(wanted):
        for what, cp in wanted[size]:
            if size > n:
                raise TamperedLog(
                    n + 1, f"the log ends at event {n}, but {what} covers {size} events: "
                    f"events {n + 1} to {size} were removed (the log was truncated)")
            if roots[size] != cp.root:
                extra = [(c.size, c.root) for cps in wanted.values() for _, c in cps]
                first, last = _first_rewritten(src, verifiers, extra, size)
                where = f"from event {first} on" if first == last else f"somewhere in events {first} to {last}"
                raise TamperedLog(
                    first, f"the first {size} events are not the ones {what} signed: the log was "
                    f"rewritten {where}")
            report.checkpoints_checked.append(size)
    if latest is not None and latest[0] < n:
        raise TamperedLog(latest[0] + 1, f"events {latest[0] + 1} to {n} are covered by no signed checkpoint: "
                          "they were not written by the store's appends")
    if latest is None and n > 0 and src.has_nodes():
        raise TamperedLog(1, "the log has events but its signed checkpoints are gone")
    if n and src.tree_size() == n:
        try:
            stored = src.root(n)
        except Exception:
            stored = b""
        if stored != report.root:
            raise TamperedLog(0, "the stored Merkle tree (what proofs are served from) does not match the "
                              "events; rebuild it with `deconflict audit rebuild-tree`")
    if base is None:
        report.state_rows = _check_state(src)
    return report


def _check_head(src: Source, chain: ChainCheck) -> None:
    try:
        recorded = src.recorded_head()
    except TamperedLog as exc:
        raise TamperedLog(chain.seq, exc.reason) from None
    head_seq, head_hash = recorded if recorded is not None else (0, GENESIS_HASH)
    if chain.seq < head_seq:
        raise TamperedLog(chain.seq + 1, f"the log ends at event {chain.seq} but the last append recorded "
                          f"{head_seq} events: events {chain.seq + 1} to {head_seq} are missing")
    if chain.seq > head_seq:
        raise TamperedLog(head_seq + 1, f"events after {head_seq} were not written by the store's appends")
    if chain.hash != head_hash:
        raise TamperedLog(chain.seq, "the last event's hash is not the one recorded at the last append")


def _first_rewritten(src: Source, verifiers: Sequence[Verifier], known: list[tuple[int, bytes]],
                     limit: int) -> tuple[int, int]:
    """Where a rewrite starts: after the last signed checkpoint (stored, published
    or held) that still verifies, up to the first that fails. A second pass,
    on the failure path only; with a checkpoint per append it is one event."""
    good: dict[int, set[bytes]] = {}
    for size, root in known:
        good.setdefault(size, set()).add(root)
    for size, note in src.rows("SELECT size, note FROM checkpoints WHERE size <= ? ORDER BY size", (limit,)):
        try:
            good.setdefault(int(size), set()).add(open_checkpoint(str(note), list(verifiers)).root)
        except NoteError:
            continue
    frontier = Frontier()
    last_ok = 0
    for (h,) in src.rows("SELECT hash FROM events WHERE seq <= ? ORDER BY seq", (limit,)):
        frontier.add(tree.event_leaf(str(h)))
        want = good.get(frontier.size)
        if want is not None:
            if want != {frontier.root()}:
                return last_ok + 1, frontier.size
            last_ok = frontier.size
    return last_ok + 1, limit


# -- the state tables ----------------------------------------------------------------
_KINDS = (
    ("parties", (PARTY_ADDED,), (PARTY_ADDED,)),
    ("measures", (MEASURE_ADDED, MEASURE_WITHDRAWN), (MEASURE_ADDED,)),
    ("declarations", (DECLARATION_DECLARED, DECLARATION_WITHDRAWN), (DECLARATION_DECLARED,)),
)


def _check_state(src: Source) -> int:
    rows = 0
    for table, types, puts in _KINDS:
        marks = ",".join("?" * len(types))
        # The last event of each object's family: what its row must be.
        last = {str(k): int(v) for k, v in src.all(
            f"SELECT subject, max(seq) FROM events WHERE type IN ({marks}) GROUP BY subject", types)}
        stored = src.all(f"SELECT id, seq, doc FROM {table} ORDER BY id")
        held = set()
        for i in range(0, len(stored), _BATCH):
            chunk = stored[i:i + _BATCH]
            # The events the rows must be, in one query per chunk (a round trip
            # each on PostgreSQL), not one per row.
            seqs = sorted({last[str(r[0])] for r in chunk if str(r[0]) in last})
            found = {int(s): (t, p) for s, t, p in src.all(
                f"SELECT seq, type, payload FROM events WHERE seq IN ({','.join('?' * len(seqs))})",
                seqs)} if seqs else {}
            for ident, seq, doc in chunk:
                held.add(ident)
                expected = last.get(ident)
                if expected is None:
                    raise TamperedLog(0, f"the {table} table holds {ident!r}, which no event declared: "
                                      "the state was edited outside the log")
                if seq != expected:
                    raise TamperedLog(expected, f"the {table} row {ident!r} claims event {seq} wrote it, but the "
                                      f"log's last word on it is event {expected}: the state was edited outside "
                                      "the log")
                ev = found.get(expected)
                if ev is None or ev[0] not in puts:
                    raise TamperedLog(expected, f"the {table} row {ident!r} is in force, but event {expected} "
                                      "withdrew it: the state was edited outside the log")
                if ev[1] != doc:
                    raise TamperedLog(expected, f"the {table} row {ident!r} is not what event {expected} "
                                      "recorded: the state was edited outside the log (the log's version is the "
                                      "true one)")
        missing = [(ident, seq) for ident, seq in last.items() if ident not in held]
        for i in range(0, len(missing), _BATCH):
            chunk = missing[i:i + _BATCH]
            kinds = dict(src.all(f"SELECT seq, type FROM events WHERE seq IN ({','.join('?' * len(chunk))})",
                                 [seq for _, seq in chunk]))
            for ident, seq in chunk:
                if kinds.get(seq) in puts:
                    raise TamperedLog(seq, f"{ident!r} is in force after event {seq}, but the {table} table "
                                      "has no row for it: the state was edited outside the log")
        rows += len(stored)
    margins = next(iter(src.all("SELECT value FROM meta WHERE key = 'margins'")), None)
    last_margins = next(iter(src.all(
        "SELECT seq, payload FROM events WHERE type = ? ORDER BY seq DESC LIMIT 1", (SETTINGS_CHANGED,))), None)
    if (margins is None) != (last_margins is None) or (
            margins is not None and last_margins is not None and margins[0] != last_margins[1]):
        seq = last_margins[0] if last_margins is not None else 0
        raise TamperedLog(seq, "the caution margins in force are not the ones the log last set: "
                          "the state was edited outside the log")
    return rows
