"""A spatial-temporal index of footprint parts: a multi-level grid over sorted keys.

Each part is filed under one grid cell: the cell holding the south-west
corner of its conservative box, on the finest level whose cells are at least
as large as the box. A part therefore reaches at most one cell east and one
north of its cell, so a query looks at the cells its box covers, widened by
one cell west and south, on every level in use. Keys are kept in one sorted
numpy array, so a query is a handful of binary searches plus the k candidates
found: about O(L log n + k) for L levels in use.

Why not shapely's STRtree? It is static and costs about 500 bytes per box;
this index takes about 90 bytes a part, rebuilds its sorted order in a
fraction of a second at a million parts, and takes inserts and withdrawals
between rebuilds in a small linearly scanned tail.

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
#: The unsorted tail is merged into the sorted keys when it grows past this
#: share of the index (or past the minimum), so inserts stay amortised O(log n).
_TAIL_MIN = 4096
_TAIL_SHARE = 16

IntArray = npt.NDArray[np.int64]


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


class GridIndex:
    """Parts by id (dense ints from 0); entries are the parts' boxes (a box
    crossing the antimeridian is filed as two entries)."""

    def __init__(self) -> None:
        self._t0 = array("q")
        self._t1 = array("q")
        self._alive = bytearray()
        self._e_part = array("i")
        self._e_key = array("q")
        self._e_box = array("d")
        self._sorted_keys: IntArray = np.empty(0, np.int64)
        self._sorted_entries: npt.NDArray[np.int32] = np.empty(0, np.int32)
        self._n_sorted = 0
        self._level_counts = [0] * LEVELS
        self._alive_count = 0

    def __len__(self) -> int:
        return self._alive_count

    @property
    def parts_total(self) -> int:
        return len(self._t0)

    def add(self, box: Box, start: datetime, end: datetime) -> int:
        pid = len(self._t0)
        self._t0.append(micros(start))
        self._t1.append(micros(end))
        self._alive.append(1)
        self._alive_count += 1
        for lon_lo, lat_lo, lon_hi, lat_hi in box.parts():
            level = _level_for(lon_hi - lon_lo, lat_hi - lat_lo)
            size, nx, ny = _dims(level)
            x = min(int((lon_lo + 180.0) // size), nx - 1)
            y = min(int((lat_lo + 90.0) // size), ny - 1)
            self._e_part.append(pid)
            self._e_key.append((level << _LEVEL_SHIFT) + y * nx + x)
            self._e_box.extend((lon_lo, lat_lo, lon_hi, lat_hi))
            self._level_counts[level] += 1
        if len(self._e_key) - self._n_sorted > max(_TAIL_MIN, self._n_sorted // _TAIL_SHARE):
            self.rebuild()
        return pid

    def add_many(
        self,
        t0: IntArray,
        t1: IntArray,
        e_part: IntArray,
        e_box: npt.NDArray[np.float64],
        *,
        rebuild: bool = True,
    ) -> int:
        """Add ``len(t0)`` parts at once and return the id of the first.

        Part ``k`` has the window ``[t0[k], t1[k])`` (microseconds since the
        epoch) and the entries ``e_box[j]`` (lon_lo, lat_lo, lon_hi, lat_hi,
        inside [-180, 180], as :meth:`Box.parts` gives them) for which
        ``e_part[j] == k``. Filed exactly as :meth:`add` files them. With
        ``rebuild=False`` the entries stay in the tail until the caller
        rebuilds (a bulk load rebuilds once at the end)."""
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
        keys = (level << _LEVEL_SHIFT) + y * nx + x
        self._t0.frombytes(np.ascontiguousarray(t0, dtype=np.int64).tobytes())
        self._t1.frombytes(np.ascontiguousarray(t1, dtype=np.int64).tobytes())
        self._alive.extend(b"\x01" * n)
        self._alive_count += n
        self._e_part.frombytes((np.asarray(e_part, dtype=np.int64) + first).astype(np.int32).tobytes())
        self._e_key.frombytes(keys.astype(np.int64).tobytes())
        self._e_box.frombytes(boxes.tobytes())
        for lvl, count in enumerate(np.bincount(level, minlength=LEVELS).tolist()):
            self._level_counts[lvl] += count
        if rebuild and len(self._e_key) - self._n_sorted > max(_TAIL_MIN, self._n_sorted // _TAIL_SHARE):
            self.rebuild()
        return first

    def remove(self, pid: int) -> None:
        if self._alive[pid]:
            self._alive[pid] = 0
            self._alive_count -= 1

    def rebuild(self) -> None:
        """Sort every entry's key (an O(n log n) numpy sort)."""
        keys = np.frombuffer(self._e_key, dtype=np.int64) if len(self._e_key) else np.empty(0, np.int64)
        order = np.argsort(keys, kind="stable").astype(np.int32)
        self._sorted_keys = keys[order]
        self._sorted_entries = order
        self._n_sorted = len(keys)

    def _candidate_entries(self, lon_lo: float, lat_lo: float, lon_hi: float, lat_hi: float) -> npt.NDArray[np.int64]:
        los: list[int] = []
        his: list[int] = []
        for level in range(LEVELS):
            if not self._level_counts[level]:
                continue
            size, nx, ny = _dims(level)
            # One cell west and south for parts anchored there, and one more
            # cell on every side so that rounding at a cell edge can never
            # drop a part: over-selecting is safe, missing is not.
            x0 = max(int((lon_lo + 180.0) // size) - 2, 0)
            x1 = min(int((lon_hi + 180.0) // size) + 1, nx - 1)
            y0 = max(int((lat_lo + 90.0) // size) - 2, 0)
            y1 = min(int((lat_hi + 90.0) // size) + 1, ny - 1)
            base = level << _LEVEL_SHIFT
            rows = np.arange(y0, y1 + 1, dtype=np.int64) * nx + base
            los.extend((rows + x0).tolist())
            his.extend((rows + x1).tolist())
        if not los or not self._n_sorted:
            return np.empty(0, np.int64)
        lo = np.searchsorted(self._sorted_keys, np.asarray(los, np.int64), "left")
        hi = np.searchsorted(self._sorted_keys, np.asarray(his, np.int64), "right")
        counts = hi - lo
        total = int(counts.sum())
        if not total:
            return np.empty(0, np.int64)
        # Expand the [lo, hi) ranges into positions without a Python loop.
        starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
        pos = starts + np.arange(total)
        return self._sorted_entries[pos].astype(np.int64)

    def query(self, box: Box, start: datetime, end: datetime) -> IntArray:
        """Ids of live parts whose box meets ``box`` and whose window meets
        ``[start, end)``."""
        boxes = np.frombuffer(self._e_box, dtype=np.float64).reshape(-1, 4) if len(self._e_box) else np.empty((0, 4))
        found: list[IntArray] = []
        tail = np.arange(self._n_sorted, len(self._e_key), dtype=np.int64)
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
            entries = np.concatenate((self._candidate_entries(*q), tail))
            if not entries.size:
                continue
            b = boxes[entries]
            hit = (b[:, 0] <= q[2]) & (q[0] <= b[:, 2]) & (b[:, 1] <= q[3]) & (q[1] <= b[:, 3])
            found.append(entries[hit])
        if not found:
            return np.empty(0, np.int64)
        e_part = np.frombuffer(self._e_part, dtype=np.int32)
        parts = np.unique(e_part[np.concatenate(found)]).astype(np.int64)
        if not parts.size:
            return parts
        alive = np.frombuffer(self._alive, dtype=np.uint8)[parts].astype(bool)
        t0 = np.frombuffer(self._t0, dtype=np.int64)[parts]
        t1 = np.frombuffer(self._t1, dtype=np.int64)[parts]
        keep = alive & (t0 < micros(end)) & (micros(start) < t1)
        return parts[keep]

    def memory_bytes(self) -> int:
        """Bytes held by the index's arrays (not counting Python object headers)."""
        return (
            sum(a.itemsize * len(a) for a in (self._t0, self._t1, self._e_part, self._e_key, self._e_box))
            + len(self._alive)
            + self._sorted_keys.nbytes
            + self._sorted_entries.nbytes
        )
