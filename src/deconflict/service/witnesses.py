"""Witnesses, the service's side: cosignatures received, published, and fork reports.

A party's ``deconflict audit follow`` (cli/follow.py) checks each checkpoint
it fetches against the last one it holds, then cosigns it (c2sp.org
tlog-cosignature) and posts the cosignature here; the service checks it and
keeps it, and ``GET /v1/log/checkpoint`` serves the checkpoint with every
cosignature on it. A witness that finds two checkpoints it cannot reconcile
posts both: the service checks that both are signed by the log, and if so
records ``log.fork_reported`` in the log, which every party's stream carries
and ``audit verify`` shows. (A log that has really forked may of course not
record it: the witness keeps the evidence and says so itself.)
"""

from __future__ import annotations

from typing import Any

from deconflict.errors import InvalidInput
from deconflict.service.auth import Action, Principal
from deconflict.store.events import EventDraft
from deconflict.store.merkle import ProofError, verify_consistency
from deconflict.store.note import COSIGNATURE_V1, NoteError, check_cosignature, open_checkpoint, parse_verifier
from deconflict.store.protocol import Store

FORK_REPORTED = "log.fork_reported"
MAX_NOTE = 4096


def _text(body: dict[str, Any], field: str) -> str:
    v = body.get(field)
    if not isinstance(v, str) or not v or len(v) > MAX_NOTE:
        raise InvalidInput(field, f"must be a non-empty string of at most {MAX_NOTE} characters")
    return v


class Witnesses:
    def __init__(self, store: Store) -> None:
        self.store = store

    def keys(self) -> list[str]:
        return self.store.witness_keys()

    def cosigned(self, note: str) -> str:
        """``note`` with the cosignature lines of every witness that cosigned its text."""
        cp = open_checkpoint(note, self.store.verifiers())
        lines = self.store.cosignatures(cp.size, cp.text())
        return note + "".join(lines)

    def receive(self, hotline: Any, who: Principal, body: dict[str, Any]) -> dict[str, Any]:
        who.require(Action.READ)
        if "conflict" in body:
            return self._fork(hotline, who, body)
        key_text = _text(body, "key")
        note = _text(body, "checkpoint")
        line = _text(body, "cosignature")
        try:
            witness = parse_verifier(key_text)
            if witness.kind != COSIGNATURE_V1:
                raise InvalidInput("key", "a witness key is of type 0x04 (cosignature/v1)")
            cp = open_checkpoint(note, self.store.verifiers())
            check_cosignature(cp.text(), line if line.endswith("\n") else line + "\n", witness)
        except NoteError as exc:
            raise InvalidInput("cosignature", str(exc)) from None
        if not witness.name.endswith(f"/{who.party}"):
            raise InvalidInput("key", f"a witness of party {who.party} is named .../{who.party}")
        self.store.add_cosignature(cp.size, cp.text(), witness.encode(), line)
        return {"size": cp.size, "witness": witness.name, "kept": True}

    def _fork(self, hotline: Any, who: Principal, body: dict[str, Any]) -> dict[str, Any]:
        notes = body.get("conflict")
        if not isinstance(notes, list) or len(notes) != 2 or not all(isinstance(n, str) for n in notes):
            raise InvalidInput("conflict", "must be the two checkpoints that disagree")
        try:
            a, b = sorted((open_checkpoint(n, self.store.verifiers()) for n in notes), key=lambda c: c.size)
        except NoteError as exc:
            raise InvalidInput("conflict", f"both checkpoints must be signed by this log: {exc}") from None
        if (a.size, a.root) == (b.size, b.root) or (a.size < b.size and self._extends(a, b)):
            raise InvalidInput("conflict", "the two checkpoints are consistent: the log extends the first one")
        hotline.record([EventDraft(FORK_REPORTED, who.party, "", {
            "reported_by": who.party, "member": who.member, "checkpoints": list(notes),
            "sizes": [a.size, b.size],
            "finding": "two checkpoints signed by the log that no single history explains: the log was rewritten",
        })])
        return {"recorded": True, "sizes": [a.size, b.size]}

    def _extends(self, a: Any, b: Any) -> bool:
        """Whether the log's own tree shows ``b`` extending ``a`` (both must match it)."""
        try:
            proof = self.store.consistency_proof(a.size, b.size)
            verify_consistency(a.size, b.size, a.root, b.root, proof)
        except (ProofError, InvalidInput):
            return False
        return True
