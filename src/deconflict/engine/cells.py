"""Lock cells: the rows a decision locks, so that two decisions that could
meet always lock a row in common, and two that cannot meet lock none.

A decision's *reach* is what the engine may look at while deciding it: for an
activity, every part's conservative box grown by its radius and the caution
margin (the box :meth:`Engine.check` queries the index with, and the box it
meets measures with), over the part's window grown by the caution time; for
a measure, the box :func:`~deconflict.engine.recheck.recheck_measure` queries
with (its shape grown by its half width, a line's area of application or its
application distance, plus the margin), over its window grown by the caution
time. An activity and anything it could produce a finding with have
intersecting reaches (both grow by the margins, so either side's test
implies the reaches meet; see docs/store.md, "Acceptance by cells").

Cells nest. Level 0 cuts longitude and latitude into cells of
:data:`FINEST_CELL_DEG` (360/4096 degrees, about 10 km) and time into
buckets of :data:`FINEST_BUCKET` (a day); each level above makes cells 8
times wider and taller and buckets 8 times longer, up to :data:`LEVELS` - 1
(45 degrees, 512 days); above that there is one cell, :data:`GLOBAL`. Few
levels keep a claim's rows few (each row locked is a write in PostgreSQL). Indices are
computed once on the finest grid and shifted, so a cell's parent is exact
(no rounding differs between levels), and longitude indices wrap, so the
antimeridian is one edge between two cells, not two.

A decision locks, exclusively, the cells of the finest level at which its
reach needs at most :data:`MAX_CELLS` cells, and, shared, every ancestor of
those cells and :data:`GLOBAL` (the intention locks of multiple-granularity
locking). Two reaches that meet at a point and instant p lock the cells
holding p at their levels; the coarser of the two contains the finer, so one
decision holds it exclusively and the other holds it (exclusively or shared):
they wait for each other. A reach needing more than :data:`MAX_CELLS` cells
even at the top level (a world-spanning object, a window of decades) locks
:data:`GLOBAL` exclusively, which waits for every decision and every decision
waits for, as does every write that is not an activity's acceptance.

Identity is locked too, by hashed id: two versions of one declaration
submitted at once through two processes must come into the log in the order
they were decided, wherever each is (:func:`id_key`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from deconflict.engine.parts import Part
from deconflict.engine.rules import horizontal_reach
from deconflict.geo.bounds import Box
from deconflict.model import CautionMargins, Measure

#: Level 0 cell size (degrees): 360/4096, a power-of-two fraction of the globe
#: so that every level's cells divide 360 and 180 exactly.
FINEST_CELL_DEG = 360.0 / 4096
#: Level 0 time bucket: most activities last hours to days, so one or two buckets.
FINEST_BUCKET = timedelta(days=1)
#: Levels 0 .. LEVELS-1: 360/4096 .. 45 degrees, 1 .. 512 days.
LEVELS = 4
#: Each level's cells hold 8 x 8 cells of the level below (space) and 8 buckets (time).
SPACE_SHIFT = 3
TIME_SHIFT = 3
#: A decision whose reach needs more cells than this at a level goes up a level.
MAX_CELLS = 24
#: The one row above every cell.
GLOBAL = "global"
#: Ids are locked by hash into this many rows (a collision only makes two ids wait).
ID_ROWS = 1 << 16

_LON_CELLS = 4096
_LAT_CELLS = 2048
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BUCKET_US = FINEST_BUCKET // timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Claim:
    """Rows to lock: ``exclusive`` ones (FOR UPDATE) and ``shared`` ones (FOR SHARE)."""

    exclusive: frozenset[str]
    shared: frozenset[str] = frozenset()

    @property
    def is_global(self) -> bool:
        return GLOBAL in self.exclusive

    def __or__(self, other: Claim) -> Claim:
        ex = self.exclusive | other.exclusive
        if GLOBAL in ex:
            return EVERYTHING
        return Claim(ex, (self.shared | other.shared) - ex)

    def covers(self, other: Claim) -> bool:
        """Whether holding this claim holds ``other`` too (a stronger mode covers a weaker)."""
        if self.is_global:
            return True
        return other.exclusive <= self.exclusive and other.shared <= self.shared | self.exclusive

    def rows(self) -> list[tuple[str, bool]]:
        """Every row with whether it is exclusive, in the order rows are taken (by key)."""
        return sorted([(k, True) for k in self.exclusive] + [(k, False) for k in self.shared])


#: Everything: the global row, exclusively.
EVERYTHING = Claim(frozenset({GLOBAL}))
NOTHING = Claim(frozenset())

#: A reach: a box and the instants [start, end] it stands for.
Reach = tuple[Box, datetime, datetime]


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big") % ID_ROWS


def id_key(kind: str, ident: str) -> str:
    """The row locking one identity (``kind``: "d" a declaration id, "k" an idempotency key)."""
    return f"{kind}#{_digest(ident)}"


def declaration_reach(parts: Sequence[Part], margins: CautionMargins) -> list[Reach]:
    """What a check of these parts may look at (see the module's docstring)."""
    grow = margins.time
    return [(p.shape.box(p.radius_m + horizontal_reach(margins)), p.window.start - grow, p.window.end + grow)
            for p in parts]


def measure_reach(box: Box, measure: Measure, margins: CautionMargins) -> list[Reach]:
    """A measure's reach from its box (:func:`measure_box`)."""
    return [(box, measure.window.start - margins.time, measure.window.end + margins.time)]


def _lon_index(lon: float) -> int:
    return math.floor((lon + 180.0) / FINEST_CELL_DEG)


def _lat_index(lat: float) -> int:
    return min(max(math.floor((lat + 90.0) / FINEST_CELL_DEG), 0), _LAT_CELLS - 1)


def _bucket(t: datetime) -> int:
    return ((t - _EPOCH) // timedelta(microseconds=1)) // _BUCKET_US


Span = tuple[int, int, int, int, int, int]  # lon, lat, time index ranges (inclusive) on level 0


def _spans(reach: Reach) -> list[Span]:
    box, start, end = reach
    k0, k1 = _bucket(start), _bucket(end)
    return [(_lon_index(lo), _lon_index(hi), _lat_index(la), _lat_index(ha), k0, k1)
            for lo, la, hi, ha in box.parts()]


def _size(span: Span, level: int) -> int:
    s, t = SPACE_SHIFT * level, TIME_SHIFT * level
    n_lon = min((span[1] >> s) - (span[0] >> s) + 1, _LON_CELLS >> s)
    n_lat = (span[3] >> s) - (span[2] >> s) + 1
    return n_lon * n_lat * ((span[5] >> t) - (span[4] >> t) + 1)


def cell_key(level: int, i: int, j: int, k: int) -> str:
    return f"c{level}:{i}:{j}:{k}"


def _cells(span: Span, level: int) -> Iterable[tuple[int, int, int]]:
    s, t = SPACE_SHIFT * level, TIME_SHIFT * level
    wrap = _LON_CELLS >> s
    i0, i1 = span[0] >> s, span[1] >> s
    lons = range(wrap) if i1 - i0 + 1 >= wrap else sorted({i % wrap for i in range(i0, i1 + 1)})
    for i in lons:
        for j in range((span[2] >> s), (span[3] >> s) + 1):
            for k in range((span[4] >> t), (span[5] >> t) + 1):
                yield i, j, k


def claim(reaches: Iterable[Reach]) -> Claim:
    """The rows a decision with these reaches locks (see the module's docstring)."""
    spans = [s for r in reaches for s in _spans(r)]
    if not spans:
        return NOTHING
    for level in range(LEVELS):
        if sum(_size(s, level) for s in spans) > MAX_CELLS:
            continue
        exclusive: set[str] = set()
        shared: set[str] = {GLOBAL}
        for span in spans:
            for i, j, k in _cells(span, level):
                exclusive.add(cell_key(level, i, j, k))
                for up in range(1, LEVELS - level):
                    shared.add(cell_key(level + up, i >> (SPACE_SHIFT * up), j >> (SPACE_SHIFT * up),
                                        k >> (TIME_SHIFT * up)))
        return Claim(frozenset(exclusive), frozenset(shared - exclusive))
    return EVERYTHING
