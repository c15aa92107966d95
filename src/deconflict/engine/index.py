"""A spatial-temporal index of footprint parts: a multi-level grid over sorted keys.

Each part is filed under one grid cell: the cell holding the south-west
corner of its conservative box, on the finest level whose cells are at least
as large as the box. A part therefore reaches at most one cell east and one
north of its cell, so a query looks at the cells its box covers, widened by
one cell west and south, on every level in use. Within a cell, a part is also
filed by time, under the bucket of its window's start on the finest time
level whose buckets are at least as long as its window, so a query reads only
the buckets its window can meet (docs/geometry.md gives the proof). Entries are kept sorted by
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
#: Time levels: a part is also filed under the time bucket of its start, on the
#: finest time level whose buckets are at least as long as its window (1 h, 4 h,
#: 16 h, ... 4^6 h, about 171 days); the last level holds the longer windows (and
#: any whose bucket would not fit), all in bucket 0. A part then reaches at most
#: one bucket beyond its own, as it reaches one cell beyond its own in space.
TIME_LEVELS = 8
_HOUR_US = 3_600_000_000
_BUCKET_US = tuple(_HOUR_US * 4**k for k in range(TIME_LEVELS - 1))
_BUCKET_US_ARRAY = np.array(_BUCKET_US, dtype=np.int64)
_BUCKET_BITS = 22
_BUCKET_MAX = (1 << _BUCKET_BITS) - 1
_BUCKET_OFFSET = 1 << (_BUCKET_BITS - 1)  # bucket 0 of the epoch sits in the middle
# A key: space level | row | column | time level | bucket, so a cell's entries are
# contiguous (a row of cells too, all times), and within a cell and time level the
# buckets are in order: a query reads, per cell and time level, only the buckets
# its window can meet.
_TL_SHIFT = _BUCKET_BITS
_X_SHIFT = _TL_SHIFT + 3
_Y_SHIFT = _X_SHIFT + 16
_LEVEL_SHIFT = _Y_SHIFT + 15
#: A query reads per cell and time level (pruning by time) while a level's cells
#: times its time levels in use are at most this many ranges; past it, per row of
#: cells with every time (the ranges would cost more than the entries they skip).
_CELL_RANGES_MAX = 48
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


def _time_slot(t0: int, t1: int) -> tuple[int, int]:
    """(time level, bucket) a part with the window [t0, t1) (microseconds) is filed under."""
    d = t1 - t0
    for tl, size in enumerate(_BUCKET_US):
        if d <= size:
            b = t0 // size + _BUCKET_OFFSET
            if 0 <= b <= _BUCKET_MAX:
                return tl, b
            break
    return TIME_LEVELS - 1, 0


def _time_slots(t0: IntArray, t1: IntArray) -> tuple[IntArray, IntArray]:
    """:func:`_time_slot` over arrays (the same integer arithmetic)."""
    tl = np.searchsorted(_BUCKET_US_ARRAY, t1 - t0, "left").astype(np.int64)
    fits = tl < TIME_LEVELS - 1
    size = _BUCKET_US_ARRAY[np.minimum(tl, TIME_LEVELS - 2)]
    b = np.floor_divide(t0, size) + _BUCKET_OFFSET
    fits &= (b >= 0) & (b <= _BUCKET_MAX)
    return np.where(fits, tl, TIME_LEVELS - 1), np.where(fits, b, 0)


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
        # Entries per (space level, time level): a query skips the empty ones.
        self._level_counts = np.zeros((LEVELS, TIME_LEVELS), np.int64)
        self._in_use: list[tuple[int, list[int]]] | None = None
        self._alive_count = 0

    def __len__(self) -> int:
        return self._alive_count

    @property
    def parts_total(self) -> int:
        return len(self._t0)

    def add(self, box: Box, start: datetime, end: datetime, tag: int = 0) -> int:
        pid = len(self._t0)
        self._t0.append(micros(start))
        self._t1.append(micros(end))
        self._alive.append(1)
        self._tag.append(tag)
        self._alive_count += 1
        tl, bucket = _time_slot(self._t0[pid], self._t1[pid])
        for lon_lo, lat_lo, lon_hi, lat_hi in box.parts():
            level = _level_for(lon_hi - lon_lo, lat_hi - lat_lo)
            size, nx, ny = _dims(level)
            x = min(int((lon_lo + 180.0) // size), nx - 1)
            y = min(int((lat_lo + 90.0) // size), ny - 1)
            self._e_part.append(pid)
            self._e_key.append((level << _LEVEL_SHIFT) | (y << _Y_SHIFT) | (x << _X_SHIFT)
                               | (tl << _TL_SHIFT) | bucket)
            self._e_box.extend((lon_lo, lat_lo, lon_hi, lat_hi))
            self._level_counts[level, tl] += 1
            self._in_use = None
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
        p_tl, p_bucket = _time_slots(np.asarray(t0, dtype=np.int64), np.asarray(t1, dtype=np.int64))
        e_idx = np.asarray(e_part, dtype=np.int64)
        e_tl = p_tl[e_idx]
        keys = ((level << _LEVEL_SHIFT) | (y << _Y_SHIFT) | (x << _X_SHIFT) | (e_tl << _TL_SHIFT)
                | p_bucket[e_idx])
        self._t0.frombytes(np.ascontiguousarray(t0, dtype=np.int64).tobytes())
        self._t1.frombytes(np.ascontiguousarray(t1, dtype=np.int64).tobytes())
        self._alive.extend(b"\x01" * n)
        self._tag.extend(bytes(n) if tags is None else np.asarray(tags, dtype=np.uint8).tobytes())
        self._alive_count += n
        self._e_part.frombytes((np.asarray(e_part, dtype=np.int64) + first).astype(np.int32).tobytes())
        self._e_key.frombytes(keys.astype(np.int64).tobytes())
        self._e_box.frombytes(boxes.tobytes())
        self._level_counts += np.bincount(level * TIME_LEVELS + e_tl,
                                          minlength=LEVELS * TIME_LEVELS).reshape(LEVELS, TIME_LEVELS)
        self._in_use = None
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

    def rebuild(self) -> None:
        """Sort every entry into the main run (an O(n log n) numpy sort at worst)."""
        self._main = self._main.merged(self._small.merged(self._tail_run()))
        self._small = _Run.empty()

    def _cell_ranges(self, lon_lo: float, lat_lo: float, lon_hi: float, lat_hi: float,
                     t0: int, t1: int) -> tuple[IntArray, IntArray]:
        """Key ranges (inclusive) of the entries a part meeting the box and the
        window [t0, t1) may be filed under."""
        los: list[int] = []
        his: list[int] = []
        # A part is filed at the cell of its south-west corner on a level whose
        # cells are at least as large as it, so it reaches one cell east and
        # north: look one cell west and south. Adding 180 (or 90) rounds, and
        # can carry a part's far edge into a third cell by an ulp or two: the
        # query box grows by _PAD (far more than any such rounding) first.
        ax, ay = lon_lo - _PAD + 180.0, lat_lo - _PAD + 90.0
        bx, by = lon_hi + _PAD + 180.0, lat_hi + _PAD + 90.0
        # In time, a part filed at bucket b of a level lasts at most one bucket,
        # so it meets [t0, t1) only if t0 - size < start < t1: buckets from
        # t0 // size - 1 to (t1 - 1) // size (docs/geometry.md, the index).
        spans: list[tuple[int, int] | None] = []
        for tl, size in enumerate(_BUCKET_US):
            b0 = max(t0 // size - 1 + _BUCKET_OFFSET, 0)
            b1 = min((t1 - 1) // size + _BUCKET_OFFSET, _BUCKET_MAX)
            spans.append(((tl << _TL_SHIFT) | b0, (tl << _TL_SHIFT) | b1) if b0 <= b1 else None)
        spans.append(((TIME_LEVELS - 1) << _TL_SHIFT, (TIME_LEVELS - 1) << _TL_SHIFT))
        every = ((TIME_LEVELS - 1) << _TL_SHIFT) | _BUCKET_MAX
        x_step, y_step = 1 << _X_SHIFT, 1 << _Y_SHIFT
        for level, counts in self._levels_in_use:
            size, nx, ny = _DIMS[level]
            x0 = max(int(ax // size) - 1, 0)
            x1 = min(int(bx // size), nx - 1)
            y0 = max(int(ay // size) - 1, 0)
            y1 = min(int(by // size), ny - 1)
            base = level << _LEVEL_SHIFT
            offs = [span for tl, span in enumerate(spans) if span is not None and counts[tl]]
            if (x1 - x0 + 1) * (y1 - y0 + 1) * len(offs) <= _CELL_RANGES_MAX:
                # Per cell and time level, only the buckets the window can meet
                # (a range steps over the cells of a row: the fields do not carry).
                for y in range(y0, y1 + 1):
                    row = base | (y << _Y_SHIFT)
                    first, last = row | (x0 << _X_SHIFT), (row | (x1 << _X_SHIFT)) + 1
                    for lo_off, hi_off in offs:
                        los.extend(range(first | lo_off, last + lo_off, x_step))
                        his.extend(range(first | hi_off, last + hi_off, x_step))
            else:
                # Per row of cells, every time: too many cells to read one by one.
                first, stop = base | (y0 << _Y_SHIFT), (base | (y1 << _Y_SHIFT)) + 1
                los.extend(range(first | (x0 << _X_SHIFT), stop + (x0 << _X_SHIFT), y_step))
                his.extend(range(first | (x1 << _X_SHIFT) | every, stop + ((x1 << _X_SHIFT) | every), y_step))
        return np.array(los, np.int64), np.array(his, np.int64)

    @property
    def _levels_in_use(self) -> list[tuple[int, list[int]]]:
        """(space level, entries per time level) of the space levels holding entries."""
        cached = self._in_use
        if cached is None:
            counts = self._level_counts.tolist()
            cached = self._in_use = [(lvl, c) for lvl, c in enumerate(counts) if any(c)]
        return cached

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
            los, his = self._cell_ranges(*q, t0, t1)
            for run in (self._main, self._small):
                if len(run) and len(los):
                    found.append(run.scan(los, his, q, t0, t1, tags))
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
