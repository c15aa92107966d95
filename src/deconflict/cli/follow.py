"""``deconflict audit follow``: a party's own witness of the log.

Run by a party, with its own credential, on its own machine. Each round it
fetches the latest checkpoint, checks the log's signature, checks that the
log extends the last checkpoint it holds (a consistency proof, RFC 9162),
keeps the new one, cosigns it (c2sp.org/tlog-cosignature) and posts the
cosignature. Two checkpoints that no single history explains are proof of
tampering: the witness writes them to ``fork-<size>-<size>.json`` in its
folder, reports them to the service (recorded as ``log.fork_reported`` and
carried to every party), and exits 1.

Its folder holds ``witness-key`` (its private key, made at the first run),
``log-keys`` (the log's public keys: given with ``--key`` or trusted at the
first run), ``checkpoint`` (the last one it verified) and ``checkpoints``
(every one it held, appended).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from deconflict.errors import DeconflictError, InvalidInput, StoreError
from deconflict.store.merkle import ProofError, verify_consistency
from deconflict.store.note import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    cosign,
    open_checkpoint,
    parse_signer,
    parse_verifier,
    split_note,
)


class ForkFound(DeconflictError):
    """Two signed checkpoints of the log that no single history explains."""

    def __init__(self, reason: str, evidence: Path) -> None:
        self.reason = reason
        self.evidence = evidence
        super().__init__(f"the log is not consistent with what this witness held: {reason} "
                         f"(evidence kept in {evidence})")


@dataclass
class Round:
    checkpoint: Checkpoint
    previous: int | None
    cosigned: bool


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class Witness:
    def __init__(self, url: str, token: str, folder: Path, keys: list[Verifier]) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=30.0,
                                 headers={"Authorization": f"Bearer {token}"})
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.keys = keys or self._trusted_keys()

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, **params: int) -> httpx.Response:
        try:
            r = self.http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise StoreError(f"cannot reach the service: {exc}") from None
        if r.status_code != 200:
            raise StoreError(f"GET {path}: {r.status_code} {r.text[:200]}")
        return r

    def _trusted_keys(self) -> list[Verifier]:
        path = self.folder / "log-keys"
        if path.exists():
            return [parse_verifier(ln) for ln in path.read_text("utf-8").splitlines() if ln.strip()]
        # Trust on first use: compare it with the key the operator gave you out of band.
        keys = [parse_verifier(k) for k in self._get("/v1/log/keys").json()["log"]]
        _write(path, "".join(v.encode() + "\n" for v in keys))
        return keys

    def _signer(self) -> Signer:
        path = self.folder / "witness-key"
        if path.exists():
            return parse_signer(path.read_text("utf-8").strip())
        party = str(self._get("/v1/me").json().get("party") or "admin")
        signer = Signer.generate(f"witness/{party}", COSIGNATURE_V1)
        _write(path, signer.encode() + "\n", 0o600)
        return signer

    def _held(self) -> str | None:
        path = self.folder / "checkpoint"
        return path.read_text("utf-8") if path.exists() else None

    def _strip(self, note: str) -> str:
        """The log's note without the cosignatures the service added."""
        text, sigs = split_note(note)
        ours = {(v.name, v.id) for v in self.keys}
        return text + "\n" + "".join(s.line() for s in sigs if (s.name, s.id) in ours)

    def round(self) -> Round:
        note = self._strip(self._get("/v1/log/checkpoint").text)
        try:
            new = open_checkpoint(note, self.keys)
        except NoteError as exc:
            raise ForkFound(f"the service's checkpoint is not signed by the log's key: {exc}",
                            self._evidence(self._held() or "", note, "unsigned")) from None
        held_note = self._held()
        previous = None
        if held_note is not None:
            old = open_checkpoint(held_note, self.keys)
            previous = old.size
            self._check(old, new, held_note, note)
        _write(self.folder / "checkpoint", note)
        with (self.folder / "checkpoints").open("a", encoding="utf-8") as f:
            f.write(json.dumps(note) + "\n")
        signer = self._signer()
        line = cosign(new.text(), signer)
        r = self.http.post("/v1/log/cosignatures", json={
            "key": signer.verifier.encode(), "checkpoint": note, "cosignature": line})
        return Round(new, previous, r.status_code == 201)

    def _check(self, old: Checkpoint, new: Checkpoint, old_note: str, new_note: str) -> None:
        if new.origin != old.origin:
            raise ForkFound(f"the origin changed from {old.origin} to {new.origin}",
                            self._evidence(old_note, new_note, "origin"))
        if new.size < old.size:
            self._fork(old_note, new_note, f"the log went back from {old.size} to {new.size} events")
        if new.size == old.size:
            if new.root != old.root:
                self._fork(old_note, new_note, f"two different roots for the same {old.size} events")
            return
        body = self._get("/v1/log/proof/consistency", old=old.size, new=new.size).json()
        try:
            proof = [base64.b64decode(p, validate=True) for p in body["consistency"]]
            verify_consistency(old.size, new.size, old.root, new.root, proof)
        except (ProofError, KeyError, TypeError, binascii.Error) as exc:
            self._fork(old_note, new_note, f"the log of {new.size} events does not extend the one of "
                       f"{old.size} this witness held ({exc})")

    def _evidence(self, old_note: str, new_note: str, what: str) -> Path:
        path = self.folder / f"fork-{what}-{int(time.time())}.json"
        _write(path, json.dumps({"held": old_note, "served": new_note}, indent=2) + "\n")
        return path

    def _fork(self, old_note: str, new_note: str, reason: str) -> None:
        evidence = self._evidence(old_note, new_note, "inconsistent")
        # Best effort: a service that forked may refuse to record it; the evidence is kept here.
        with contextlib.suppress(httpx.HTTPError):
            self.http.post("/v1/log/cosignatures", json={"conflict": [old_note, new_note]})
        raise ForkFound(reason, evidence)


def read_token(token: str) -> str:
    if token.startswith("@"):
        try:
            return Path(token[1:]).read_text("utf-8").strip()
        except OSError as exc:
            raise InvalidInput("--token", f"cannot read {token[1:]}: {exc.strerror}") from None
    return token
