"""The Merkle tree and signed checkpoints of a SQLite store.

Tables (created when missing, so older stores gain them at open):

- ``tree_nodes(id, hash)``: the perfect aligned subtrees of every second
  level from level 2 (:data:`deconflict.store.merkle.STRIDE`), keyed by
  :func:`node_id` (:data:`deconflict.store.merkle.Node`). A third of a row per
  event; the others are derived when needed (a leaf from its event's hash).
  Any proof or root reads O(log n) rows in one query of each table. Stores
  written when every subtree was kept read the same (the extra rows are unused).
- ``checkpoints(size, note)``: the signed checkpoint made by each append (the
  C2SP note), so any receipt a party was given can be matched.

Both are derived from the events and written in the same transaction; the
verification at open (:mod:`deconflict.store.vouch`) recomputes the tree from
the events and checks it against the signed checkpoints.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from deconflict.store.keys import KeyRing
from deconflict.store.merkle import (
    EMPTY_ROOT,
    LEAF_PREFIX,
    Frontier,
    Node,
    ProofError,
    compose,
    consistency_ranges,
    fold,
    inclusion_ranges,
    kept,
    leaf_hash,
    pieces,
    resolve,
    sources,
    verify_consistency,
    verify_inclusion,
)
from deconflict.store.note import Checkpoint, parse_checkpoint, sign_note, split_note

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS tree_nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL)",
    # Witnesses' cosignatures of checkpoints (c2sp.org/tlog-cosignature), kept
    # outside the log: recording each as an event would need a new checkpoint.
    """CREATE TABLE IF NOT EXISTS cosignatures (
        size INTEGER NOT NULL, witness TEXT NOT NULL, key TEXT NOT NULL, line TEXT NOT NULL,
        PRIMARY KEY (size, witness))""",
)

_SHIFT = 48
_LEVEL_BITS = 6
#: Set in every :func:`node_id`: no key of the earlier layout (:func:`legacy_node_id`,
#: below 2**54) has it, so a store holds rows of both and reads each by its own.
_ORDERED = 1 << 62


def node_id(level: int, index: int) -> int:
    """The row key of subtree ``(level, index)``: the number of leaves at which
    it is complete, then its level. Keys grow in the order the tree makes them,
    so an append's rows all go to the table's last page: keyed by level first
    (the earlier layout), they went to one page of each level, and the tree
    doubled the pages an append wrote (12 instead of 6 for 24 events)."""
    return _ORDERED | (((index + 1) << level) << _LEVEL_BITS) | level


def legacy_node_id(level: int, index: int) -> int:
    """The key of the first layout (``level << 48 | index``), which stores
    written before :func:`node_id` hold."""
    return (level << _SHIFT) | index


def node_keys(nodes: Iterable[Node]) -> dict[int, Node]:
    """Every key a stored node may have (both layouts; disjoint), to read it by."""
    out: dict[int, Node] = {}
    for n in nodes:
        out[node_id(*n)] = n
        out[legacy_node_id(*n)] = n
    return out


def stored_nodes(keys: dict[int, Node], rows: Iterable[tuple[Any, Any]], decode: Callable[[Any], bytes]
                 ) -> dict[Node, bytes]:
    """The nodes of ``rows`` (key, hash) read by :func:`node_keys`' keys; where
    a node has rows of both layouts, the current one's."""
    out: dict[Node, bytes] = {}
    for key, h in rows:
        node = keys[int(key)]
        if node not in out or int(key) & _ORDERED:
            out[node] = decode(h)
    return out


def event_leaf(event_hash_hex: str) -> bytes:
    """The leaf hash of an event: its chain hash is the leaf's data."""
    return leaf_hash(bytes.fromhex(event_hash_hex))


def event_leaves(event_hashes_hex: Iterable[str]) -> list[bytes]:
    """:func:`event_leaf` of each (an append's, in one loop)."""
    sha256, fromhex = hashlib.sha256, bytes.fromhex
    return [sha256(LEAF_PREFIX + fromhex(h)).digest() for h in event_hashes_hex]


def get_nodes(db: sqlite3.Connection, wanted: Sequence[Node]) -> dict[Node, bytes]:
    """The hashes of ``wanted``: kept rows and the events' hashes, one query each."""
    nodes, leaves = sources(wanted)
    stored: dict[Node, bytes] = {}
    if nodes:
        ids = node_keys(nodes)
        rows = db.execute(f"SELECT id, hash FROM tree_nodes WHERE id IN ({','.join('?' * len(ids))})",
                          tuple(ids)).fetchall()
        stored = stored_nodes(ids, rows, bytes)
    got: dict[int, bytes] = {}
    if leaves:
        rows = db.execute(f"SELECT seq, hash FROM events WHERE seq IN ({','.join('?' * len(leaves))})",
                          tuple(i + 1 for i in leaves)).fetchall()
        got = {int(r[0]) - 1: event_leaf(str(r[1])) for r in rows}
    return compose(wanted, stored, got)


