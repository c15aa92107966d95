"""The Merkle tree over the log, as RFC 9162 (Certificate Transparency 2.0) defines it.

Pure functions, no storage: the hashes, which subtrees make up an inclusion or
a consistency proof, and the verification of both, written from sections
2.1.1-2.1.4 of the RFC so that an auditor can check them against the text.

- ``MTH({}) = SHA-256()``; ``MTH({d0}) = SHA-256(0x00 || d0)``;
  ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` with ``k`` the
  largest power of two smaller than ``n``.
- A log's leaf ``i`` is event ``i + 1``; its data is the event's 32-byte hash
  (:func:`deconflict.store.events.event_hash`), so the tree commits to the
  chain and an inclusion proof starts from what a receipt holder can recompute.

Proofs are lists of *ranges* ``(start, end)`` of leaves; a store turns each
range into the hash of that subtree (:func:`pieces` says which stored perfect
subtrees make it up), so a proof costs O(log n) stored hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from deconflict.errors import DeconflictError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
#: The root of the empty tree: SHA-256 of nothing.
EMPTY_ROOT = hashlib.sha256(b"").digest()

Range = tuple[int, int]
#: A perfect, aligned subtree: ``(level, index)`` covers leaves
#: ``[index * 2**level, (index + 1) * 2**level)``.
Node = tuple[int, int]


class ProofError(DeconflictError):
    """A proof does not verify, or is not of the shape its sizes require."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of leaf hashes, by the definition (recursive; O(n): for tests and small trees)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = split(n)
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


# -- which subtrees a proof holds ---------------------------------------------------
def inclusion_ranges(index: int, size: int) -> list[Range]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1 as leaf ranges, in proof order (leaf first)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    out: list[Range] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = split(hi - lo)
        if m < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m = lo + k, m - k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[Range]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of RFC 9162 2.1.4.1 as leaf ranges."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from {old} to {new} leaves")
    if old in (0, new):
        return []
    out: list[Range] = []
    lo, hi, m, whole = 0, new, old, True
    while m != hi - lo:
        k = split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        out.append((lo, hi))
    out.reverse()
    return out


def pieces(start: int, end: int) -> list[Node]:
    """The perfect aligned subtrees, left to right, whose right fold is MTH(D[start:end]).

    Valid for every range a proof names (a subtree of the RFC's split): its
    start is a multiple of the largest power of two not above its length."""
    out: list[Node] = []
    while end - start > 0:
        n = end - start
        k = 1 << (n.bit_length() - 1) if n & (n - 1) else n
        level = k.bit_length() - 1
        out.append((level, start >> level))
        start += k
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its :func:`pieces`' hashes."""
    h = hashes[-1]
    for p in reversed(hashes[:-1]):
        h = node_hash(p, h)
    return h


def resolve(ranges: Sequence[Range], get: Callable[[list[Node]], dict[Node, bytes]]) -> list[bytes]:
    """The hashes of ``ranges``, fetching every needed stored node in one call of ``get``."""
    split_up = [pieces(a, b) for a, b in ranges]
    wanted = sorted({p for ps in split_up for p in ps})
    found = get(wanted) if wanted else {}
    missing = [p for p in wanted if p not in found]
    if missing:
        raise ProofError(f"the tree is missing stored nodes {missing[:3]}")
    return [fold([found[p] for p in ps]) for ps in split_up]


# -- which subtrees a store keeps ---------------------------------------------------
#: A store keeps the perfect subtrees of every ``STRIDE``-th level from ``STRIDE``
#: up (levels 2, 4, 6...: a third of a row per event, not two), and derives the
#: others when a proof names them: a leaf from its event's hash, a subtree of
#: an odd level from the two kept ones below it. An append writes a sixth of
#: the rows it wrote when every subtree was kept, and a proof reads at most
#: twice the rows, still in one query of the tree and one of the events.
STRIDE = 2


def kept(node: Node) -> bool:
    return node[0] >= STRIDE and node[0] % STRIDE == 0


def sources(wanted: Sequence[Node]) -> tuple[set[Node], set[int]]:
    """The kept subtrees and the leaves (by index) that make up ``wanted``."""
    nodes: set[Node] = set()
    leaves: set[int] = set()
    for level, index in wanted:
        if kept((level, index)):
            nodes.add((level, index))
        elif level < STRIDE:
            leaves.update(range(index << level, (index + 1) << level))
        else:
            k = level % STRIDE
            nodes.update((level - k, (index << k) + j) for j in range(1 << k))
    return nodes, leaves


