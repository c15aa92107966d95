"""A spatial-temporal index of footprint parts: a multi-level grid over sorted keys.

Each part is filed under one grid cell: the cell holding the south-west
corner of its conservative box, on the finest level whose cells are at least
as large as the box. A part therefore reaches at most one cell east and one
north of its cell, so a query looks at the cells its box covers, widened by
one cell west and south, on every level in use. Entries are kept sorted by
key, each with its box, its part's window and its part's tag copied
alongside in the same order, so a query is a handful of binary searches and
a contiguous read of the k entries in those cells, filtered by time (and tag)
before the box test: about O(L log n + k) for L levels in use.

Why not shapely's STRtree? It is static and costs about 500 bytes per box;
this index takes about 85 bytes a part (61 an entry: key, box, part, window,
tag; 25 a part: window, liveness, tag), merges new entries into its sorted
order cheaply (a short unsorted tail, sorted into a small run, merged into the
large one when the small one grows past a share of it), and takes withdrawals
at once (a liveness flag).

Keys lead with the part's tag (its kind and role), then its level, then its
cell, so the entries of one tag are contiguous: a query that wants only some
tags (a flight's check wants other flights and fire trajectories, not the sites
and fire effects that are most of a theatre) reads only their ranges. At 1M
declarations a flight's query once read every entry in its cells and dropped
nine in ten by tag after reading them.

Boxes are conservative (see :mod:`deconflict.geo.bounds`), and the exact box
test here is done in float64 on the same numbers, so the index may return
parts that are not near, never miss one that is.
"""

from __future__ import annotations

import math
from array import array
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from deconflict.geo.bounds import Box

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
#: Cell size of the finest level, in degrees; each level doubles it.
FINEST_CELL_DEG = 0.01
LEVELS = 17  # 0.01 deg ... 655 deg: the last level holds boxes spanning the globe
_LEVEL_SHIFT = 48
#: Above the level (5 bits) and the cell (30 bits at the finest level); tags are
#: below 128, so keys stay positive int64.
_TAG_SHIFT = 56
TAGS = 128
#: The unsorted tail is merged into the sorted keys when it grows past this
#: share of the index (or past the minimum), so inserts stay amortised O(log n).
_TAIL_MIN = 4096
_TAIL_SHARE = 16

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: A query box grows by this (degrees) before its cells are found: far more
#: than the rounding in adding 180 or 90, far less than any cell.
_PAD = 1e-9


def micros(t: datetime) -> int:
    return (t - _EPOCH) // _MICRO


def _level_for(width: float, height: float) -> int:
    size = max(width, height, 1e-12)
    lvl = max(0, math.ceil(math.log2(size / FINEST_CELL_DEG)))
    # log2 may round down by an ulp: the cells must really be at least as large
    # as the box, or a part could reach two cells beyond its anchor.
    while lvl < LEVELS - 1 and FINEST_CELL_DEG * (1 << lvl) < size:
        lvl += 1
    return min(lvl, LEVELS - 1)


def _dims(level: int) -> tuple[float, int, int]:
    size = FINEST_CELL_DEG * (1 << level)
    return size, math.ceil(360.0 / size) + 1, math.ceil(180.0 / size) + 1


# Per-level cell sizes and row lengths, for filing many boxes at once. The
# sizes are the very floats _dims gives (scaling by a power of two is exact),
# and numpy's float floor_divide is CPython's algorithm, so a box filed here
# lands in the cell a query computes for it with Python floats.
_SIZES = np.array([_dims(level)[0] for level in range(LEVELS)], dtype=np.float64)
_NX = np.array([_dims(level)[1] for level in range(LEVELS)], dtype=np.int64)
_NY = np.array([_dims(level)[2] for level in range(LEVELS)], dtype=np.int64)
_DIMS = tuple(_dims(level) for level in range(LEVELS))


