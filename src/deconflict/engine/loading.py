"""Loading many declarations at once (at start-up), in chunks.

As if by ``Engine.add_declaration`` one by one, with the same checks and
errors in the same order, but the boxes of a chunk's point and line parts
computed together with numpy (engine/bulk.py) and the index rebuilt once.
Separate because it is the start-up's path alone, and its bookkeeping as
arrays is what makes a load of 1M declarations fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice

import numpy as np

from deconflict.engine.bulk import Batch
from deconflict.engine.holdings import Holdings
from deconflict.engine.parts import declaration_parts
from deconflict.errors import AlreadyExists
from deconflict.geo.shape import trusted
from deconflict.model import Declaration

#: Engine.load adds declarations in chunks of this many.
LOAD_CHUNK = 16_384

Progress = Callable[[int], None]


class Loading(Holdings):
    def load(self, decls: Iterable[Declaration], progress: Progress | None = None, *,
             from_log: bool = False) -> int:
        """Add many declarations (at start-up); ``progress`` is told each 1,000.

        As if by ``add_declaration`` one by one (same checks, same errors, in
        the same order: on the first invalid declaration those before it stay
        loaded and its error is raised), but in chunks through
        :mod:`deconflict.engine.bulk`, which computes the boxes of point and
        line parts together with numpy. Parts are not cached on the way: a
        check builds them when it first needs them. ``from_log``: they come
        from the log, so polygons are not validated again (geo.shape.trusted)."""
        it = iter(decls)
        if not from_log:
            return self._load(it, progress)
        with trusted():  # the log's: validated when accepted, not again at every start
            return self._load(it, progress)

    def _load(self, it: Iterator[Declaration], progress: Progress | None) -> int:
        n = told = 0
        try:
            while chunk := list(islice(it, LOAD_CHUNK)):
                added, error = self._load_chunk(chunk)
                n += added
                while progress is not None and n - told >= 1000:
                    progress(1000)
                    told += 1000
                if error is not None:
                    raise error
        finally:
            self._index.rebuild()
        if progress is not None and n > told:
            progress(n - told)
        return n

    def _load_chunk(self, chunk: list[Declaration]) -> tuple[int, Exception | None]:
        """Add what of ``chunk`` is valid up to the first invalid declaration;
        return how many were added and the error that stopped it (or None)."""
        batch = Batch()
        error: Exception | None = None
        seen: set[str] = set()
        parties, slots = self._parties, self._slot
        for decl in chunk:
            try:
                if decl.owner not in parties:
                    self._party(decl.owner, "owner")
                if decl.share_with.parties:
                    for p in sorted(decl.share_with.parties):
                        self._party(p, "share_with")
                if decl.id in seen or decl.id in slots or self._decls.base_slot(decl.id) is not None:
                    declaration_parts(decl)  # a geometry error comes first, as in add_declaration
                    raise AlreadyExists("declaration", decl.id)
                batch.add(decl)
            except Exception as exc:
                error = exc
                break
            seen.add(decl.id)
        good = len(batch)
        batch.compute()
        for i in batch.slow():
            try:
                batch.resolve(i, declaration_parts(batch.decls[i]))
            except Exception as exc:
                error, good = exc, i
                break
        t0, t1, e_part, e_box, tags = batch.entries(good)
        pid = self._index.add_many(t0, t1, e_part, e_box, tags=tags, rebuild=False)
        firsts = np.asarray(batch.first_parts(good), np.int64)
        decls = batch.decls[:good]
        slot = len(self._decls)
        self._decls.extend(decls)
        # The bookkeeping of a chunk as arrays (a Python loop per declaration was
        # a fifth of a load's time).
        counts = np.diff(firsts)
        self._first_part.frombytes((firsts[:-1] + pid).tobytes())
        self._n_parts.frombytes(counts.astype(np.int32).tobytes())
        self._part_owner.frombytes(np.repeat(np.arange(slot, slot + good, dtype=np.int32), counts).tobytes())
        slots.update(zip([d.id for d in decls], range(slot, slot + good), strict=True))
        self._live += good
        return good, error