def tree_size(db: sqlite3.Connection) -> int:
    """Leaves the stored tree covers: those of the latest signed checkpoint,
    written in the same transaction as the tree's rows."""
    latest = latest_checkpoint(db)
    return 0 if latest is None else latest[0]


def has_nodes(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT id FROM tree_nodes LIMIT 1").fetchone() is not None


def extend(db: sqlite3.Connection, size: int, leaves: Sequence[bytes]) -> None:
    """Append ``leaves`` to a tree of ``size`` leaves (its edge read from the table)."""
    grow(db, frontier(db, size), leaves)


def frontier(db: sqlite3.Connection, size: int) -> Frontier:
    """The compact range of the first ``size`` leaves, from the table (one query)."""
    want = pieces(0, size)
    found = get_nodes(db, want) if want else {}
    if len(found) != len(want):
        raise ProofError(f"the tree is missing nodes of its first {size} leaves")
    return Frontier.of(size, [found[p] for p in want])


def grow(db: sqlite3.Connection, front: Frontier, leaves: Sequence[bytes],
         made: dict[Node, bytes] | None = None) -> bytes:
    """Append ``leaves`` to the tree whose compact range is ``front`` (updated);
    returns the new root, and puts every node written in ``made``. No reads:
    the frontier holds every left sibling."""
    new = front.extend(leaves)
    db.executemany("INSERT INTO tree_nodes (id, hash) VALUES (?, ?)", kept_rows(new))
    if made is not None:
        made.update(new)
    return front.root()


def kept_rows(made: dict[Node, bytes]) -> list[tuple[int, bytes]]:
    """The rows (key, hash) of the nodes an append made that the table keeps."""
    return [(node_id(level, index), h) for (level, index), h in made.items() if kept((level, index))]


class Recent:
    """What one append made (the tree's edge before it, every node it wrote, its
    signed checkpoint), kept after its commit to answer its events' receipts
    without reading the store: the receipts of a batch of submits are asked
    for right after its append.

    Every subtree an inclusion proof of one of these events names is either a
    node the append wrote (it ends within the append) or a whole subtree of
    the edge before it (a left sibling that ends before the append is a
    maximal subtree of that prefix), so the proof is the one the table gives,
    and the receipt the same bytes as :func:`receipt` makes from the table.

    The receipts of a batch are made together (:meth:`receipts`): one descent
    of the tree from its root to the batch's leaves, each subtree's hash
    encoded once, rather than one walk per event (their proofs share all but
    their lowest steps)."""

    __slots__ = ("_before", "_made", "_memo", "_nodes", "events", "note", "size")

    def __init__(self, before: Frontier, made: dict[Node, bytes], note: str,
                 events: dict[int, tuple[str, str, str]]) -> None:
        # The edge's subtrees are listed only if a receipt is asked for: an
        # append whose events need none (a delivery, a reminder) skips it.
        self._before = before
        self._made = made
        self._nodes: dict[Node, bytes] | None = None
        self.size = before.size + len(events)
        self.note = note
        #: seq -> (hash, type, recorded_at text)
        self.events = events
        #: Each subtree's base64 hash, once: the receipts of one append share most of their proofs.
        self._memo: dict[tuple[int, int], str] = {}

    def _range(self, a: int, b: int) -> str:
        """The base64 MTH of leaves ``[a, b)``, a range some proof of this append names."""
        text = self._memo.get((a, b))
        if text is None:
            nodes = self._nodes
            if nodes is None:
                nodes = self._nodes = self._before.nodes()
                nodes.update(self._made)
            try:
                n = b - a
                if n & (n - 1) == 0:  # a perfect subtree (aligned, as every range a proof names): one node
                    level = n.bit_length() - 1
                    h = nodes[(level, a >> level)]
                else:
                    h = fold([nodes[p] for p in pieces(a, b)])
                text = self._memo[(a, b)] = b64(h)
            except KeyError:
                raise ProofError(f"the last append's tree lacks a node of leaves {a} to {b}") from None
        return text

    def proofs(self, leaves: Sequence[int]) -> dict[int, list[str]]:
        """The inclusion proofs (RFC 9162 2.1.3.1, leaf first, base64) of ``leaves``
        in this append's tree, by one descent: PATH(m, D[n]) is the sibling of
        each split on the way from the root to leaf m, so leaves that share a
        way down share those siblings, computed once."""
        out: dict[int, list[str]] = {}
        targets = sorted(set(leaves))
        if not targets:
            return out
        if targets[0] < 0 or targets[-1] >= self.size:
            raise ProofError(f"a leaf of {targets} is not in a tree of {self.size} leaves")
        path: list[str] = []  # the siblings from the root down to the current subtree

        def walk(lo: int, hi: int, first: int, last: int) -> None:
            # targets[first:last] are the wanted leaves in [lo, hi), at least one.
            if hi - lo == 1:
                out[lo] = path[::-1]
                return
            mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))  # merkle.split, inlined: once per step
            cut = bisect.bisect_left(targets, mid, first, last)
            if cut > first:
                path.append(self._range(mid, hi))
                walk(lo, mid, first, cut)
                path.pop()
            if cut < last:
                path.append(self._range(lo, mid))
                walk(mid, hi, cut, last)
                path.pop()

        walk(0, self.size, 0, len(targets))
        return out

    def receipts(self, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The receipts of those of ``seqs`` this append wrote (others are left out)."""
        mine = [s for s in seqs if s in self.events]
        proofs = self.proofs([s - 1 for s in mine])
        out: dict[int, dict[str, Any]] = {}
        for seq in mine:
            h, typ, at = self.events[seq]
            out[seq] = {
                "format": "deconflict-receipt/v1",
                "seq": seq,
                "event_hash": h,
                "type": typ,
                "recorded_at": at,
                "leaf_index": seq - 1,
                "tree_size": self.size,
                "inclusion": proofs[seq - 1],
                "checkpoint": self.note,
            }
        return out

    def receipt(self, seq: int) -> dict[str, Any] | None:
        return self.receipts([seq]).get(seq)


def root(db: sqlite3.Connection, size: int) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    want = pieces(0, size)
    found = get_nodes(db, want)
    if len(found) != len(want):
        raise ProofError(f"the tree is missing nodes of its first {size} leaves")
    return fold([found[p] for p in want])


def inclusion(db: sqlite3.Connection, index: int, size: int) -> list[bytes]:
    return resolve(inclusion_ranges(index, size), lambda w: get_nodes(db, w))


def consistency(db: sqlite3.Connection, old: int, new: int) -> list[bytes]:
    return resolve(consistency_ranges(old, new), lambda w: get_nodes(db, w))


def sign(db: sqlite3.Connection, ring: KeyRing, size: int, at: str, known_root: bytes | None = None) -> str:
    """Sign and keep the checkpoint of the first ``size`` leaves."""
    r = known_root if known_root is not None else root(db, size)
    note = sign_note(Checkpoint(ring.origin, size, r, at).text(), ring.signer)
    db.execute("INSERT OR REPLACE INTO checkpoints (size, note) VALUES (?, ?)", (size, note))
    return note


def latest_checkpoint(db: sqlite3.Connection) -> tuple[int, str] | None:
    row = db.execute("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def b64(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")


def receipt(db: sqlite3.Connection, seq: int, event_hash: str, event_type: str,
            recorded_at: str) -> dict[str, Any]:
    """Proof that event ``seq`` is in the log: its hash, the signed checkpoint
    of the append that wrote it and the inclusion proof to it, checked before
    it is given out. A party that wants a later checkpoint asks for one and a
    consistency proof (``/v1/log/...``)."""
    # The checkpoint of the append that wrote the event: the same receipt
    # every time it is asked for (an idempotent replay answers as the first time).
    row = db.execute("SELECT size, note FROM checkpoints WHERE size >= ? ORDER BY size LIMIT 1", (seq,)).fetchone()
    if row is None:
        raise ProofError(f"no signed checkpoint covers event {seq} yet")
    size, note = int(row[0]), str(row[1])
    # Its signature is the log's own, made at the append; the proof is what is checked here.
    cp = parse_checkpoint(split_note(note)[0])
    proof = inclusion(db, seq - 1, size)
    # Never hand out what does not verify (a damaged tree table says so here).
    verify_inclusion(seq - 1, size, event_leaf(event_hash), proof, cp.root)
    return {
        "format": "deconflict-receipt/v1",
        "seq": seq,
        "event_hash": event_hash,
        "type": event_type,
        "recorded_at": recorded_at,
        "leaf_index": seq - 1,
        "tree_size": size,
        "inclusion": [b64(h) for h in proof],
        "checkpoint": note,
    }


def check_consistent(db: sqlite3.Connection, old: Checkpoint, new: Checkpoint) -> list[bytes]:
    proof = consistency(db, old.size, new.size)
    verify_consistency(old.size, new.size, old.root, new.root, proof)
    return proof
