"""Receipts, verified offline: a party's proof that the log holds its event.

A receipt (made by :func:`deconflict.store.tree.receipt`) carries the event's
number and hash, a checkpoint signed by the log and the inclusion proof from
the event to that checkpoint's root. With the log's public key alone, anyone
can check it; later, a log that no longer has that event at that place (a
removal, a rewrite) cannot give a consistency proof from the receipt's
checkpoint to its new one, so the receipt proves the removal.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from deconflict.store.merkle import ProofError, leaf_hash, verify_inclusion
from deconflict.store.note import Checkpoint, NoteError, Verifier, open_checkpoint

FORMAT = "deconflict-receipt/v1"


def verify_receipt(receipt: Any, verifiers: Sequence[Verifier], event_hash: str | None = None) -> Checkpoint:
    """The receipt's checkpoint once everything in it verifies; raises
    :class:`ProofError` or :class:`NoteError` saying what does not."""
    if not isinstance(receipt, dict) or receipt.get("format") != FORMAT:
        raise ProofError(f"not a receipt: expected a JSON object with format {FORMAT!r}")
    try:
        seq, size = int(receipt["seq"]), int(receipt["tree_size"])
        h = str(receipt["event_hash"])
        proof = [base64.b64decode(p, validate=True) for p in receipt["inclusion"]]
        note = str(receipt["checkpoint"])
        leaf = leaf_hash(bytes.fromhex(h))
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ProofError(f"the receipt is malformed: {exc}") from None
    if event_hash is not None and event_hash != h:
        raise ProofError("the receipt is for another event")
    cp = open_checkpoint(note, list(verifiers))
    if cp.size != size:
        raise ProofError(f"the receipt says tree size {size} but its checkpoint is of {cp.size}")
    if int(receipt.get("leaf_index", seq - 1)) != seq - 1:
        raise ProofError("the receipt's leaf index is not its event number minus one")
    verify_inclusion(seq - 1, size, leaf, proof, cp.root)
    return cp


__all__ = ["FORMAT", "NoteError", "ProofError", "verify_receipt"]
