"""The log's signing keys: generated at first start, kept beside the store, rotatable.

The key file is ``<store>-keys`` (mode 0600), one key per line in the format
of :mod:`deconflict.store.note`: the current signer first
(``PRIVATE+KEY+<origin>+<id>+...``), then the verifier keys of retired signers,
whose checkpoints stay verifiable. It is a separate file so that it can live
under other permissions (or be taken off the machine): whoever can write the
store but not read this file cannot sign a checkpoint, so cannot hide a
rewrite from anyone holding an earlier one.

The origin (the checkpoints' first line and the keys' name) is
``deconflict/<16 random hex digits>``, fixed when the first key is made.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from deconflict.errors import StoreError
from deconflict.store.note import NoteError, Signer, Verifier, parse_signer, parse_verifier


def keys_path(store: Path) -> Path:
    return store.with_name(store.name + "-keys")


@dataclass
class KeyRing:
    path: Path
    signer: Signer
    retired: list[Verifier]

    @property
    def origin(self) -> str:
        return self.signer.name

    @property
    def verifiers(self) -> list[Verifier]:
        return [self.signer.verifier, *self.retired]

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        try:
            lines = [ln.strip() for ln in path.read_text("utf-8").splitlines() if ln.strip()]
        except OSError as exc:
            raise StoreError(f"cannot read the log's key file {path}: {exc.strerror or exc}") from None
        try:
            signer = parse_signer(lines[0])
            retired = [parse_verifier(ln) for ln in lines[1:]]
        except (IndexError, NoteError) as exc:
            raise StoreError(f"the log's key file {path} is damaged: {exc}") from None
        return cls(path, signer, retired)

    @classmethod
    def open(cls, path: Path, *, origin: str | None = None) -> KeyRing:
        """Load the key file, or create it with a new key (``origin`` or a random one)."""
        if path.exists():
            return cls.load(path)
        ring = cls(path, Signer.generate(origin or f"deconflict/{secrets.token_hex(8)}"), [])
        try:
            ring._write(exclusive=True)
        except FileExistsError:
            return cls.load(path)  # another process made it first
        return ring

    def rotate(self) -> Verifier:
        """A new signing key under the same origin; the old one's verifier is kept."""
        old = self.signer.verifier
        self.signer = Signer.generate(self.origin)
        self.retired.insert(0, old)
        self._write()
        return self.signer.verifier

    def write(self) -> None:
        """Write the ring (after its signer was replaced by a caller that recorded it)."""
        self._write()

    def _write(self, *, exclusive: bool = False) -> None:
        text = "\n".join([self.signer.encode(), *(v.encode() for v in self.retired)]) + "\n"
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            if exclusive:
                os.link(tmp, self.path)  # fails if it exists: never overwrite a key
            else:
                os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
