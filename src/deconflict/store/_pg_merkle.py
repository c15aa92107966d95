"""The Merkle log of the PostgreSQL store: its tree, signed checkpoints, receipts,
proofs, cosignatures and signing keys (what store/tree.py and store/keys.py do
for an SQLite file).

Tables (migration 4, store/_pg_schema.py), in the portable subset (TEXT and
BIGINT only, hashes as lowercase hex):

- ``tree_nodes(id, hash)``: the perfect aligned subtrees of every second level
  from level 2 (store/merkle.py: STRIDE), ``id = level << 48 | index``,
  written in the append's transaction; the others are derived when needed;
- ``checkpoints(size, note)``: the checkpoint each append signed;
- ``cosignatures(size, witness, key, line)``: witnesses' cosignatures;
- ``log_keys(rank, key)``: the log's *public* keys, highest rank current.

The private key is never in the database. Each host that appends holds the
same key file (``DECONFLICT_LOG_KEYS``, or ``log-keys/pg-<db>-<hash>.keys`` in
the user's data folder), made by the first append of the first host;
``log_keys`` records its public half, so a host holding another key (or a
stale one after a rotation) refuses to sign instead of forking the log's
identity. Whoever can write the database but not read a key file cannot sign
a checkpoint (docs/accountability.md, "Keys on PostgreSQL").
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs
import psycopg
from psycopg.conninfo import conninfo_to_dict

from deconflict.errors import StoreError, TamperedLog
from deconflict.store import _schema, tree, vouch
from deconflict.store.events import Event
from deconflict.store.keys import KeyRing
from deconflict.store.merkle import (
    EMPTY_ROOT,
    Frontier,
    Node,
    ProofError,
    compose,
    consistency_ranges,
    fold,
    inclusion_ranges,
    kept,
    pieces,
    resolve,
    sources,
    verify_inclusion,
)
from deconflict.store.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    parse_checkpoint,
    parse_verifier,
    sign_note,
    split_note,
)

if TYPE_CHECKING:
    from deconflict.store.postgres import PostgresStore
    from deconflict.store.startup import Base

#: The environment variable naming the log's key file on a host.
ENV_KEYS = "DECONFLICT_LOG_KEYS"

_UPSERT_CHECKPOINT = ("INSERT INTO checkpoints (size, note) VALUES (%s, %s)"
                      " ON CONFLICT (size) DO UPDATE SET note = excluded.note")


def default_keys_path(url: str) -> Path:
    """Where a host keeps the key file of the database ``url`` when no path is given:
    named after the database and a digest of where it is (host, port, name, options)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        info = {"url": url}
    info.pop("password", None)
    ident = "\n".join(f"{k}={info[k]}" for k in sorted(info))
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(info.get("dbname", "db")))[:40]
    digest = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]
    return platformdirs.user_data_path("deconflict") / "log-keys" / f"pg-{name}-{digest}.keys"


def keys_path_for(url: str, given: Path | None) -> Path:
    if given is not None:
        return given
    env = os.environ.get(ENV_KEYS)
    return Path(env) if env else default_keys_path(url)


#: Tree rows an INSERT holds at most: an append of a few hundred events (an
#: import) is a few statements; psycopg prepares the texts it sees often.
TREE_ROWS_PER_INSERT = 64


def _node_id(node: Node) -> int:
    return tree.node_id(*node)  # one layout for both stores (a bundle copies the rows as they are)


class PgSource:
    """:class:`deconflict.store.vouch.Source` over a PostgreSQL read transaction."""

    errors: tuple[type[BaseException], ...] = (psycopg.Error,)

    def __init__(self, store: PostgresStore, db: psycopg.Connection[Any]) -> None:
        self.store, self.db = store, db

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterable[Any]:
        return self.store._stream(self.db, sql.replace("?", "%s"), tuple(params))

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.store._exec(self.db, sql.replace("?", "%s"), tuple(params)).fetchall()

    def latest_checkpoint(self) -> tuple[int, str] | None:
        return latest_checkpoint(self.store, self.db)

    def tree_size(self) -> int:
        return tree_size(self.store, self.db)

    def has_nodes(self) -> bool:
        return self.store._exec(self.db, "SELECT id FROM tree_nodes LIMIT 1").fetchone() is not None

    def root(self, size: int) -> bytes:
        if size == 0:
            return EMPTY_ROOT
        want = pieces(0, size)
        found = get_nodes(self.store, self.db, want)
        if len(found) != len(want):
            raise ProofError(f"the tree is missing nodes of its first {size} leaves")
        return fold([found[p] for p in want])

    def recorded_head(self) -> tuple[int, str] | None:
        row = self.store._exec(self.db, "SELECT seq, hash FROM head WHERE id = 1").fetchone()
        return None if row is None else (int(row[0]), str(row[1]))


