"""Start-up snapshots: the engine's and the service's state at one event, compact,
signed, bound to the log, so a process starts from it and replays only the tail.

A snapshot is one buffer (a file memory-mapped on SQLite, rows read once on
PostgreSQL; the workers of a store share it read-only)::

    MAGIC (8) | version (u32) | header length (u32) | header (canonical JSON)
    | note length (u32) | note | padding to 8 | body

The body holds the sections (the engine's arrays, its declarations' documents
one after the other, the parties and measures in force, and sections the
service adds: :data:`SERVICE_SECTIONS`). The header says where each is, and holds
what binds the snapshot to the log:

* ``seq``, ``hash``, ``recorded_at``: the last event the state reflects;
* ``frontier``: the Merkle tree's compact range after ``seq`` events (its root
  is the root a checkpoint of ``seq`` events signs);
* ``body_sha256``: the body's digest;
* ``code``: a digest of the program's source (a snapshot means what the code
  that wrote it meant by it: another version starts cold and writes its own).

The note is the header's SHA-256 signed with the log's signing key (the key
checkpoints are signed with, store/keys.py): whoever can write the store or the
snapshot but not read the key file cannot make one.

What opening with a snapshot checks (:func:`load`, then the store's vouch with
the returned :class:`Base`, store/vouch.py), and why it is enough, is in
docs/store.md ("Start-up from a snapshot"). In short: the signature and the
digests (the snapshot is one the store's signer wrote), event ``seq`` as stored
(its hash recomputed, equal to the snapshot's), then the whole tail after it,
hash by hash from the snapshot's hash, and the Merkle root of the snapshot's
frontier extended by the tail against every signed checkpoint from ``seq`` on.

A snapshot of an unknown version or another program's is *ignored* (a cold
start, which writes a new one): it is a cache that an upgrade makes stale, not
a sign of tampering. One that fails its signature or a digest, or does not
match the log (event ``seq`` missing or with another hash), is *refused*
(:class:`SnapshotMismatch`, a :class:`StoreError`): someone changed the
snapshot or the log, and serving would hide it. Delete the snapshot to start
cold, which vouches for the whole log.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import mmap
import os
import struct
import tempfile
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

import deconflict
from deconflict.engine import Engine
from deconflict.engine.image import EngineImage
from deconflict.engine.listing import Columns
from deconflict.errors import DeconflictError, StoreError
from deconflict.model import CautionMargins, Declaration, Measure, Party, ShareWith
from deconflict.store.documents import (
    decode_declaration,
    decode_measure,
    decode_party,
    encode_declaration,
    encode_measure,
    encode_party,
)
from deconflict.store.events import ChainCheck, canonical_json
from deconflict.store.merkle import Frontier
from deconflict.store.note import NoteError, Signer, Verifier, open_note, sign_note
from deconflict.store.state import decode_margins

MAGIC = b"DCFSNAP\x00"
#: The format this code writes and reads; others are ignored (a cold start).
#: 2: ids sorted (the slot order), and the list columns (engine/listing.py).
VERSION = 2
_U32 = struct.Struct("<I")
#: Sections a service adds beside the engine's (kept as the bytes it gave).
SERVICE_SECTIONS = ("hotline",)
#: Below this many declarations a cold start is fast anyway: no snapshot is written.
MIN_DECLARATIONS = 10_000

_ARRAYS: dict[str, str] = {
    "offsets": "<i8", "n_parts": "<i4", "t0": "<i8", "t1": "<i8", "tags": "|u1", "e_part": "<i4", "e_box": "<f8",
}
#: The list columns (engine/listing.py Columns), one row a declaration.
_COLUMNS: dict[str, str] = {"kind": "|u1", "aud": "<i4", "w0": "<i8", "w1": "<i8", "env": "<f8"}


class SnapshotMismatch(StoreError):
    """A snapshot that does not verify or does not match the log: refused."""


@dataclass(frozen=True)
class Base:
    """Where a snapshot stands in the log: the vouch checks from here on."""

    seq: int
    hash: str
    recorded_at: str
    frontier: Frontier


@dataclass(frozen=True)
class Restored:
    """What a verified snapshot holds (the arrays are views of its buffer)."""

    base: Base
    margins: CautionMargins | None
    parties: list[Party]
    measures: list[Measure]
    image: EngineImage
    sections: dict[str, bytes]
    #: The buffer the arrays are views of.
    buffer: memoryview


@functools.cache
def code_digest() -> str:
    """SHA-256 of the package's Python sources, in path order."""
    root = Path(deconflict.__file__).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _note_text(header: bytes) -> str:
    return f"deconflict/snapshot\n{hashlib.sha256(header).hexdigest()}\n"


