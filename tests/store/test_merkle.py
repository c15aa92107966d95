"""The Merkle tree against the RFC 6962/9162 reference vectors and the definition.

The vectors are the ones Certificate Transparency implementations share
(transparency-dev/merkle, proof/verify_test.go, from the C++ reference): eight
leaves, the roots of every prefix, and inclusion and consistency proofs. The
property tests compare the proofs with a brute-force implementation of the
RFC's recursive definitions (PATH, SUBPROOF), written here independently.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deconflict.store.merkle import (
    EMPTY_ROOT,
    Frontier,
    Node,
    ProofError,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    resolve,
    root_from_inclusion,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from deconflict.store.tree import Recent

LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
# (leaf number, 1-based as in the source, tree size, proof)
INCLUSION = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
HASHES = [leaf_hash(d) for d in LEAVES]


# -- brute force, from the RFC's recursive definitions ------------------------------
def mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) <= 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def by_definition(d: list[bytes]) -> dict[Node, bytes]:
    """Every perfect aligned subtree's hash, as a store keeps them."""
    out: dict[Node, bytes] = {}
    level, row = 0, list(d)
    while row:
        for i, h in enumerate(row):
            out[(level, i)] = h
        row = [hashlib.sha256(b"\x01" + row[i] + row[i + 1]).digest() for i in range(0, len(row) - 1, 2)]
        level += 1
    return out


def proof_of(ranges: list[tuple[int, int]], d: list[bytes]) -> list[bytes]:
    nodes = by_definition(d)
    return resolve(ranges, lambda want: {p: nodes[p] for p in want if p in nodes})