# -- reads, on any connection ---------------------------------------------------------
def get_nodes(store: PostgresStore, db: psycopg.Connection[Any], wanted: Sequence[Node]) -> dict[Node, bytes]:
    """The hashes of ``wanted``: kept rows and the events' hashes (store/merkle.py: sources)."""
    nodes, leaves = sources(wanted)
    ids = tree.node_keys(nodes)
    with db.pipeline():  # both queries in one round trip
        kept_rows = store._exec(db, "SELECT id, hash FROM tree_nodes WHERE id = ANY(%s)", (list(ids),)) if ids \
            else None
        leaf_rows = store._exec(db, "SELECT seq, hash FROM events WHERE seq = ANY(%s)",
                                ([i + 1 for i in leaves],)) if leaves else None
    stored = tree.stored_nodes(ids, kept_rows.fetchall(), lambda h: bytes.fromhex(str(h))) if kept_rows else {}
    got = {int(r[0]) - 1: tree.event_leaf(str(r[1])) for r in leaf_rows.fetchall()} if leaf_rows else {}
    return compose(wanted, stored, got)


def tree_size(store: PostgresStore, db: psycopg.Connection[Any]) -> int:
    """Leaves the stored tree covers: the latest checkpoint's (written with it)."""
    latest = latest_checkpoint(store, db)
    return 0 if latest is None else latest[0]