def _decode_declaration(doc: bytes) -> Declaration:
    return decode_declaration(json.loads(doc))


def _encode_declaration(decl: Declaration) -> bytes:
    return canonical_json(encode_declaration(decl)).encode("utf-8")


@dataclass(frozen=True)
class Capture:
    """An engine's state copied at one event (:func:`capture`), encoded later."""

    margins: CautionMargins
    parties: list[Party]
    measures: list[Measure]
    image: Callable[[Callable[[Declaration], bytes]], EngineImage]


def capture(engine: Engine) -> Capture:
    """What :func:`encode` needs of ``engine``, copied now (quick: see
    Engine.image_later); the costly encoding happens in :func:`encode`, which
    then needs no lock: nothing it reads changes."""
    return Capture(engine.margins, [p for _, p in sorted(engine.parties.items())],
                   sorted(engine.measures(), key=lambda m: m.id), engine.image_later())


def encode(engine: Engine | Capture, base: Base, signer: Signer, sections: dict[str, bytes] | None = None) -> bytes:
    """The snapshot of ``engine`` (its state after event ``base.seq``, or a capture
    of it) and the service's ``sections``."""
    cap = engine if isinstance(engine, Capture) else capture(engine)
    margins = cap.margins
    image = cap.image(_encode_declaration)
    meta = {
        "margins": {
            "caution_horizontal_m": margins.horizontal_m, "caution_vertical_m": margins.vertical_m,
            "caution_minutes": margins.minutes},
        # In id order, as a cold start reads them from the state tables: the
        # engine then holds them in the same order (measures are asked in it).
        "parties": [encode_party(p) for p in cap.parties],
        "measures": [encode_measure(m) for m in cap.measures],
        "audiences": [[owner, "all" if share.everyone else sorted(share.parties)]
                      for owner, share in image.columns.audiences],
    }
    parts: list[tuple[str, bytes]] = [
        ("meta", canonical_json(meta).encode("utf-8")),
        ("ids", bytes(image.ids)),
        ("docs", bytes(image.docs)),
    ]
    for name, dtype in _ARRAYS.items():
        parts.append((name, np.ascontiguousarray(getattr(image, name), dtype=dtype).tobytes()))
    for name, dtype in _COLUMNS.items():
        parts.append((name, np.ascontiguousarray(getattr(image.columns, name), dtype=dtype).tobytes()))
    for name, blob in (sections or {}).items():
        if name not in SERVICE_SECTIONS:
            raise ValueError(f"unknown snapshot section {name!r}")
        parts.append((name, blob))
    body = bytearray()
    where: list[list[Any]] = []
    for name, blob in parts:
        body.extend(bytes(-len(body) % 8))  # arrays are read in place: aligned
        where.append([name, len(body), len(blob)])
        body.extend(blob)
    header = canonical_json({
        "version": VERSION, "code": code_digest(), "seq": base.seq, "hash": base.hash,
        "recorded_at": base.recorded_at, "frontier": [h.hex() for h in base.frontier.nodes().values()],
        "sections": where, "e_rows": len(image.e_box), "body_sha256": hashlib.sha256(body).hexdigest(),
    }).encode("utf-8")
    note = sign_note(_note_text(header), signer).encode("utf-8")
    head = MAGIC + _U32.pack(VERSION) + _U32.pack(len(header)) + header + _U32.pack(len(note)) + note
    return head + bytes(-len(head) % 8) + body


