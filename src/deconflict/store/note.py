"""Signed notes and checkpoints in the C2SP formats, with Ed25519.

- *signed-note* (c2sp.org/signed-note): a text ending in a newline, a blank
  line, then one line per signature ``— <key name> <base64(key id || sig)>``.
  The key id is the first 4 bytes of SHA-256(name || 0x0A || type || public
  key); type 0x01 is Ed25519 over the text. Keys are written as Go's
  ``golang.org/x/mod/sumdb/note`` writes them, so its tools read them:
  ``<name>+<hex id>+<base64(type || key)>``, private ones prefixed with
  ``PRIVATE+KEY+``.
- *tlog-checkpoint* (c2sp.org/tlog-checkpoint): the text is the origin, the
  tree size and the base64 root hash, one per line, then extension lines;
  ours has one, ``time <recorded UTC>``, the time the log signed it.
- *tlog-cosignature* (c2sp.org/tlog-cosignature): a witness's signature, type
  0x04, over ``cosignature/v1\\ntime <unix seconds>\\n`` and the checkpoint
  text; its blob is key id || 8-byte big-endian time || signature.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from deconflict.errors import DeconflictError

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
SIG_PREFIX = "\u2014 "  # an em dash and a space


class NoteError(DeconflictError):
    """A key, note or checkpoint that is malformed or does not verify."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not base64") from None


def _check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def key_id(name: str, kind: int, public: bytes) -> int:
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([kind]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A public key that checks signatures of one name (type 0x01 or 0x04)."""

    name: str
    kind: int
    public: bytes

    @functools.cached_property
    def id(self) -> int:
        # Once: every checkpoint signed names it.
        return key_id(self.name, self.kind, self.public)

    def encode(self) -> str:
        return f"{self.name}+{self.id:08x}+{_b64(bytes([self.kind]) + self.public)}"

    def check(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_verifier(text: str) -> Verifier:
    """A verifier key as ``<name>+<hex id>+<base64>``; the id must match the key."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or len(parts[1]) != 8 or parts[1] != parts[1].lower():
        raise NoteError(f"{text.strip()!r} is not a verifier key such as name+1a2b3c4d+AB...")
    name, hex_id, blob = parts
    _check_name(name)
    raw = _unb64(blob, "the verifier key")
    if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError("the verifier key is not an Ed25519 key (type 0x01 or 0x04 and 32 bytes)")
    v = Verifier(name, raw[0], raw[1:])
    try:
        if int(hex_id, 16) != v.id:
            raise NoteError(f"the verifier key's id {hex_id} does not match its key")
    except ValueError:
        raise NoteError(f"the verifier key's id {hex_id!r} is not hexadecimal") from None
    return v


@dataclass(frozen=True)
class Signer:
    """A private key that signs as ``name``."""

    name: str
    kind: int
    seed: bytes

    @classmethod
    def generate(cls, name: str, kind: int = ED25519) -> Signer:
        key = Ed25519PrivateKey.generate()
        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(_check_name(name), kind, seed)

    @functools.cached_property
    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @functools.cached_property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.kind, _raw_public(self._key.public_key()))

    def encode(self) -> str:
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id:08x}+{_b64(bytes([self.kind]) + self.seed)}"

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def parse_signer(text: str) -> Signer:
    if not text.startswith("PRIVATE+KEY+"):
        raise NoteError("a signer key starts with PRIVATE+KEY+")
    parts = text.strip()[len("PRIVATE+KEY+"):].split("+", 2)
    if len(parts) != 3:
        raise NoteError("a signer key is PRIVATE+KEY+<name>+<id>+<base64>")
    name, hex_id, blob = parts
    raw = _unb64(blob, "the signer key")
    if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError("the signer key is not an Ed25519 key")
    s = Signer(_check_name(name), raw[0], raw[1:])
    if f"{s.verifier.id:08x}" != hex_id:
        raise NoteError("the signer key's id does not match its key")
    return s


# -- notes -----------------------------------------------------------------------
@dataclass(frozen=True)
class Signature:
    name: str
    id: int
    blob: bytes  # what follows the key id

    def line(self) -> str:
        return f"{SIG_PREFIX}{self.name} {_b64(self.id.to_bytes(4, 'big') + self.blob)}\n"


