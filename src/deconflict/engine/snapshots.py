"""An engine's declarations as an image (engine/image.py), and back.

What a start-up snapshot keeps (store/startup.py): the declarations in force
and their index entries as arrays, renumbered densely; an engine without
declarations adopts an image with no Python work per declaration. Separate
because it is the snapshot's concern alone, and reads the engine's storage
as a whole rather than a declaration at a time.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Callable

import numpy as np

from deconflict.engine.holdings import Holdings
from deconflict.engine.image import EngineImage
from deconflict.engine.listing import Columns, IdsView
from deconflict.engine.table import DeclarationTable, Decode
from deconflict.model import Declaration


def _live(decl: Declaration | None) -> Declaration:
    assert decl is not None
    return decl


class Snapshots(Holdings):
    def image(self, encode: Callable[[Declaration], bytes]) -> EngineImage:
        """The declarations in force and their index entries, as arrays: what a
        snapshot keeps. Slots and parts are renumbered densely (withdrawn ones
        dropped); the boxes are the index's own, so :meth:`adopt_image` files
        exactly the entries this engine holds. ``encode`` gives a declaration's
        document (a slot still encoded keeps its bytes, unread)."""
        return self.image_later()(encode)

    def image_later(self) -> Callable[[Callable[[Declaration], bytes]], EngineImage]:
        """:meth:`image` of the engine as it is now, computed when called: what can
        change is copied now (withdrawals, the slots added since the base, the id
        map, the index's columns: copies of arrays, no per-declaration encoding),
        so the caller holds its lock for the copy only, not for the encoding of
        every declaration (18-49 s at 1M)."""
        table = self._decls.copy()
        later_map = dict(self._slot)
        n_parts = np.frombuffer(self._n_parts, np.int32).copy()
        first_part = np.frombuffer(self._first_part, np.int64).copy()
        t0, t1, tags = self._index.part_columns()
        e_part, e_box = self._index.entries()
        parts_total = self._index.parts_total

        def compute(encode: Callable[[Declaration], bytes]) -> EngineImage:
            # In id order (the base is, and the slots added since are in the id map);
            # a withdrawal or a replacement takes a slot out of both.
            base = [s for s in range(table.base_n) if table.alive(s)]
            later = sorted(later_map.items())
            merged = list(heapq.merge(zip(table.base_ids(base), base, strict=True), later))
            ids = [i for i, _s in merged]
            live = [s for _i, s in merged]
            docs = [table.encoded(s) if table.is_base(s) else encode(_live(table[s])) for s in live]
            cols = table.base_columns()
            base_cols = cols.take(np.asarray(base, np.int64)) if cols is not None else Columns.of(
                _live(table[s]) for s in base)
            later_cols = Columns.of(_live(table[s]) for _i, s in later)
            # Both parts are in id order each; the merge's order, as positions in base + later.
            where = {s: k for k, s in enumerate(base + [s for _i, s in later])}
            columns = Columns.concat(base_cols, later_cols).take(np.asarray([where[s] for s in live], np.int64))
            sizes = np.fromiter((len(d) for d in docs), np.int64, len(docs))
            offsets = np.zeros(len(docs) + 1, np.int64)
            np.cumsum(sizes, out=offsets[1:])
            live_arr = np.asarray(live, np.int64)
            counts = n_parts[live_arr].astype(np.int64)
            firsts = first_part[live_arr]
            old_pids = np.repeat(firsts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
            renumber = np.full(parts_total, -1, np.int64)
            renumber[old_pids] = np.arange(len(old_pids))
            new_part = renumber[e_part]
            keep = new_part >= 0
            order = np.argsort(new_part[keep], kind="stable")
            return EngineImage(
                ids="\n".join(ids).encode("utf-8"), docs=b"".join(docs), offsets=offsets,
                n_parts=counts.astype(np.int32), t0=t0[old_pids], t1=t1[old_pids], tags=tags[old_pids],
                e_part=new_part[keep][order].astype(np.int32), e_box=e_box[keep][order], columns=columns)

        return compute

    def adopt_image(self, image: EngineImage, decode: Decode) -> None:
        """Take ``image``'s declarations (an engine with none yet): their documents
        stay encoded in its buffer until asked for, and their entries are filed
        as :meth:`GridIndex.add_many` files them, with no Python work per
        declaration beyond its id's entry in the id map."""
        if len(self._decls) or self._index.parts_total:
            raise ValueError("an image is adopted by an engine without declarations")
        n = len(image)
        self._decls = DeclarationTable(image.docs, image.offsets, decode, ids=IdsView(image.ids, n),
                                       cols=image.columns)
        self._slot = {}
        self._live = n
        counts = image.n_parts.astype(np.int64)
        self._n_parts = array("i", image.n_parts.astype(np.int32).tobytes())
        first = np.zeros(n, np.int64)
        if n:
            np.cumsum(counts[:-1], out=first[1:])
        self._first_part = array("q", first.tobytes())
        self._part_owner = array("i", np.repeat(np.arange(n, dtype=np.int32), counts).tobytes())
        self._index.add_many(image.t0, image.t1, image.e_part.astype(np.int64), image.e_box, tags=image.tags)
        self._index.rebuild()