def peek_version(buf: memoryview) -> int | None:
    """The format version of a snapshot buffer (None if it is not one)."""
    if len(buf) < 16 or bytes(buf[:8]) != MAGIC:
        return None
    return int(_U32.unpack_from(buf, 8)[0])


def peek_seq(buf: memoryview) -> int | None:
    """The seq a snapshot says it was taken at, unverified (a hint: whether
    writing a new one is worth it), or None if it cannot be read."""
    if peek_version(buf) != VERSION:
        return None
    try:
        (hlen,) = _U32.unpack_from(buf, 12)
        return int(json.loads(bytes(buf[16:16 + hlen]))["seq"])
    except (struct.error, ValueError, KeyError, TypeError):
        return None


def load(buf: memoryview, verifiers: list[Verifier], event_at: Callable[[int], tuple[Any, ...] | None],
         *, what: str = "the start-up snapshot") -> Restored | None:
    """The state in ``buf``, verified; None when it is to be ignored (another
    version or program, see the module's text). ``event_at(seq)`` gives the
    stored row of an event (seq, recorded_at, type, actor, subject, payload,
    prev_hash, hash), or None. Raises :class:`SnapshotMismatch` when it is refused."""
    version = peek_version(buf)
    if version is None:
        raise SnapshotMismatch(f"{what} is not a snapshot (no snapshot header): delete it to start cold")
    if version != VERSION:
        return None
    try:
        (hlen,) = _U32.unpack_from(buf, 12)
        header_bytes = bytes(buf[16:16 + hlen])
        (nlen,) = _U32.unpack_from(buf, 16 + hlen)
        note = bytes(buf[20 + hlen:20 + hlen + nlen]).decode("utf-8")
        header = json.loads(header_bytes)
    except (struct.error, ValueError) as exc:
        raise SnapshotMismatch(f"{what} cannot be read ({exc}): delete it to start cold") from None
    if header.get("code") != code_digest():
        return None
    try:
        text, _ = open_note(note, verifiers)
    except NoteError as exc:
        raise SnapshotMismatch(f"{what} is not signed by the log's key ({exc}): refused; delete it to start "
                               "cold (which vouches for the whole log)") from None
    if text != _note_text(header_bytes):
        raise SnapshotMismatch(f"{what}'s header is not the one its signature covers: refused")
    start = 20 + hlen + nlen
    start += -start % 8
    body = buf[start:]
    if _body_digest(buf, start) != header["body_sha256"]:
        raise SnapshotMismatch(f"{what}'s body is not the one its signed header describes (edited or cut): "
                               "refused; delete it to start cold")
    seq, digest = int(header["seq"]), str(header["hash"])
    _check_event(seq, digest, event_at, what)
    frontier = Frontier.of(seq, [bytes.fromhex(h) for h in header["frontier"]])
    sections = {name: body[off:off + n] for name, off, n in header["sections"]}
    try:
        return _restored(Base(seq, digest, str(header["recorded_at"]), frontier), sections, int(header["e_rows"]),
                         buf)
    except (KeyError, ValueError, DeconflictError) as exc:
        # Signed by our key, written by this very code: only a bug gets here.
        raise SnapshotMismatch(f"{what} cannot be read back ({exc}): delete it to start cold") from None


def _body_digest(buf: memoryview, start: int) -> str:
    """SHA-256 of ``buf[start:]``: the one taken while it was spooled, when this
    process spooled it itself (at the same start), else read through now."""
    spooled = buf.obj
    if isinstance(spooled, _Spool) and spooled.body_sha256 is not None and len(buf) == len(spooled) \
            and _body_start(bytes(buf[:PEEK_BYTES])) == start:
        return spooled.body_sha256
    return hashlib.sha256(buf[start:]).hexdigest()