def _levels_for(width: npt.NDArray[np.float64], height: npt.NDArray[np.float64]) -> IntArray:
    """:func:`_level_for` over arrays: the finest level whose cells are at
    least as large as each box (checked on the actual cell sizes, so an ulp of
    difference in log2 can only pick a coarser level, never a finer one)."""
    size = np.maximum(np.maximum(width, height), 1e-12)
    lvl = np.clip(np.ceil(np.log2(size / FINEST_CELL_DEG)), 0, LEVELS - 1).astype(np.int64)
    while True:
        small = (_SIZES[lvl] < size) & (lvl < LEVELS - 1)
        if not small.any():
            return lvl
        lvl[small] += 1


class _Run:
    """Entries sorted by key, with what a query filters on copied alongside in
    the same order (the part's window and tag), so a query reads the cells it
    needs as contiguous slices instead of gathering from all over the index."""

    __slots__ = ("box", "key", "part", "t0", "t1", "tag")

    def __init__(
        self, key: IntArray, box: FloatArray, part: npt.NDArray[np.int32], t0: IntArray, t1: IntArray,
        tag: npt.NDArray[np.uint8],
    ) -> None:
        self.key, self.box, self.part, self.t0, self.t1, self.tag = key, box, part, t0, t1, tag

    @classmethod
    def empty(cls) -> _Run:
        return cls(np.empty(0, np.int64), np.empty((0, 4)), np.empty(0, np.int32), np.empty(0, np.int64),
                   np.empty(0, np.int64), np.empty(0, np.uint8))

    def __len__(self) -> int:
        return len(self.key)

    def merged(self, other: _Run) -> _Run:
        """Both runs' entries in one sorted run (a sort of a sorted run and
        another is close to linear: numpy's stable sort finds the runs)."""
        if not len(other):
            return self
        if not len(self):
            order = np.argsort(other.key, kind="stable")
            return _Run(other.key[order], other.box[order], other.part[order], other.t0[order],
                        other.t1[order], other.tag[order])
        key = np.concatenate((self.key, other.key))
        order = np.argsort(key, kind="stable")
        return _Run(
            key[order],
            np.concatenate((self.box, other.box))[order],
            np.concatenate((self.part, other.part))[order],
            np.concatenate((self.t0, other.t0))[order],
            np.concatenate((self.t1, other.t1))[order],
            np.concatenate((self.tag, other.tag))[order],
        )

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.key, self.box, self.part, self.t0, self.t1, self.tag))

    def scan(
        self, los: IntArray, his: IntArray, q: tuple[float, float, float, float], t0: int, t1: int,
        tags: npt.NDArray[np.bool_] | None,
    ) -> npt.NDArray[np.int32]:
        """Parts of the entries with keys in the ranges [los[i], his[i]] whose
        window meets [t0, t1), whose tag is wanted and whose box meets ``q``."""
        lo = np.searchsorted(self.key, los, "left")
        hi = np.searchsorted(self.key, his, "right")
        counts = hi - lo
        total = int(counts.sum())
        if not total:
            return np.empty(0, np.int32)
        # Expand the [lo, hi) ranges into positions without a Python loop.
        pos = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(total)
        keep = (self.t0[pos] < t1) & (t0 < self.t1[pos])
        if tags is not None:
            keep &= tags[self.tag[pos]]
        pos = pos[keep]
        b = self.box[pos]
        hit = (b[:, 0] <= q[2]) & (q[0] <= b[:, 2]) & (b[:, 1] <= q[3]) & (q[1] <= b[:, 3])
        return self.part[pos[hit]]


