"""What the store vouches for: tampering that the hash chain alone missed is caught,
named at its first bad event, by the signed checkpoints and the state check, on
both stores (the PostgreSQL store's Merkle log is store/_pg_merkle.py)."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from deconflict.errors import StoreError, TamperedLog
from deconflict.store import tree
from deconflict.store.events import EventDraft, canonical_json, stored_event_hash
from deconflict.store.merkle import Frontier, kept, verify_consistency, verify_inclusion
from deconflict.store.note import open_checkpoint
from deconflict.store.protocol import Store
from deconflict.store.receipts import verify_receipt
from tests.store.conftest import open_spec
from tests.store.helpers import Tamperer, World

N = 24


@pytest.fixture
def logged(store: Store, world: World) -> Store:
    store.append(world.drafts())
    head = store.head()
    assert head is not None
    for i in range(head.seq + 1, N + 1):
        store.append([EventDraft("note.added", "admin", "", {"text": f"MARKER-{i:04d}"})])
    assert store.vouch().events == N
    return store


def caught(store: Store, *sql: str, held: tuple[str, ...] = ()) -> TamperedLog:
    db = Tamperer(store)
    for statement in sql:
        db.execute(statement)
    db.close()
    with pytest.raises(TamperedLog) as info:
        store.vouch(held=held)
    return info.value


def rewrite_from(db: Tamperer | sqlite3.Connection, first: int, text: str = "FORGED") -> None:
    """Replace event ``first``'s payload and recompute every later hash and the
    recorded head: the chain is intact again, as a tamperer with the file leaves it."""
    if isinstance(db, sqlite3.Connection):
        rows = db.execute("SELECT seq, recorded_at, type, actor, subject, payload, prev_hash FROM events "
                          "WHERE seq >= ? ORDER BY seq", (first,)).fetchall()
    else:
        rows = db.execute("SELECT seq, recorded_at, type, actor, subject, payload, prev_hash FROM events "
                          "WHERE seq >= ? ORDER BY seq", (first,))
    prev = rows[0][6]
    for seq, at, typ, actor, subject, stored, _ in rows:
        payload = canonical_json({"text": text}) if seq == first else stored
        h = stored_event_hash(seq, at, typ, actor, subject, payload, prev)
        db.execute("UPDATE events SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?", (payload, prev, h, seq))
        prev = h
    if isinstance(db, sqlite3.Connection):
        db.execute("UPDATE meta SET value = ? WHERE key = 'head'", (f"{rows[-1][0]} {prev}",))
    else:
        db.set_head(rows[-1][0], prev)


def test_a_good_log_checks_every_checkpoint_and_the_state(logged: Store) -> None:
    report = logged.vouch()
    assert report.events == N and report.published == N and N in report.checkpoints_checked
    assert report.state_rows > 0


def test_the_sql_update_shrinking_s1s_protection_is_caught(logged: Store) -> None:
    """Issue 9: one UPDATE of the declarations table changed what the server enforced."""
    t = Tamperer(logged)
    doc = json.loads(t.one("SELECT doc FROM declarations WHERE id = 'S1'")[0])
    t.close()
    text = json.dumps(doc)
    assert "protection" in text
    doc_small = json.loads(text)
    for k in list(doc_small):
        if "protection" in k:
            doc_small[k] = 1
    err = caught(logged, f"UPDATE declarations SET doc = '{canonical_json(doc_small)}' WHERE id = 'S1'")
    assert "S1" in str(err) and "edited outside the log" in err.reason
    assert err.seq > 0


def test_a_deleted_and_an_invented_state_row_are_caught(logged: Store) -> None:
    err = caught(logged, "DELETE FROM declarations WHERE id = 'S1'")
    assert "no row" in err.reason
    db = Tamperer(logged)
    db.execute("INSERT INTO declarations SELECT 'X9', kind, owner, window_start, window_end, seq, doc "
               "FROM declarations LIMIT 1")
    db.close()
    with pytest.raises(TamperedLog, match=r"no event declared|claims event|not what event"):
        logged.vouch()


def test_truncation_with_the_head_rewritten_is_caught(logged: Store) -> None:
    """Issue 9: the log cut at 20 and the recorded head rewritten to match passed the chain."""
    db = Tamperer(logged)
    h20 = db.one("SELECT hash FROM events WHERE seq = 20")[0]
    db.set_head(20, h20)
    db.close()
    err = caught(logged, "DELETE FROM events WHERE seq > 20",
                 "DELETE FROM checkpoints WHERE size > 20", "DELETE FROM tree_nodes")
    assert err.seq == 21 and "truncated" in err.reason


def test_a_consistent_rewrite_is_named_at_its_first_event(logged: Store) -> None:
    db = Tamperer(logged)
    rewrite_from(db, 19)
    db.close()
    with pytest.raises(TamperedLog) as info:
        logged.vouch()
    assert info.value.seq == 19 and "rewritten from event 19" in info.value.reason


def test_a_rewrite_with_the_checkpoints_and_head_file_removed_is_caught_by_a_held_checkpoint(
        logged: Store) -> None:
    db = Tamperer(logged)
    held = [db.one("SELECT note FROM checkpoints WHERE size = ?", (n,))[0] for n in (21, N)]
    rewrite_from(db, 22)
    db.execute("DELETE FROM checkpoints")
    db.execute("DELETE FROM tree_nodes")
    db.close()
    db.head_file.unlink()
    err = caught(logged, held=(held[1],))
    assert "held checkpoint 1" in err.reason and "events 1 to 24" in err.reason
    err = caught(logged, held=tuple(held))
    assert "held checkpoint 2" in err.reason and err.seq == 22 and "events 22 to 24" in err.reason


def test_edited_deleted_reordered_events_are_still_named(logged: Store) -> None:
    assert caught(logged, "UPDATE events SET payload = replace(payload, '0020', '0021') WHERE seq = 20").seq == 20


def test_proofs_served_verify_against_the_signed_checkpoints(logged: Store) -> None:
    keys = logged.verifiers()
    size, note = logged.checkpoint() or (0, "")
    cp = open_checkpoint(note, keys)
    assert cp.size == size == N
    for seq in (1, 7, N):
        e = next(x for x in logged.events(after_seq=seq - 1))
        verify_inclusion(seq - 1, N, tree.event_leaf(e.hash), logged.inclusion_proof(seq, N), cp.root)
        r = logged.receipt(seq)
        # The checkpoint of the append that wrote it: the world was one append of 17.
        assert r["seq"] == seq and r["tree_size"] == (17 if seq <= 17 else seq)
        assert verify_receipt(r, keys).size == r["tree_size"]
    logged.append([EventDraft("note.added", "admin", "", {"text": "later"})])
    new = open_checkpoint((logged.checkpoint() or (0, ""))[1], keys)
    verify_consistency(N, N + 1, cp.root, new.root, logged.consistency_proof(N, N + 1))


def test_a_rotated_key_signs_on_and_old_checkpoints_still_verify(logged: Store) -> None:
    old = logged.verifiers()[0]
    new = logged.rotate_key()
    assert new != old and logged.verifiers()[:2] == [new, old]
    logged.append([EventDraft("note.added", "admin", "", {"text": "after rotation"})])
    assert logged.vouch().events == N + 1


def test_events_inserted_by_sql_are_not_signed_at_the_next_open(logged: Store, store_spec: str) -> None:
    """Regression: opening the store grew the tree over events added behind its
    back (head rewritten too) and signed them, laundering the forgery."""
    last = logged.head()
    assert last is not None
    at = last.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    payload = canonical_json({"text": "extra"})
    h = stored_event_hash(N + 1, at, "note.added", "admin", "", payload, last.hash)
    db = Tamperer(logged)
    db.execute(f"INSERT INTO events VALUES ({N + 1}, '{at}', 'note.added', 'admin', '', '{payload}', "
               f"'{last.hash}', '{h}')")
    db.set_head(N + 1, h)
    db.close()
    with open_spec(store_spec) as reopened:
        with pytest.raises(TamperedLog) as info:
            reopened.vouch()
        assert info.value.seq == N + 1 and "no signed checkpoint" in info.value.reason
        with pytest.raises(StoreError, match="does not end where the log does"):
            reopened.append([EventDraft("note.added", "admin", "", {"text": "after"})])


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_receipts_of_the_last_append_come_from_memory_and_are_the_tables(logged: Store, store_spec: str,
                                                                         batch: int) -> None:
    """The receipts a batch of submits asks for right after its append are made
    from what the append computed; they are, byte for byte, those another
    process makes from the tables, and verify."""
    made = logged.append([EventDraft("note.added", "admin", "", {"text": f"batch {i}"}) for i in range(batch)])
    seqs = [e.seq for e in made]
    mine = logged.receipts(seqs)
    with open_spec(store_spec) as other:
        assert other.receipts(seqs) == mine
    for seq in seqs:
        assert verify_receipt(mine[seq], logged.verifiers()).size == N + batch
    # An older event (not in the last append) still gets its receipt, from the tables.
    assert logged.receipts([3, seqs[0]])[3] == logged.receipt(3)


def test_every_proof_of_a_grown_log_verifies(store: Store) -> None:
    """The store keeps every second level of the tree (store/merkle.py: STRIDE) and
    derives the rest: every inclusion proof of every event, and every consistency
    proof between the checkpoints of appends of uneven sizes, verify against the
    signed roots (a missing or wrongly derived subtree fails here)."""
    sizes = [1, 2, 1, 5, 3, 8, 1, 16, 7, 2, 1]
    roots: dict[int, bytes] = {}
    for i, k in enumerate(sizes):
        store.append([EventDraft("note.added", "admin", "", {"text": f"{i}.{j}"}) for j in range(k)])
        size, note = store.checkpoint() or (0, "")
        roots[size] = open_checkpoint(note, store.verifiers()).root
    hashes = [e.hash for e in store.events()]
    assert len(hashes) == sum(sizes) == max(roots)
    for size, root in roots.items():
        for seq in range(1, size + 1):
            verify_inclusion(seq - 1, size, tree.event_leaf(hashes[seq - 1]), store.inclusion_proof(seq, size), root)
        for old, old_root in roots.items():
            if old <= size:
                verify_consistency(old, size, old_root, root, store.consistency_proof(old, size))


def test_tree_rows_are_keyed_in_the_order_the_tree_makes_them() -> None:
    """An append's tree rows go to the end of the table (one page), not one page
    of each level: every kept subtree's key is larger than every earlier one's.
    The keys of the first layout (level first) are not, and doubled the pages
    an append wrote."""
    front = Frontier()
    keys: list[int] = []
    for i in range(5000):
        keys += [tree.node_id(*node) for node, _h in front.add(hashlib.sha256(b"%d" % i).digest()) if kept(node)]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) > 1600
    assert not set(keys) & {tree.legacy_node_id(level, index) for level in range(64) for index in range(5000)}


def test_a_store_of_the_first_tree_layout_still_reads_and_grows(logged: Store, store_spec: str) -> None:
    """A store whose tree rows were written with the first key layout (level <<
    48 | index) verifies, gives receipts from its tables, and appends (new rows
    in the current layout beside the old ones)."""
    db = Tamperer(logged)
    rows = db.execute("SELECT id, hash FROM tree_nodes")
    db.execute("DELETE FROM tree_nodes")
    back = {tree.node_id(level, index): (level, index) for level in range(2, 12, 2) for index in range(64)}
    for key, h in rows:
        db.execute("INSERT INTO tree_nodes (id, hash) VALUES (?, ?)", (tree.legacy_node_id(*back[int(key)]), h))
    db.close()
    with open_spec(store_spec) as old:
        assert old.vouch().events == N
        for seq in (1, 7, N):
            verify_receipt(old.receipt(seq), old.verifiers())
        made = old.append([EventDraft("note.added", "admin", "", {"text": f"after {i}"}) for i in range(9)])
        assert old.vouch().events == N + 9
    with open_spec(store_spec) as again:
        for seq in (3, N, made[0].seq, made[-1].seq):
            verify_receipt(again.receipt(seq), again.verifiers())


def test_an_append_that_fails_in_its_write_writes_nothing(logged: Store) -> None:
    """A statement of the append's write fails (here a tree row already there):
    nothing is written, though PostgreSQL's COMMIT went in the same round trip
    (store/postgres.py: _write), and the store appends on once it is removed."""
    db = Tamperer(logged)
    planted = tree.node_id(2, N // 4)  # completed by the 28th event
    db.execute("INSERT INTO tree_nodes (id, hash) VALUES (?, ?)",
               (planted, "00" * 32 if db.pg is not None else b"\0" * 32))  # hex TEXT on PostgreSQL
    drafts = [EventDraft("note.added", "admin", "", {"text": f"late {i}"}) for i in range(8)]
    with pytest.raises(StoreError, match="nothing was written"):
        logged.append(drafts)
    head = logged.head()
    assert head is not None and head.seq == N and len(list(logged.events())) == N
    db.execute("DELETE FROM tree_nodes WHERE id = ?", (planted,))
    db.close()
    made = logged.append(drafts)
    assert made[0].seq == N + 1 and logged.vouch().events == N + 8
    verify_receipt(logged.receipt(N + 8), logged.verifiers())