def _check_event(seq: int, digest: str, event_at: Callable[[int], tuple[Any, ...] | None], what: str) -> None:
    """Event ``seq`` as stored has the snapshot's hash, and that hash is its content's."""
    if seq == 0:
        return
    row = event_at(seq)
    if row is None:
        raise SnapshotMismatch(f"{what} was taken after event {seq}, but the log has no event {seq}: refused "
                               "(the log was cut, or the snapshot belongs to another store)")
    chain = ChainCheck()
    chain.seq, chain.hash = seq - 1, str(row[6])
    event = chain.feed(*row)  # TamperedLog if the stored event is not what its hash says
    if event.hash != digest:
        raise SnapshotMismatch(f"{what} was taken after event {seq} with hash {digest[:16]}..., but the log's "
                               f"event {seq} has hash {event.hash[:16]}...: refused (the snapshot belongs to "
                               "another log, or the log was rewritten)")


def _array(sections: dict[str, memoryview], name: str, rows: int | None = None) -> npt.NDArray[Any]:
    a = np.frombuffer(sections[name], dtype=_ARRAYS.get(name) or _COLUMNS[name])
    return a.reshape(rows, 4) if rows is not None else a


def _restored(base: Base, sections: dict[str, memoryview], e_rows: int, buf: memoryview) -> Restored:
    meta = json.loads(bytes(sections["meta"]))
    # The ids stay bytes in the buffer (the engine searches them there).
    offsets = _array(sections, "offsets")
    audiences = [(str(o), ShareWith.all() if s == "all" else ShareWith.only(s)) for o, s in meta["audiences"]]
    columns = Columns(_array(sections, "kind"), _array(sections, "aud"), _array(sections, "w0"),
                      _array(sections, "w1"), _array(sections, "env", len(offsets) - 1), audiences)
    image = EngineImage(
        ids=sections["ids"], docs=sections["docs"], offsets=offsets, n_parts=_array(sections, "n_parts"),
        t0=_array(sections, "t0"), t1=_array(sections, "t1"), tags=_array(sections, "tags"),
        e_part=_array(sections, "e_part"), e_box=_array(sections, "e_box", e_rows), columns=columns)
    margins = None if meta["margins"] is None else decode_margins(meta["margins"], "margins")
    return Restored(base, margins, [decode_party(p, "party") for p in meta["parties"]],
                    [decode_measure(m, "measure") for m in meta["measures"]], image,
                    {k: bytes(v) for k, v in sections.items() if k in SERVICE_SECTIONS}, buf)


def engine_of(restored: Restored) -> Engine:
    """The engine a snapshot holds: parties, measures, then the declarations adopted as arrays."""
    from deconflict.geo.shape import trusted

    engine = Engine(restored.margins or CautionMargins())
    for party in restored.parties:
        engine.add_party(party)
    with trusted():  # the log's: validated when accepted
        for measure in restored.measures:
            engine.add_measure(measure)
    engine.adopt_image(restored.image, _decode_declaration)
    release(restored.buffer)
    return engine


