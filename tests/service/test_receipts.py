"""Receipts on the hotline's answers, verified offline, over a real server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deconflict.errors import TamperedLog
from deconflict.store.note import NoteError
from deconflict.store.open import open_store
from deconflict.store.receipts import ProofError, verify_receipt
from deconflict.store.vouch import publish
from tests.cli.test_app import run
from tests.service.conftest import Running, new_store
from tests.service.test_http import activity_doc
from tests.store.helpers import Tamperer
from tests.store.test_vouch import rewrite_from


def forge(spec: Path | str, first: int, *, truncate: bool = False) -> None:
    """The operator, with the database and the key, rewrites the log from event
    ``first`` (or cuts it before ``first``), rebuilds the tree, re-signs and
    re-publishes: everything the server holds agrees again. Only checkpoints
    held elsewhere can tell."""
    with open_store(spec) as st:
        db = Tamperer(st)
        head_file = db.head_file
        if truncate:
            db.execute("DELETE FROM events WHERE seq >= ?", (first,))
            for table in ("parties", "measures", "declarations"):  # new objects only, in these tests
                db.execute(f"DELETE FROM {table} WHERE seq >= ?", (first,))
            last = db.one("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
            db.set_head(int(last[0]), str(last[1]))
        else:
            rewrite_from(db, first)
        db.execute("DELETE FROM tree_nodes")
        db.execute("DELETE FROM checkpoints")
        db.close()
    head_file.unlink()
    with open_store(spec) as st:  # rebuilds the tree and signs it, as at any open
        cp = st.checkpoint()
        assert cp is not None
        os.close(publish(head_file.with_name(head_file.name.removesuffix("-head")), cp[1]))
        st.vouch()  # the server's own check passes: a consistent rewrite with the key


def test_submit_ack_and_objection_answer_with_receipts_that_verify_offline(running: Running,
                                                                             tmp_path: Path) -> None:
    store = running.hotline.service.store
    keys = store.verifiers()
    with running.client("regime", "planner") as regime:
        accepted = regime.submit(activity_doc(running, "C2"), override_reason="urgent, told coalition")
    assert accepted["overridden"] is True and "receipt" in accepted
    r = accepted["receipt"]
    cp = verify_receipt(r, keys)
    assert r["type"] == "activity.accepted" and cp.size >= r["seq"]
    answered = []
    for party in accepted["notified"]:
        with running.client(party, "liaison") as liaison:
            for n in liaison.notifications():
                if n.get("answer") is None:
                    answered.append(liaison.object(n["id"], "advisers are there"))
                    break
    assert answered and all(verify_receipt(a["receipt"], keys) for a in answered)
    assert answered[0]["receipt"]["type"] == "notification.objected"
    # Offline, with the exported public key only.
    f = tmp_path / "receipt.json"
    f.write_text(json.dumps(accepted))
    key = store.verifiers()[0].encode()
    res = run("audit", "receipt", "verify", str(f), "--key", key)
    assert res.returncode == 0, res.stderr
    assert f"event {r['seq']}" in res.stdout
    bad = dict(r, event_hash="00" * 32)
    f.write_text(json.dumps(bad))
    res = run("audit", "receipt", "verify", str(f), "--key", key)
    assert res.returncode == 1 and "does not verify" in res.stderr
    with pytest.raises((ProofError, NoteError)):
        verify_receipt(dict(r, checkpoint=r["checkpoint"].replace("\n", "\n\n", 1)), keys)


def test_a_receipt_proves_its_event_was_later_removed(tmp_path: Path, store_kind: str) -> None:
    from tests.service.conftest import started

    path = new_store(store_kind, tmp_path)
    with started(path) as r, r.client("regime", "planner") as regime:
        receipt = regime.submit(activity_doc(r, "C1"))["receipt"]
    forge(path, receipt["seq"])
    with open_store(path) as st, pytest.raises(TamperedLog) as info:
        st.vouch(held=[receipt["checkpoint"]])
    assert info.value.seq <= receipt["seq"] and "held checkpoint 1" in info.value.reason
    with open_store(path) as st:
        with pytest.raises(ProofError):
            # The rewritten log has another event at that place: the old receipt's
            # inclusion proof leads nowhere in it.
            verify_receipt(dict(st.receipt(receipt["seq"]), event_hash=receipt["event_hash"]), st.verifiers())
        verify_receipt(receipt, st.verifiers())  # the receipt itself still verifies: the proof of what was