def latest_checkpoint(store: PostgresStore, db: psycopg.Connection[Any]) -> tuple[int, str] | None:
    row = store._exec(db, "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


class PgLog:
    """The Merkle log of one :class:`PostgresStore`: the write path's tree and
    signature (inside the append's transaction), and what is read from it."""

    def __init__(self, store: PostgresStore, keys: Path | None) -> None:
        self.store = store
        self.keys_path = keys_path_for(store.url, keys)
        self._ring: KeyRing | None = None
        #: Public keys to record in ``log_keys`` with the next append (the log's first).
        self._register: list[Verifier] | None = None
        #: Whether ``log_keys`` holds this host's key (known once the ring is loaded).
        self._registered = False
        self._frontier: Frontier | None = None
        self._pending: tuple[Frontier, str, tree.Recent] | None = None
        #: The last append's receipts' material (store/tree.py: Recent), once committed.
        self._recent: tree.Recent | None = None
        self._head_fd: int | None = None

    # -- the write path (postgres.py: _write) -----------------------------------------
    def known_size(self) -> int | None:
        """How many events the cached right edge covers (None: none cached)."""
        return None if self._frontier is None else self._frontier.size

    def prepare(self, db: psycopg.Connection[Any], first: int,
                since: Sequence[tuple[int, str]] = ()) -> None:
        """Inside the append's transaction, after the head row is locked: make
        sure of the key and of the tree's right edge. ``since``: the (seq, hash)
        of the events after :meth:`known_size`, read in the same snapshot as the
        head row; when they reach the head, the edge grows by their leaves, as
        their appender's did. Read from the tree's rows only when they do not."""
        self._pending = None
        if self._ring is None or self._register is not None:
            self._ring, self._register = self._load_ring(db), None
            if not self._registered:
                self._register = self._ring.verifiers
        front = self._frontier
        if front is not None and since and front.size != first - 1:
            seqs = [int(seq) for seq, _h in since]
            if seqs == list(range(front.size + 1, first)):
                front = front.copy()
                front.extend(tree.event_leaves(str(h) for _s, h in since))
        if front is None or front.size != first - 1:
            if tree_size(self.store, db) != first - 1:
                raise StoreError(f"{self.store.path}: the Merkle tree does not end where the log does; "
                                 "run `deconflict audit verify`")
            want = pieces(0, first - 1)
            found = get_nodes(self.store, db, want) if want else {}
            if len(found) != len(want):
                raise StoreError(f"{self.store.path}: the Merkle tree is missing nodes; run `deconflict audit verify`")
            front = Frontier.of(first - 1, [found[p] for p in want])
        self._frontier = front

    def queue(self, db: psycopg.Connection[Any], events: Sequence[Event], at: str) -> None:
        """Queue (in the write's pipeline) the new tree rows and the signed checkpoint."""
        assert self._ring is not None and self._frontier is not None
        grown = self._frontier.copy()  # the cache moves only once committed
        made = grown.extend(tree.event_leaves(e.hash for e in events))
        rows = [(key, h.hex()) for key, h in tree.kept_rows(made)]
        note = sign_note(Checkpoint(self._ring.origin, grown.size, grown.root(), at).text(), self._ring.signer)
        # A third of a row per event, in one statement of several rows (each
        # statement queued costs about as much client CPU as the rows' hashing;
        # an executemany in a pipeline costs a synchronisation of its own).
        for at_once in range(0, len(rows), TREE_ROWS_PER_INSERT):
            chunk = rows[at_once:at_once + TREE_ROWS_PER_INSERT]
            self._exec_queued(db, "INSERT INTO tree_nodes (id, hash) VALUES " + ", ".join(["(%s, %s)"] * len(chunk)),
                              [x for row in chunk for x in row])
        self._exec_queued(db, "INSERT INTO checkpoints (size, note) VALUES (%s, %s)", (grown.size, note))
        if self._register:
            for rank, v in enumerate(reversed(self._register)):
                self._exec_queued(db, "INSERT INTO log_keys (rank, key) VALUES (%s, %s)", (rank, v.encode()))
        self._pending = (grown, note, tree.Recent(self._frontier, made, note,
                                                  {e.seq: (e.hash, e.type, at) for e in events}))

    def committed(self) -> None:
        """After the commit: the cached edge moves, the checkpoint is published."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        self._frontier, self._register, self._recent = pending[0], None, pending[2]
        self._registered = True
        with contextlib.suppress(OSError):
            self._head_fd = vouch.publish(self.keys_path, pending[1], self._head_fd)

    def _trace(self, db: psycopg.Connection[Any], sql: str) -> None:
        if self.store.statements is not None:
            self.store.statements.append((id(db), sql))

    def _exec_queued(self, db: psycopg.Connection[Any], sql: str, params: Sequence[Any]) -> None:
        # A cursor of its own: in a pipeline, the connection's shared cursor
        # would be reused by the next statement before this one's result is read.
        self._trace(db, sql)
        db.cursor().execute(sql, params)

    def _log_keys(self, db: psycopg.Connection[Any]) -> list[str]:
        return [str(r[0]) for r in self.store._exec(db, "SELECT key FROM log_keys ORDER BY rank DESC").fetchall()]

    def _load_ring(self, db: psycopg.Connection[Any]) -> KeyRing:
        """This host's key ring, checked against the public keys the log recorded."""
        recorded = self._log_keys(db)
        path = self.keys_path
        if not recorded:
            if latest_checkpoint(self.store, db) is not None:
                raise StoreError(f"{self.store.path}: the log's checkpoints are signed but its public keys "
                                 "(table log_keys) are gone: restore them before appending")
            self._registered = False
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder {path.parent} for the log's key: {exc}") from None
            return KeyRing.open(path)
        if not path.exists():
            raise StoreError(f"{self.store.path}: this host has no copy of the log's signing key (looked for "
                             f"{path}); copy the key file from a host that appends to this log and name it "
                             f"with {ENV_KEYS}, or nothing can be appended (no checkpoint could be signed)")
        ring = KeyRing.load(path)
        if ring.signer.verifier.encode() != recorded[0]:
            rotated = " (the log's key was rotated since: copy the new key file)" if any(
                v.encode() in recorded for v in ring.verifiers) else ""
            raise StoreError(f"{self.store.path}: the key file {path} holds {ring.signer.verifier.encode()}, "
                             f"not the log's current key {recorded[0]}{rotated}; nothing is appended with it")
        self._registered = True
        return ring

    # -- keys ------------------------------------------------------------------------
    def check_signing(self) -> None:
        """Raise (naming the key file) unless this host holds the log's current key;
        for a log with no key yet, the file is made as the first append would."""
        registered = self._registered
        try:
            with self.store._reader() as db:
                self._load_ring(db)  # not kept: the first append loads it again, and records it if new
        finally:
            self._registered = registered

    def verifiers(self) -> list[Verifier]:
        """This host's key file's public keys when it has one (the keys it trusts);
        otherwise the public keys the database records (an auditor's host: pin the
        key with ``--key`` to trust no one's copy)."""
        if self.keys_path.exists():
            return KeyRing.load(self.keys_path).verifiers
        try:
            with self.store._reader() as db:
                keys = self._log_keys(db)
        except psycopg.Error as exc:
            raise StoreError(f"{self.store.path}: cannot read the log's keys: {exc}") from None
        try:
            return [parse_verifier(k) for k in keys]
        except NoteError as exc:
            raise TamperedLog(0, f"a public key in log_keys is malformed: {exc}") from None

    def rotate(self) -> Verifier:
        """A new signing key under the same origin, recorded in ``log_keys``; the
        current head is signed with it. Other hosts need the new key file."""
        store = self.store
        with store.exclusive():
            with store._reader() as db:
                ring = self._load_ring(db)
            new = Signer.generate(ring.origin)

            def run(db: psycopg.Connection[Any]) -> str | None:
                recorded = self._log_keys(db)
                if recorded and recorded[0] != ring.signer.verifier.encode():
                    raise StoreError(f"{store.path}: the log's key changed while rotating it; try again")
                if not recorded:
                    for rank, v in enumerate(reversed(ring.verifiers)):
                        store._exec(db, "INSERT INTO log_keys (rank, key) VALUES (%s, %s)", (rank, v.encode()))
                store._exec(db, "INSERT INTO log_keys (rank, key) VALUES (%s, %s)",
                            (max(len(recorded), len(ring.verifiers)), new.verifier.encode()))
                head = store._one(db, "SELECT seq, recorded_at FROM head WHERE id = 1")
                if int(head[0]) == 0:
                    return None
                n = int(head[0])
                note = sign_note(Checkpoint(ring.origin, n, PgSource(store, db).root(n), str(head[1])).text(), new)
                store._exec(db, _UPSERT_CHECKPOINT, (n, note))
                return note

            note = self._transaction(run, "cannot rotate the log's key")
            # The file after the database: a failed transaction leaves both as they were.
            ring.retired.insert(0, ring.signer.verifier)
            ring.signer = new
            ring.write()
        self._ring, self._registered, self._register, self._recent = ring, True, None, None
        if note is not None:
            with contextlib.suppress(OSError):
                self._head_fd = vouch.publish(self.keys_path, note, self._head_fd)
        return new.verifier

    def _transaction(self, fn: Any, what: str) -> Any:
        """``fn(db)`` in one SERIALIZABLE transaction on the write connection, retried."""
        from deconflict.store.postgres import _RETRY, MAX_ATTEMPTS, _backoff

        store = self.store
        with store._lock:
            for attempt in range(MAX_ATTEMPTS):
                db = store._conn()
                try:
                    store._exec(db, "BEGIN ISOLATION LEVEL SERIALIZABLE")
                    out = fn(db)
                    store._exec(db, "COMMIT")
                    return out
                except _RETRY as exc:
                    store._rollback(db)
                    if attempt == MAX_ATTEMPTS - 1:
                        raise store._failed(db, what, exc) from None
                except psycopg.Error as exc:
                    store._rollback(db)
                    raise store._failed(db, f"{what}; nothing was written", exc) from None
                except BaseException:
                    store._rollback(db)
                    raise
                _backoff(attempt)
        raise AssertionError("unreachable")

    # -- opening a store from before the tree ------------------------------------------
    def upgrade(self) -> None:
        """Grow and sign the tree of a log written before migration 4 (events, no
        tree, no checkpoint), trusting what it holds, as the SQLite store does.
        Events beyond a signed tree are left for vouch() to name."""
        store = self.store
        # On the write connection (a pooled reader made here would be the one a
        # database restart leaves dead for the next read).
        head = store._query("SELECT seq FROM head WHERE id = 1")
        if not head or int(head[0][0]) == 0 or store._query("SELECT size FROM checkpoints LIMIT 1") or \
                store._query("SELECT id FROM tree_nodes LIMIT 1"):
            return

        def run(db: psycopg.Connection[Any]) -> str | None:
            head = store._one(db, "SELECT seq, recorded_at FROM head WHERE id = 1 FOR UPDATE")
            if latest_checkpoint(store, db) is not None or PgSource(store, db).has_nodes():
                return None
            ring = self._load_ring(db)
            front = Frontier()
            rows: list[tuple[int, str]] = []
            for (h,) in store._exec(db, "SELECT hash FROM events ORDER BY seq").fetchall():
                rows.extend((_node_id(node), x.hex()) for node, x in front.add(tree.event_leaf(str(h))) if kept(node))
            with db.cursor() as cur:
                cur.executemany("INSERT INTO tree_nodes (id, hash) VALUES (%s, %s)", rows)
            note = sign_note(Checkpoint(ring.origin, front.size, front.root(), str(head[1])).text(), ring.signer)
            store._exec(db, _UPSERT_CHECKPOINT, (front.size, note))
            if not self._registered:
                for rank, v in enumerate(reversed(ring.verifiers)):
                    store._exec(db, "INSERT INTO log_keys (rank, key) VALUES (%s, %s)", (rank, v.encode()))
            self._ring = ring
            return note

        note = self._transaction(run, "cannot grow the Merkle tree of the log")
        if note is not None:
            self._registered = True
            with contextlib.suppress(OSError):
                self._head_fd = vouch.publish(self.keys_path, note, self._head_fd)

    # -- what the log proves ---------------------------------------------------------
    def vouch(self, held: Sequence[str], keys: Sequence[Verifier], base: Base | None = None) -> vouch.Report:
        verifiers = [*keys, *self.verifiers()]
        published = vouch.read_published(self.keys_path)  # before the snapshot: see vouch.vouch
        store = self.store
        with store._reader() as db:
            try:
                if not verifiers and latest_checkpoint(store, db) is not None:
                    raise StoreError(f"{store.path}: no public key to check the checkpoints with "
                                     f"(no key file {self.keys_path}, no log_keys): give one with --key")
                return vouch.vouch(PgSource(store, db), store.path, verifiers, held, published, base)
            except psycopg.Error as exc:
                raise store._failed(db, "cannot verify the log", exc) from None

    def checkpoint(self) -> tuple[int, str] | None:
        with self.store._reader() as db:
            return latest_checkpoint(self.store, db)

    def receipts(self, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Receipts (store/tree.py: receipt) for several events: the events, their
        checkpoints and every node of every proof in three round trips."""
        store = self.store
        out: dict[int, dict[str, Any]] = {}
        recent = self._recent
        if recent is not None:
            # The last append's events (a batch of submits asks right after it): from memory.
            out.update(recent.receipts(seqs))
            seqs = [s for s in seqs if s not in out]
        if not seqs:
            return out
        with store._lock:
            db = store._conn()
            try:
                events = {int(r[0]): r for r in store._exec(
                    db, "SELECT seq, hash, type, recorded_at FROM events WHERE seq = ANY(%s)", (list(seqs),))}
                if not events:
                    return out
                first = min(events)
                notes = store._exec(db, "SELECT size, note FROM checkpoints WHERE size >= %s ORDER BY size LIMIT %s",
                                    (first, max(events) - first + 1)).fetchall()
                covering: dict[int, tuple[int, str]] = {}
                for seq in events:
                    found = next(((int(s), str(n)) for s, n in notes if int(s) >= seq), None)
                    if found is None:
                        row = store._exec(db, "SELECT size, note FROM checkpoints WHERE size >= %s ORDER BY size "
                                          "LIMIT 1", (seq,)).fetchone()
                        if row is None:
                            raise ProofError(f"no signed checkpoint covers event {seq} yet")
                        found = (int(row[0]), str(row[1]))
                    covering[seq] = found
                ranges = {seq: inclusion_ranges(seq - 1, covering[seq][0]) for seq in events}
                nodes = get_nodes(store, db, sorted({p for rs in ranges.values() for a, b in rs
                                                     for p in pieces(a, b)}))
            except psycopg.Error as exc:
                raise store._failed(db, "cannot make a receipt", exc) from None
        for seq, (_, h, typ, at) in events.items():
            size, note = covering[seq]
            proof = resolve(ranges[seq], lambda _w: nodes)
            cp = parse_checkpoint(split_note(note)[0])
            verify_inclusion(seq - 1, size, tree.event_leaf(str(h)), proof, cp.root)  # never hand out what fails
            out[seq] = {"format": "deconflict-receipt/v1", "seq": seq, "event_hash": str(h), "type": str(typ),
                        "recorded_at": str(at), "leaf_index": seq - 1, "tree_size": size,
                        "inclusion": [tree.b64(x) for x in proof], "checkpoint": note}
        return out

    def proof(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        with self.store._reader() as db:
            return resolve(ranges, lambda w: get_nodes(self.store, db, w))

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        return self.proof(inclusion_ranges(seq - 1, size))

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return self.proof(consistency_ranges(old, new))

    # -- witnesses -------------------------------------------------------------------
    def add_cosignature(self, size: int, text: str, key: str, line: str) -> None:
        name = key.split("+", 1)[0]
        self._transaction(lambda db: self.store._exec(
            db, "INSERT INTO cosignatures (size, witness, key, line) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (size, witness) DO UPDATE SET key = excluded.key, line = excluded.line",
            (size, name, key, text + "\n" + line)), "cannot keep the cosignature")

    def cosignatures(self, size: int, text: str) -> list[str]:
        rows = self.store._query("SELECT line FROM cosignatures WHERE size = %s ORDER BY witness", (size,))
        return [str(r[0])[len(text) + 1:] for r in rows if str(r[0]).startswith(text + "\n")]

    def witness_keys(self) -> list[str]:
        return sorted({str(r[0]) for r in self.store._query("SELECT key FROM cosignatures")})

    def published(self) -> str | None:
        return vouch.read_published(self.keys_path)

    def close(self) -> None:
        fd, self._head_fd = self._head_fd, None
        if fd is not None:
            os.close(fd)

    # -- the investigator's bundle -------------------------------------------------------
    def copy_to_sqlite(self, out: Path) -> None:
        """Write the log, tree, checkpoints, cosignatures and state to a new SQLite
        file in the SQLite store's layout, from one snapshot: the very bytes that
        were hashed (events are TEXT in both), hashes back from hex to bytes."""
        store = self.store
        lite = sqlite3.connect(out, isolation_level=None)
        try:
            lite.execute("BEGIN")
            for statement in (*_schema.SCHEMA, *tree.SCHEMA):
                lite.execute(statement)
            with store._reader() as db:
                head = store._one(db, "SELECT seq, hash FROM head WHERE id = 1")
                lite.execute("INSERT INTO meta (key, value) VALUES ('head', ?)", (f"{int(head[0])} {head[1]}",))
                margins = store._exec(db, "SELECT value FROM meta WHERE key = 'margins'").fetchone()
                if margins is not None:
                    lite.execute("INSERT INTO meta (key, value) VALUES ('margins', ?)", (str(margins[0]),))
                copies: list[tuple[str, str, str]] = [
                    ("events", _schema.EVENT_COLUMNS, "seq"),
                    ("parties", "id, name, kind, seq, doc", "id"),
                    ("measures", "id, kind, owner, window_start, window_end, seq, doc", "id"),
                    ("declarations", "id, kind, owner, window_start, window_end, seq, doc", "id"),
                    ("checkpoints", "size, note", "size"),
                    ("cosignatures", "size, witness, key, line", "size"),
                ]
                for table, cols, order in copies:
                    marks = ", ".join("?" * len(cols.split(",")))
                    lite.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                                     store._stream(db, f"SELECT {cols} FROM {table} ORDER BY {order}"))
                lite.executemany("INSERT INTO tree_nodes (id, hash) VALUES (?, ?)",
                                 ((int(i), bytes.fromhex(str(h))) for i, h in
                                  store._stream(db, "SELECT id, hash FROM tree_nodes ORDER BY id")))
            lite.execute("COMMIT")
        except (psycopg.Error, sqlite3.Error) as exc:
            raise StoreError(f"cannot write the bundle {out}: {exc}") from None
        finally:
            lite.close()