def release(buf: memoryview) -> None:
    """Let go of the pages of a mapped snapshot this process has read (all of
    them, for the digest): they stay in the page cache, shared, and come back
    when a declaration's document is next asked for. Without this every worker
    would count the whole snapshot in its resident memory."""
    if isinstance(buf.obj, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        buf.obj.madvise(mmap.MADV_DONTNEED)


# -- where snapshots live ------------------------------------------------------------
def write_file(path: Path, body: bytes) -> bool:
    """Replace the snapshot file at ``path`` whole (a reader sees the old or the new
    one), unless it holds a later one; returns whether it was replaced. Writers no
    longer hold the store's lock (Deconflict.write_snapshot), so two may write at
    once: each its own temporary file, and the replacement under a lock of its own."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        with open(path.with_name(path.name + ".lock"), "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            if not newer(peek_seq(memoryview(body)), _file_seq(path)):
                os.unlink(tmp)
                return False
            os.replace(tmp, path)
            return True
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def newer(seq: int | None, than: int | None) -> bool:
    """Whether a snapshot at ``seq`` is to replace one at ``than`` (None: unknown,
    or none): never by an older one, which would only lengthen the next replay."""
    return seq is None or than is None or seq >= than


def _file_seq(path: Path) -> int | None:
    try:
        with open(path, "rb") as f:
            return peek_seq(memoryview(f.read(PEEK_BYTES)))
    except FileNotFoundError:
        return None


#: Bytes of a snapshot's start that hold its header (a few KB: the frontier and the sections).
PEEK_BYTES = 1 << 16


def map_file(f: BinaryIO) -> memoryview | None:
    """A read-only memory map of an open snapshot file (shared by every process
    that maps it: the pages are the page cache's, read when touched)."""
    size = os.fstat(f.fileno()).st_size
    if not size:
        return None
    return memoryview(mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ))


def read_path(path: Path) -> memoryview | None:
    try:
        with open(path, "rb") as f:
            return map_file(f)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read the start-up snapshot {path}: {exc.strerror or exc}") from None


class _Spool(mmap.mmap):
    """A snapshot this process spooled into its own unnamed file, with the digest
    of its body taken from the very bytes written (:func:`read_chunks`), so that
    :func:`load` need not read them all again. Nothing but this process holds the
    file: the digest is of what the map shows."""

    body_sha256: str | None = None


def _body_start(head: bytes) -> int | None:
    """Where the body of a snapshot starting with ``head`` begins (None when ``head``
    is too short to tell, or not a snapshot's start)."""
    if len(head) < 16 or head[:8] != MAGIC:
        return None
    (hlen,) = _U32.unpack_from(head, 12)
    if len(head) < 20 + hlen:
        return None
    (nlen,) = _U32.unpack_from(head, 16 + hlen)
    start = 20 + int(hlen) + int(nlen)
    return start + -start % 8


#: Chunks inflated at once (zlib lets go of the GIL: the two cores share the work).
INFLATE_THREADS = 2


def read_chunks(chunks: Iterable[bytes], inflate: Callable[[bytes], bytes] | None = None) -> memoryview | None:
    """Chunks read from a database, each inflated by ``inflate`` (on threads, while
    the next ones are fetched), spooled in order to an unnamed file and mapped: the
    process holds pages of it only as they are used, not the whole buffer. The
    body's digest is taken on the way (:class:`_Spool`): one pass over the bytes,
    not a second one over the map."""
    digest = hashlib.sha256()
    head = b""
    start: int | None = None
    done = 0

    def spool(f: BinaryIO, data: bytes) -> None:
        nonlocal head, start, done
        if start is None and len(head) == done < PEEK_BYTES:
            head += data[:PEEK_BYTES - done]
            start = _body_start(head)
        if start is not None:
            digest.update(memoryview(data)[max(0, start - done):])
        done += len(data)
        f.write(data)

    with tempfile.TemporaryFile() as f:
        if inflate is None:
            for chunk in chunks:
                spool(f, chunk)
        else:
            with ThreadPoolExecutor(INFLATE_THREADS, thread_name_prefix="snapshot-inflate") as pool:
                pending: deque[Future[bytes]] = deque()
                try:
                    for chunk in chunks:
                        pending.append(pool.submit(inflate, chunk))
                        while len(pending) > INFLATE_THREADS:
                            spool(f, pending.popleft().result())
                    while pending:
                        spool(f, pending.popleft().result())
                finally:
                    for left in pending:
                        left.cancel()
        f.flush()
        size = os.fstat(f.fileno()).st_size
        if not size:
            return None
        spooled = _Spool(f.fileno(), size, access=mmap.ACCESS_READ)
        if start is not None and start <= size:
            spooled.body_sha256 = digest.hexdigest()
        return memoryview(spooled)