class GridIndex:
    """Parts by id (dense ints from 0); entries are the parts' boxes (a box
    crossing the antimeridian is filed as two entries).

    Entries live in a large sorted run, a small sorted run and an unsorted
    tail of at most ``_TAIL_MIN`` entries: an insert goes to the tail, a full
    tail is sorted into the small run, and the small run is merged into the
    large one when it passes ``1/_TAIL_SHARE`` of it, so inserts stay
    amortised cheap and a query never scans more than the short tail linearly.

    Each part may carry a tag (a byte, 0 by default) that ``query`` can filter
    on, so a caller can skip parts it has no use for before building them."""

    def __init__(self) -> None:
        self._t0 = array("q")
        self._t1 = array("q")
        self._alive = bytearray()
        self._tag = bytearray()
        self._main = _Run.empty()
        self._small = _Run.empty()
        self._e_part = array("i")
        self._e_key = array("q")
        self._e_box = array("d")
        #: Entries by (tag, level): the ranges a query needs (entries are never
        #: taken out of the runs, only marked dead, so counts only grow).
        self._counts = np.zeros((TAGS, LEVELS), np.int64)
        # What _combos found, by mask, and the version of (tag, level) pairs it saw.
        self._combo_cache: dict[bytes | None, tuple[int, list[tuple[int, list[int]]]]] = {}
        self._combo_version = 0
        self._alive_count = 0

    def __len__(self) -> int:
        return self._alive_count

    @property
    def parts_total(self) -> int:
        return len(self._t0)

    def add(self, box: Box, start: datetime, end: datetime, tag: int = 0) -> int:
        if not 0 <= tag < TAGS:
            raise ValueError(f"tag {tag} is not below {TAGS}")
        pid = len(self._t0)
        self._t0.append(micros(start))
        self._t1.append(micros(end))
        self._alive.append(1)
        self._tag.append(tag)
        self._alive_count += 1
        for lon_lo, lat_lo, lon_hi, lat_hi in box.parts():
            level = _level_for(lon_hi - lon_lo, lat_hi - lat_lo)
            size, nx, ny = _dims(level)
            x = min(int((lon_lo + 180.0) // size), nx - 1)
            y = min(int((lat_lo + 90.0) // size), ny - 1)
            self._e_part.append(pid)
            self._e_key.append((tag << _TAG_SHIFT) + (level << _LEVEL_SHIFT) + y * nx + x)
            self._e_box.extend((lon_lo, lat_lo, lon_hi, lat_hi))
            if not self._counts[tag, level]:
                self._combo_version += 1
            self._counts[tag, level] += 1
        self._settle()
        return pid

    def add_many(
        self,
        t0: IntArray,
        t1: IntArray,
        e_part: IntArray,
        e_box: npt.NDArray[np.float64],
        *,
        tags: npt.NDArray[np.uint8] | None = None,
        rebuild: bool = True,
    ) -> int:
        """Add ``len(t0)`` parts at once and return the id of the first.

        Part ``k`` has the window ``[t0[k], t1[k])`` (microseconds since the
        epoch), the tag ``tags[k]`` (0 without ``tags``) and the entries
        ``e_box[j]`` (lon_lo, lat_lo, lon_hi, lat_hi, inside [-180, 180], as
        :meth:`Box.parts` gives them) for which ``e_part[j] == k``. Filed
        exactly as :meth:`add` files them. With ``rebuild=False`` the entries
        stay unsorted until the caller rebuilds (a bulk load rebuilds once at
        the end; queries meanwhile scan them linearly)."""
        first = len(self._t0)
        n = len(t0)
        if not n:
            return first
        boxes = np.ascontiguousarray(e_box, dtype=np.float64).reshape(-1, 4)
        lon_lo, lat_lo, lon_hi, lat_hi = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
        level = _levels_for(lon_hi - lon_lo, lat_hi - lat_lo)
        size = _SIZES[level]
        nx = _NX[level]
        x = np.minimum(np.floor_divide(lon_lo + 180.0, size).astype(np.int64), nx - 1)
        y = np.minimum(np.floor_divide(lat_lo + 90.0, size).astype(np.int64), _NY[level] - 1)
        part_tags = np.zeros(n, np.int64) if tags is None else np.asarray(tags, dtype=np.int64)
        if part_tags.size and (part_tags.min() < 0 or part_tags.max() >= TAGS):
            raise ValueError(f"tags must be below {TAGS}")
        e_tag = part_tags[np.asarray(e_part, dtype=np.int64)]
        keys = (e_tag << _TAG_SHIFT) + (level << _LEVEL_SHIFT) + y * nx + x
        self._t0.frombytes(np.ascontiguousarray(t0, dtype=np.int64).tobytes())
        self._t1.frombytes(np.ascontiguousarray(t1, dtype=np.int64).tobytes())
        self._alive.extend(b"\x01" * n)
        self._tag.extend(bytes(n) if tags is None else np.asarray(tags, dtype=np.uint8).tobytes())
        self._alive_count += n
        self._e_part.frombytes((np.asarray(e_part, dtype=np.int64) + first).astype(np.int32).tobytes())
        self._e_key.frombytes(keys.astype(np.int64).tobytes())
        self._e_box.frombytes(boxes.tobytes())
        before = int(np.count_nonzero(self._counts))
        np.add.at(self._counts, (e_tag, level), 1)
        if np.count_nonzero(self._counts) != before:
            self._combo_version += 1
        if rebuild:
            self._settle()
        return first

    def remove(self, pid: int) -> None:
        if self._alive[pid]:
            self._alive[pid] = 0
            self._alive_count -= 1

    def _tail_run(self) -> _Run:
        """The tail's entries as a run (not yet sorted), and an empty tail."""
        part = np.frombuffer(self._e_part, dtype=np.int32).copy() if self._e_part else np.empty(0, np.int32)
        run = _Run(
            np.frombuffer(self._e_key, dtype=np.int64).copy() if self._e_key else np.empty(0, np.int64),
            np.frombuffer(self._e_box, dtype=np.float64).reshape(-1, 4).copy() if self._e_box else np.empty((0, 4)),
            part,
            np.frombuffer(self._t0, dtype=np.int64)[part] if len(part) else np.empty(0, np.int64),
            np.frombuffer(self._t1, dtype=np.int64)[part] if len(part) else np.empty(0, np.int64),
            np.frombuffer(self._tag, dtype=np.uint8)[part] if len(part) else np.empty(0, np.uint8),
        )
        self._e_part, self._e_key, self._e_box = array("i"), array("q"), array("d")
        return run

    def _settle(self) -> None:
        """Sort a full tail into the small run, and a large small run into the main one."""
        if len(self._e_key) < _TAIL_MIN:
            return
        self._small = self._small.merged(self._tail_run())
        if len(self._small) > max(_TAIL_MIN, len(self._main) // _TAIL_SHARE):
            self._main, self._small = self._main.merged(self._small), _Run.empty()

    def part_columns(self) -> tuple[IntArray, IntArray, npt.NDArray[np.uint8]]:
        """Every part's window start, end and tag, by part id (copies)."""
        return (np.frombuffer(self._t0, np.int64).copy(), np.frombuffer(self._t1, np.int64).copy(),
                np.frombuffer(self._tag, np.uint8).copy())

    def entries(self) -> tuple[IntArray, FloatArray]:
        """Every entry's part id and box (runs and tail), dead parts' included."""
        tail_part = np.frombuffer(self._e_part, np.int32) if self._e_part else np.empty(0, np.int32)
        tail_box = np.frombuffer(self._e_box, np.float64).reshape(-1, 4) if self._e_box else np.empty((0, 4))
        part = np.concatenate((self._main.part, self._small.part, tail_part)).astype(np.int64)
        box = np.concatenate((self._main.box, self._small.box, tail_box))
        return part, box

    def rebuild(self) -> None:
        """Sort every entry into the main run (an O(n log n) numpy sort at worst)."""
        self._main = self._main.merged(self._small.merged(self._tail_run()))
        self._small = _Run.empty()

    def _combos(self, tags: npt.NDArray[np.bool_] | None) -> list[tuple[int, list[int]]]:
        """(level, [tag << _TAG_SHIFT, ...]) for every level holding entries of a
        wanted tag (every tag without ``tags``): kept per mask until a new
        (tag, level) pair gets entries."""
        key = None if tags is None else tags[:TAGS].tobytes()
        got = self._combo_cache.get(key)
        if got is not None and got[0] == self._combo_version:
            return got[1]
        present = self._counts > 0
        if tags is not None:
            present &= tags[:TAGS, None]
        combos = [(level, [t << _TAG_SHIFT for t in np.flatnonzero(present[:, level]).tolist()])
                  for level in np.flatnonzero(present.any(axis=0)).tolist()]
        self._combo_cache[key] = (self._combo_version, combos)
        return combos

    def _cell_ranges(self, lon_lo: float, lat_lo: float, lon_hi: float, lat_hi: float,
                     tags: npt.NDArray[np.bool_] | None) -> tuple[IntArray, IntArray]:
        """Key ranges (inclusive) of the cells a part meeting the box may be filed
        under, for each wanted tag (every tag without ``tags``) that has entries."""
        los: list[int] = []
        his: list[int] = []
        # A part is filed at the cell of its south-west corner on a level whose
        # cells are at least as large as it, so it reaches one cell east and
        # north: look one cell west and south. Adding 180 (or 90) rounds, and
        # can carry a part's far edge into a third cell by an ulp or two: the
        # query box grows by _PAD (far more than any such rounding) first.
        ax, ay = lon_lo - _PAD + 180.0, lat_lo - _PAD + 90.0
        bx, by = lon_hi + _PAD + 180.0, lat_hi + _PAD + 90.0
        for level, offsets in self._combos(tags):
            size, nx, ny = _DIMS[level]
            x0 = max(int(ax // size) - 1, 0)
            x1 = min(int(bx // size), nx - 1)
            y0 = max(int(ay // size) - 1, 0)
            y1 = min(int(by // size), ny - 1)
            span = (y1 - y0) * nx + 1
            for off in offsets:
                first = off + (level << _LEVEL_SHIFT) + y0 * nx
                los.extend(range(first + x0, first + x0 + span, nx))
                his.extend(range(first + x1, first + x1 + span, nx))
        return np.array(los, np.int64), np.array(his, np.int64)

    def query(
        self, box: Box, start: datetime, end: datetime, tags: npt.NDArray[np.bool_] | None = None
    ) -> IntArray:
        """Ids of live parts whose box meets ``box`` and whose window meets
        ``[start, end)`` (ascending); with ``tags`` (256 booleans by tag),
        only parts whose tag is marked."""
        t0, t1 = micros(start), micros(end)
        found: list[npt.NDArray[np.int32]] = []
        tail_part = np.frombuffer(self._e_part, dtype=np.int32) if self._e_part else None
        qparts = box.parts()
        # Fix (tests/engine/test_index.py): +180 and -180 are one meridian, so
        # a box ending exactly at +180 meets one starting exactly at -180 (as
        # Box.intersects says), which the planar test on the parts missed. Ask
        # for the seam on the other side as well.
        for _lo, lat_lo, _hi, lat_hi in list(qparts):
            if _hi >= 180.0:
                qparts.append((-180.0, lat_lo, -180.0, lat_hi))
            if _lo <= -180.0:
                qparts.append((180.0, lat_lo, 180.0, lat_hi))
        for q in qparts:
            los, his = self._cell_ranges(*q, tags)
            for run in (self._main, self._small):
                if len(run) and len(los):
                    # The key ranges hold only wanted tags: no tag filter needed.
                    found.append(run.scan(los, his, q, t0, t1, None))
            if tail_part is not None:
                b = np.frombuffer(self._e_box, dtype=np.float64).reshape(-1, 4)
                keep = (b[:, 0] <= q[2]) & (q[0] <= b[:, 2]) & (b[:, 1] <= q[3]) & (q[1] <= b[:, 3])
                p = tail_part[keep]
                keep = (np.frombuffer(self._t0, dtype=np.int64)[p] < t1) & (
                    t0 < np.frombuffer(self._t1, dtype=np.int64)[p])
                if tags is not None:
                    keep &= tags[np.frombuffer(self._tag, dtype=np.uint8)[p]]
                found.append(p[keep])
        if not found:
            return np.empty(0, np.int64)
        parts: IntArray = np.unique(np.concatenate(found)).astype(np.int64)
        if not parts.size:
            return parts
        live: IntArray = parts[np.frombuffer(self._alive, dtype=np.uint8)[parts].astype(bool)]
        return live

    def memory_bytes(self) -> int:
        """Bytes held by the index's arrays (not counting Python object headers)."""
        return (
            sum(a.itemsize * len(a) for a in (self._t0, self._t1, self._e_part, self._e_key, self._e_box))
            + len(self._alive)
            + len(self._tag)
            + self._main.nbytes()
            + self._small.nbytes()
        )
