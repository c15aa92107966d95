"""The engine's declarations by slot, compact: encoded bytes until asked for.

A model :class:`~deconflict.model.Declaration` costs about 890 bytes of
Python objects, and building one from its document is most of what a start-up
from the state rows cost (60% at 1M). A start-up from a snapshot
(store/startup.py) instead hands the engine one buffer holding every
declaration's document, one after the other, and their offsets: a slot of that
*base* is decoded only when a check, a read or a re-check asks for it, and a
bounded cache keeps the last ones asked for. Declarations added later (the
log's tail, new submits) are held as objects, as before.

The decoder is given by whoever provides the buffer (the store layer: the
engine does not know the documents' format), and must give back exactly the
declaration that was encoded: the snapshot is written from the same objects
with the store's encoder, whose round trip the store's tests hold.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import numpy.typing as npt

from deconflict.engine.listing import Columns, Filter, IdsView, Listed, Run, page
from deconflict.model import Declaration, ShareWith

Decode = Callable[[bytes], Declaration]

#: Decoded base declarations kept between uses (each about 0.9 KB).
DECODED_CACHE = 16_384


class DeclarationTable:
    """Declarations by slot (``None`` once withdrawn), a list's interface:
    ``append``, ``extend``, ``table[slot]``, ``table[slot] = None``, ``len``."""

    __slots__ = ("_base_n", "_blob", "_cache", "_cols", "_dead", "_decode", "_extra", "_ids", "_offsets", "_run")

    def __init__(self, blob: memoryview | bytes = b"", offsets: npt.NDArray[np.int64] | None = None,
                 decode: Decode | None = None, *, ids: IdsView | None = None, cols: Columns | None = None) -> None:
        """``ids`` and ``cols``, the base's ids (sorted: slot ``i`` is the ``i``-th
        id) and list columns, are what :meth:`base_slot` and :meth:`pager` need."""
        self._blob = memoryview(blob)
        self._offsets = np.zeros(1, np.int64) if offsets is None else offsets
        self._base_n = len(self._offsets) - 1
        if self._base_n and decode is None:
            raise ValueError("a table with encoded declarations needs their decoder")
        for what, given in (("ids", ids), ("columns", None if cols is None else cols.kind)):
            if given is not None and len(given) != self._base_n:
                raise ValueError(f"{len(given)} {what} for {self._base_n} declarations")
        self._ids = ids if ids is not None else IdsView(b"", 0)
        self._cols = cols
        self._decode = decode
        self._dead = bytearray(self._base_n)
        self._extra: list[Declaration | None] = []
        self._cache: OrderedDict[int, Declaration] = OrderedDict()
        # The slots added since the base, sorted by id, as of some length of _extra:
        # built by a reader off the lock, read by the next ones (engine/listing.py).
        self._run: Run | None = None

    def __len__(self) -> int:
        return self._base_n + len(self._extra)

    def append(self, decl: Declaration) -> None:
        self._extra.append(decl)

    def extend(self, decls: Iterable[Declaration]) -> None:
        self._extra.extend(decls)

    def __getitem__(self, slot: int) -> Declaration | None:
        n = self._base_n
        if slot >= n:
            return self._extra[slot - n]
        if slot < 0:
            raise IndexError(slot)
        if self._dead[slot]:
            return None
        cache = self._cache
        decl = cache.get(slot)
        if decl is not None:
            cache.move_to_end(slot)
            return decl
        decl = self._decoded(slot)
        cache[slot] = decl
        if len(cache) > DECODED_CACHE:
            cache.popitem(last=False)
        return decl

    def _decoded(self, slot: int) -> Declaration:
        assert self._decode is not None
        return self._decode(self.encoded(slot))

    def encoded(self, slot: int) -> bytes:
        """The stored document of a base slot (as the snapshot holds it)."""
        lo, hi = int(self._offsets[slot]), int(self._offsets[slot + 1])
        return bytes(self._blob[lo:hi])

    def is_base(self, slot: int) -> bool:
        return slot < self._base_n

    @property
    def base_n(self) -> int:
        return self._base_n

    def base_slot(self, ident: str) -> int | None:
        """The live base slot of id ``ident`` (a binary search over the base's
        sorted ids: no Python string or dict entry per declaration), or None."""
        if not self._base_n:
            return None
        slot = self._ids.find(ident)
        return None if slot is None or self._dead[slot] else slot

    def base_ids(self, slots: Iterable[int]) -> Iterator[str]:
        """The ids of base ``slots``."""
        return self._ids.strings(slots)

    def base_columns(self) -> Columns | None:
        return self._cols

    def __setitem__(self, slot: int, value: None) -> None:
        """Withdraw: the only assignment a slot takes."""
        if value is not None:
            raise ValueError("a slot is only ever emptied")
        n = self._base_n
        if slot >= n:
            self._extra[slot - n] = None
        else:
            self._dead[slot] = 1
            self._cache.pop(slot, None)

    def alive(self, slot: int) -> bool:
        n = self._base_n
        return not self._dead[slot] if slot < n else self._extra[slot - n] is not None

    def __iter__(self) -> Iterator[Declaration | None]:
        # Decoded one at a time and not cached: a full listing must not evict
        # the declarations checks are using.
        for slot in range(self._base_n):
            yield None if self._dead[slot] else (self._cache.get(slot) or self._decoded(slot))
        yield from self._extra

    def frozen(self) -> Iterator[Declaration]:
        """The living declarations as they are now, to be read later without the
        engine's lock: what can change is copied (which base slots are withdrawn,
        1 byte each; the tail's list), the encoded base never changes. Decoding, the
        cost of a full listing (about 23 µs a declaration), happens as it is read,
        so a reader holds the lock for the copy only: a picture at 1M declarations
        held the hotline's lock for 23 s of decoding."""
        dead = bytes(self._dead)
        extra = list(self._extra)
        blob, offsets, decode, cache = self._blob, self._offsets, self._decode, self._cache

        def read() -> Iterator[Declaration]:
            for slot in range(len(dead)):
                if dead[slot]:
                    continue
                decl = cache.get(slot)  # a read of the shared cache; never a write from here
                if decl is None:
                    assert decode is not None
                    decl = decode(bytes(blob[int(offsets[slot]):int(offsets[slot + 1])]))
                yield decl
            yield from (d for d in extra if d is not None)

        return read()

    def copy(self) -> DeclarationTable:
        """The table as it is now, for reading on another thread while this one
        changes: the base (never changed) shared, what can change copied."""
        other = DeclarationTable.__new__(DeclarationTable)
        other._blob, other._offsets, other._base_n = self._blob, self._offsets, self._base_n
        other._ids, other._cols, other._decode = self._ids, self._cols, self._decode
        other._dead = bytearray(self._dead)
        other._extra = list(self._extra)
        other._cache = OrderedDict()
        other._run = self._run
        return other

    def pager(self) -> Callable[[Filter], tuple[list[Listed], str | None]]:
        """Pages of the declarations as they are now, to be asked later without the
        engine's lock (what can change is copied, as :meth:`frozen` copies it): the
        base is walked in id order on its columns and only what a page lists, or
        what its columns cannot rule out, is decoded (engine/listing.py)."""
        dead = bytes(self._dead)
        extra = list(self._extra)  # a copy of references: withdrawals since do not show
        blob, offsets, decode, cache, ids = self._blob, self._offsets, self._decode, self._cache, self._ids
        cols = self._cols
        if self._base_n and cols is None:
            raise ValueError("a table without list columns cannot be paged")

        def one(slot: int) -> Declaration:
            decl = cache.get(slot)  # a read of the shared cache; never a write from here
            if decl is None:
                assert decode is not None
                decl = decode(bytes(blob[int(offsets[slot]):int(offsets[slot + 1])]))
            return decl

        def stored(slot: int) -> bytes:
            return bytes(blob[int(offsets[slot]):int(offsets[slot + 1])])

        def ask(f: Filter) -> tuple[list[Listed], str | None]:
            return page(ids, cols or Columns.empty(), dead, one, extra, f, stored, self._sorted(extra))

        return ask

    def _sorted(self, extra: list[Declaration | None]) -> Run:
        """A run over ``extra`` (a copy of the slots added since the base): the
        table's, or a new one kept for the readers after (a run of any earlier
        copy is a valid run of a later one: slots are only appended or emptied)."""
        run = self._run
        if run is None or run.covers > len(extra) or run.stale(extra):
            run = self._run = Run.of(extra)
        return run

    def documents(self) -> Callable[[Callable[[str, ShareWith], bool], Callable[[Declaration], bool]],
                                    list[bytes | Declaration]]:
        """Every declaration as it is now, in id order, to be read later without the
        engine's lock (copied as :meth:`pager` copies): ``read(sees, visible)``
        gives those of an audience ``sees(owner, share_with)`` accepts (base
        slots: their stored documents, never decoded) or that ``visible`` accepts
        (later ones: the objects)."""
        dead = bytes(self._dead)
        copied = list(self._extra)
        ids, cols, n = self._ids, self._cols, self._base_n
        if n and cols is None:
            raise ValueError("a table without list columns cannot be listed by audience")

        def read(sees: Callable[[str, ShareWith], bool],
                 visible: Callable[[Declaration], bool]) -> list[bytes | Declaration]:
            run = self._sorted(copied)
            later = list(heapq.merge((d for d in run.in_order(copied, None) if visible(d)),
                                     sorted((d for d in run.delta(copied) if visible(d)), key=lambda d: d.id),
                                     key=lambda d: d.id))
            if not n:
                return list(later)
            assert cols is not None
            ok = np.fromiter((sees(o, s) for o, s in cols.audiences), bool, len(cols.audiences))
            keep = (np.frombuffer(dead, np.uint8) == 0) & ok[cols.aud]
            slots = np.flatnonzero(keep).tolist()
            base: list[bytes | Declaration] = [self.encoded(s) for s in slots]
            if not later:
                return base
            keyed = heapq.merge(zip((ids[s] for s in slots), base, strict=True),
                                ((d.id.encode("utf-8"), d) for d in later), key=lambda p: p[0])
            return [doc for _k, doc in keyed]

        return read

    def nbytes(self) -> int:
        """Bytes of the compact part (the buffer may be a shared memory map)."""
        return len(self._blob) + self._offsets.nbytes + len(self._dead)