def sign_note(text: str, signer: Signer) -> str:
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    sig = Signature(signer.name, signer.verifier.id, signer.sign(text.encode("utf-8")))
    return text + "\n" + sig.line()


def split_note(note: str) -> tuple[str, list[Signature]]:
    """The text and the signatures of a note, unverified."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("not a signed note: no blank line before the signatures")
    text, tail = note[: cut + 1], note[cut + 2:]
    sigs = []
    for line in tail.splitlines():
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"not a signature line: {line[:40]!r}")
        try:
            name, blob64 = line[len(SIG_PREFIX):].split(" ")
        except ValueError:
            raise NoteError(f"not a signature line: {line[:40]!r}") from None
        blob = _unb64(blob64, "a signature")
        if len(blob) < 5:
            raise NoteError("a signature is too short")
        sigs.append(Signature(name, int.from_bytes(blob[:4], "big"), blob[4:]))
    if not sigs:
        raise NoteError("the note has no signature")
    return text, sigs


def open_note(note: str, verifiers: list[Verifier]) -> tuple[str, list[Verifier]]:
    """The text of ``note`` and the verifiers (type 0x01) whose signature on it
    verifies; raises :class:`NoteError` when none of them signed it, or when a
    signature by one of them is present but wrong."""
    text, sigs = split_note(note)
    known = {(v.name, v.id): v for v in verifiers if v.kind == ED25519}
    good = []
    for s in sigs:
        v = known.get((s.name, s.id))
        if v is None:
            continue
        if not v.check(text.encode("utf-8"), s.blob):
            raise NoteError(f"the signature of {s.name} ({s.id:08x}) does not verify: the note was altered")
        good.append(v)
    if not good:
        raise NoteError("the note is not signed by any key given")
    return text, good


# -- checkpoints ---------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: str = ""

    def text(self) -> str:
        extra = f"time {self.time}\n" if self.time else ""
        return f"{self.origin}\n{self.size}\n{_b64(self.root)}\n{extra}"


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint is origin, size and root hash, one per line")
    origin, size_text, root64 = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError(f"the checkpoint's tree size {size_text!r} is not a decimal number")
    root = _unb64(root64, "the checkpoint's root hash")
    if len(root) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    time = ""
    for line in lines[3:-1]:
        if line.startswith("time "):
            time = line[5:]
    return Checkpoint(origin, int(size_text), root, time)


def open_checkpoint(note: str, verifiers: list[Verifier]) -> Checkpoint:
    text, _ = open_note(note, verifiers)
    cp = parse_checkpoint(text)
    if not any(v.name == cp.origin for v in verifiers):
        raise NoteError(f"the checkpoint's origin {cp.origin!r} is not the name of its key")
    return cp


# -- cosignatures ----------------------------------------------------------------------
def cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


def cosign(checkpoint_text: str, signer: Signer, when: datetime | None = None) -> str:
    """A cosignature line for the checkpoint text (the signer's kind must be 0x04)."""
    if signer.kind != COSIGNATURE_V1:
        raise NoteError("a witness key is of type 0x04 (cosignature/v1)")
    ts = int((when or datetime.now(UTC)).timestamp())
    sig = signer.sign(cosigned_message(checkpoint_text, ts))
    return Signature(signer.name, signer.verifier.id, struct.pack(">Q", ts) + sig).line()


def check_cosignature(checkpoint_text: str, line: str, witness: Verifier) -> int:
    """The time a witness cosigned; raises unless ``line`` is its valid cosignature."""
    _, [sig] = split_note("x\n\n" + line)
    if witness.kind != COSIGNATURE_V1 or (sig.name, sig.id) != (witness.name, witness.id):
        raise NoteError(f"the cosignature is not by {witness.name}")
    if len(sig.blob) != 72:
        raise NoteError("a cosignature is 8 bytes of time and 64 of signature")
    ts = struct.unpack(">Q", sig.blob[:8])[0]
    if not witness.check(cosigned_message(checkpoint_text, ts), sig.blob[8:]):
        raise NoteError(f"the cosignature of {witness.name} does not verify")
    return int(ts)
