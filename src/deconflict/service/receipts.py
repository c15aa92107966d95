"""Receipts on the hotline's answers: every accepted submit, acknowledgement and
objection answers with a ``receipt`` (store/tree.py: receipt), added to the
response without changing its other fields.

A receipt is made after the events are durable and checked before it is
given out; if it cannot be made (the tree table damaged), the answer goes
without one rather than fail an accepted change, and the next start's
verification (store/vouch.py) says what is wrong.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from deconflict.errors import DeconflictError
from deconflict.store.events import Event
from deconflict.store.protocol import Store


def attach_to_submits(store: Store, batch: Sequence[Any], events: Sequence[Event],
                      accepted_seq: Mapping[tuple[str, str], int]) -> None:
    """Give each accepted submit of a batch the receipt of its ``activity.accepted``
    event; a replay (same Idempotency-Key) gets the first answer's receipt, the
    same bytes, since a receipt names the checkpoint of the append that wrote it."""
    accepted = {e.subject: e.seq for e in events if e.type == "activity.accepted"}
    wanted: dict[int, int] = {}
    for i, item in enumerate(batch):
        if item.result is None or "receipt" in item.result[1]:
            continue
        seq = (accepted.get(item.activity.id) if item.result[0]
               else accepted_seq.get((item.who.party, item.idempotency_key)))
        if seq is not None:
            wanted[i] = seq
    if not wanted:
        return
    with contextlib.suppress(DeconflictError):
        made = store.receipts(sorted(set(wanted.values())))
        for i, seq in wanted.items():
            if seq in made:
                batch[i].result[1]["receipt"] = made[seq]


def attach(store: Store, response: dict[str, Any], events: Sequence[Event]) -> dict[str, Any]:
    """``response`` with the receipt of the last of ``events`` (an answer's event)."""
    if events:
        with contextlib.suppress(DeconflictError):
            response["receipt"] = store.receipt(events[-1].seq)
    return response