def compose(wanted: Sequence[Node], stored: dict[Node, bytes], leaves: dict[int, bytes]) -> dict[Node, bytes]:
    """The hashes of ``wanted`` from what :func:`sources` named; a node whose
    sources are missing is left out (the caller says which)."""
    out: dict[Node, bytes] = {}
    for node in wanted:
        level, index = node
        if kept(node):
            parts = [stored.get(node)]
        elif level < STRIDE:
            parts = [leaves.get(i) for i in range(index << level, (index + 1) << level)]
        else:
            k = level % STRIDE
            parts = [stored.get((level - k, (index << k) + j)) for j in range(1 << k)]
        if all(p is not None for p in parts):
            out[node] = root_of([p for p in parts if p is not None])
    return out


# -- verification (RFC 9162 2.1.3.2 and 2.1.4.2) ----------------------------------
def _check_hash(h: object, what: str) -> bytes:
    if not isinstance(h, bytes) or len(h) != HASH_SIZE:
        raise ProofError(f"{what} is not a {HASH_SIZE}-byte hash")
    return h


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` gives for ``leaf`` at ``index``; raises if the shape is wrong."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    r = _check_hash(leaf, "the leaf hash")
    fn, sn = index, size - 1
    for i, given in enumerate(proof):
        p = _check_hash(given, f"proof[{i}]")
        if sn == 0:
            raise ProofError(f"the proof is longer than a tree of {size} leaves allows")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the proof is shorter than a tree of {size} leaves needs")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows ``leaf`` at ``index`` under ``root``."""
    if root_from_inclusion(index, size, leaf, proof) != _check_hash(root, "the root"):
        raise ProofError(f"leaf {index} is not in the tree of {size} leaves with that root")


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Raise :class:`ProofError` unless the tree of ``new`` leaves extends the one of ``old``."""
    if not 0 <= old <= new:
        raise ProofError(f"a tree of {new} leaves cannot extend one of {old}: the log went backwards")
    if old == new:
        if proof:
            raise ProofError("equal sizes take an empty proof")
        if old_root != new_root:
            raise ProofError(f"two different roots for the same {old} leaves: the log forked")
        return
    if old == 0:
        if proof:
            raise ProofError("the empty tree takes an empty proof")
        return
    if not proof:
        raise ProofError(f"an empty proof cannot show {new} leaves extend {old}")
    path = [_check_hash(p, f"proof[{i}]") for i, p in enumerate(proof)]
    _check_hash(old_root, "the old root")
    _check_hash(new_root, "the new root")
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"the proof is longer than sizes {old} and {new} allow")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the proof is shorter than sizes {old} and {new} need")
    if fr != old_root:
        raise ProofError(f"the proof does not lead to the old root: the first {old} leaves were changed")
    if sr != new_root:
        raise ProofError(f"the tree of {new} leaves with that root does not extend the tree of {old}")


class Frontier:
    """A compact range over a growing prefix: the root of any size as leaves
    stream past, in O(log n) memory (for checking a whole log against a checkpoint)."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (level, hash), levels decreasing

    @classmethod
    def of(cls, size: int, nodes: Sequence[bytes]) -> Frontier:
        """The frontier of ``size`` leaves from the hashes of :func:`pieces` (0, size)."""
        f = cls()
        f.size = size
        f._stack = [(level, h) for (level, _), h in zip(pieces(0, size), nodes, strict=True)]
        return f

    def add(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Add a leaf; returns it and every perfect subtree it completes, as ``(node, hash)``."""
        index = self.size
        level, h = 0, leaf
        made = [((0, index), h)]
        stack = self._stack
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            h = node_hash(left, h)
            level += 1
            made.append(((level, index >> level), h))
        stack.append((level, h))
        self.size += 1
        return made

    def extend(self, leaves: Iterable[bytes]) -> dict[Node, bytes]:
        """Add leaves, as :meth:`add` one by one; returns every node made, by node.
        The append's path: one loop, no call per node (a third of its tree's CPU)."""
        made: dict[Node, bytes] = {}
        stack = self._stack
        index = self.size
        sha256 = hashlib.sha256
        for leaf in leaves:
            level, h = 0, leaf
            made[(0, index)] = h
            while stack and stack[-1][0] == level:
                h = sha256(NODE_PREFIX + stack.pop()[1] + h).digest()
                level += 1
                made[(level, index >> level)] = h
            stack.append((level, h))
            index += 1
        self.size = index
        return made

    def nodes(self) -> dict[Node, bytes]:
        """The stored subtrees this compact range is made of, by node."""
        return dict(zip(pieces(0, self.size), (h for _, h in self._stack), strict=True))

    def copy(self) -> Frontier:
        f = Frontier()
        f.size, f._stack = self.size, list(self._stack)
        return f

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        hashes = [h for _, h in self._stack]
        return fold(hashes)