# -- the reference vectors ------------------------------------------------------------
def test_roots_match_the_reference_vectors() -> None:
    assert root_of([]) == EMPTY_ROOT == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    for n in range(1, 9):
        assert root_of(HASHES[:n]) == ROOTS[n - 1]
        f = Frontier()
        for h in HASHES[:n]:
            f.add(h)
        assert f.root() == ROOTS[n - 1]


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_reference_vectors(leaf: int, size: int, proof: list[str]) -> None:
    want = [bytes.fromhex(p) for p in proof]
    assert proof_of(inclusion_ranges(leaf - 1, size), HASHES[:size]) == want
    verify_inclusion(leaf - 1, size, HASHES[leaf - 1], want, ROOTS[size - 1])
    for bad_index, bad_size in ((leaf - 2, size), (leaf, size), (leaf - 1, size * 2), (leaf - 1, size // 2)):
        with pytest.raises(ProofError):
            verify_inclusion(bad_index, bad_size, HASHES[leaf - 1], want, ROOTS[size - 1])
    with pytest.raises(ProofError):
        verify_inclusion(leaf - 1, size, HASHES[leaf - 1], [*want, ROOTS[0]], ROOTS[size - 1])
    with pytest.raises(ProofError):
        verify_inclusion(leaf - 1, size, HASHES[leaf - 1], [ROOTS[0], *want], ROOTS[size - 1])
    for i in range(len(want)):
        flipped = list(want)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        with pytest.raises(ProofError):
            verify_inclusion(leaf - 1, size, HASHES[leaf - 1], flipped, ROOTS[size - 1])
    if want:
        with pytest.raises(ProofError):
            verify_inclusion(leaf - 1, size, HASHES[leaf - 1], want[:-1], ROOTS[size - 1])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_vectors(old: int, new: int, proof: list[str]) -> None:
    want = [bytes.fromhex(p) for p in proof]
    assert proof_of(consistency_ranges(old, new), HASHES[:new]) == want
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    verify_consistency(old, new, r1, r2, want)
    bad = [
        (old - 1, new, r1, r2, want), (old + 1, new, r1, r2, want), (old ^ 2, new, r1, r2, want),
        (old, new * 2, r1, r2, want), (old, new // 2, r1, r2, want),
        (old, new, r2, r1, want), (old, new, r1, r2, []),
        (old, new, r1, r2, [*want, r1]), (old, new, r1, r2, [r2, *want]), (old, new, r1, r2, want[:-1]),
    ]
    for i in range(len(want)):
        flipped = list(want)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        bad.append((old, new, r1, r2, flipped))
    for args in bad:
        if args[0] == args[1] == old and args[2:] == (r1, r2, want):
            continue
        with pytest.raises(ProofError):
            verify_consistency(*args)


def test_trivial_consistency() -> None:
    r = ROOTS[0]
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[4], [])
    verify_consistency(1, 1, r, r, [])
    for args in ((1, 1, r, ROOTS[1], []), (2, 1, r, r, []), (1, 2, r, ROOTS[1], []), (1, 1, r, r, [r])):
        with pytest.raises(ProofError):
            verify_consistency(*args)


# -- against the definition, for every shape ------------------------------------------
def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@given(st.integers(1, 70).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_inclusion_is_the_definition(case: tuple[int, int]) -> None:
    n, m = case
    d = leaves(n)
    proof = proof_of(inclusion_ranges(m, n), d)
    assert proof == path(m, d)
    assert root_from_inclusion(m, n, d[m], proof) == mth(d)
    verify_inclusion(m, n, d[m], proof, mth(d))
    with pytest.raises(ProofError):
        verify_inclusion(m, n, node_hash(d[m], d[m]), proof, mth(d))


@given(st.integers(1, 70).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_consistency_is_the_definition(case: tuple[int, int]) -> None:
    m, n = case
    d = leaves(n)
    proof = proof_of(consistency_ranges(m, n), d)
    assert proof == (subproof(m, d, True) if m < n else [])
    verify_consistency(m, n, mth(d[:m]), mth(d), proof)
    if m < n:
        forged = [*d[: m - 1], node_hash(d[m - 1], d[m - 1]), *d[m:]]
        with pytest.raises(ProofError):
            verify_consistency(m, n, mth(forged[:m]), mth(d), proof)


@given(st.integers(0, 70), st.integers(1, 40), st.data())
def test_a_batchs_proofs_made_at_once_are_the_definitions(before: int, batch: int, data: st.DataObject) -> None:
    """The receipts of an append's events are made in one descent of its tree
    (store/tree.py: Recent.proofs) from the edge before it and the nodes it
    made: each is PATH(m, D[n]) by the RFC's definition, whichever of the
    append's events are asked for together."""
    d = leaves(before + batch)
    front = Frontier()
    for h in d[:before]:
        front.add(h)
    grown, made = front.copy(), {}
    for h in d[before:]:
        made.update(grown.add(h))
    events = {before + 1 + i: (h.hex(), "note.added", "t") for i, h in enumerate(d[before:])}
    recent = Recent(front, made, "the note", events)
    wanted = data.draw(st.lists(st.sampled_from(sorted(events)), min_size=1, unique=True))
    asked = [*wanted, before]  # an event of an earlier append: not this one's to answer
    got = recent.receipts(asked)
    assert sorted(got) == sorted(wanted)
    for seq, receipt in got.items():
        assert [base64.b64decode(p) for p in receipt["inclusion"]] == path(seq - 1, d)
        assert (receipt["tree_size"], receipt["leaf_index"], receipt["checkpoint"]) == (before + batch, seq - 1,
                                                                                       "the note")
        verify_inclusion(seq - 1, before + batch, d[seq - 1],
                         [base64.b64decode(p) for p in receipt["inclusion"]], mth(d))


@given(st.integers(0, 70), st.integers(0, 40))
def test_extending_a_frontier_at_once_is_adding_leaf_by_leaf(before: int, batch: int) -> None:
    d = leaves(before + batch)
    one, many = Frontier(), Frontier()
    for h in d[:before]:
        one.add(h)
        many.add(h)
    made = {}
    for h in d[before:]:
        made.update(one.add(h))
    assert many.extend(d[before:]) == made
    assert (many.size, many.root(), many.nodes()) == (one.size, one.root(), one.nodes()) == (
        before + batch, mth(d), one.nodes())
