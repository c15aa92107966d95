"""Lists of declarations in pages that cost what they return.

A page is the ``limit`` smallest ids past a cursor among the declarations a
caller may see and that pass its filters (box, time window, kinds, owners).
The engine's compact table (engine/table.py) keeps the declarations of its
start-up snapshot encoded, sorted by id, with the few facts a list filters
on as columns (:class:`Columns`): its kind, its *audience* (owner and sharing,
one code per distinct pair), its window in microseconds and the envelope of
its positions. A page then walks the base in id order from the cursor
(a binary search), rules slots in or out on the columns, chunk by chunk with
numpy, and decodes only the slots the columns let through, until it has its
page. Declarations added later (the log's tail, new submits) are objects
already and are filtered as objects.

Exactness: the columns only ever rule out what the exact test (the caller's
``keeps``, run on every decoded declaration before it is listed) would rule
out too. Visibility is decided per audience by the very predicate the exact
test uses, so it is exact; so are kinds, owners and windows (integer
microseconds of the same datetimes). The box test on the envelope is exact
for a box that does not cross the antimeridian (a declaration is listed when
the envelope of its positions meets the box, see :func:`meets`) and a
superset for one that does (then the positions decide, after decoding).
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from deconflict.engine.index import micros
from deconflict.model import Declaration, DeclarationKind, ShareWith
from deconflict.model.declaration import footprint_sources
from deconflict.model.geometry import Geometry, LineString, Point, Polygon

#: Kinds by their code in :attr:`Columns.kind`.
KINDS: tuple[DeclarationKind, ...] = tuple(DeclarationKind)
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
#: An owner and whom it shares with: what visibility depends on.
Audience = tuple[str, ShareWith]
Box4 = tuple[float, float, float, float]
#: Slots ruled in or out together (the first chunk is a few pages' worth).
_CHUNK_MAX = 1 << 16


def _coords(g: Geometry | None) -> list[tuple[float, float]]:
    if isinstance(g, Point):
        return [(g.lon, g.lat)]
    if isinstance(g, LineString):
        return list(g.coords)
    if isinstance(g, Polygon):
        return list(g.rings[0])
    return []


def positions(d: Declaration) -> list[tuple[float, float]]:
    """Where a declaration is, for a list's box filter: the positions its footprint
    is built from (of a polygon, its outer ring: its holes lie within it)."""
    geometries, extra = footprint_sources(d)
    return [c for g in geometries for c in _coords(g)] + extra


def meets(pts: Sequence[tuple[float, float]], box: Box4) -> bool:
    """Whether one of ``pts`` lies in ``box`` or (for a box not across the
    antimeridian) their envelope meets it."""
    lon0, lat0, lon1, lat1 = box
    wraps = lon0 > lon1  # a box across the antimeridian

    def lon_in(x: float) -> bool:
        return (x >= lon0 or x <= lon1) if wraps else lon0 <= x <= lon1

    if any(lon_in(x) and lat0 <= y <= lat1 for x, y in pts):
        return True
    if not pts or wraps:
        return False
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs) <= lon1 and max(xs) >= lon0 and min(ys) <= lat1 and max(ys) >= lat0


@dataclass(frozen=True, slots=True)
class Columns:
    """Per declaration ``i``: ``kind[i]`` (a code into :data:`KINDS`),
    ``aud[i]`` (an index into ``audiences``), its window ``[w0[i], w1[i])`` in
    microseconds since the epoch, and ``env[i]`` = (lon_lo, lat_lo, lon_hi,
    lat_hi), the envelope of its positions (NaN when it has none)."""

    kind: npt.NDArray[np.uint8]
    aud: npt.NDArray[np.int32]
    w0: npt.NDArray[np.int64]
    w1: npt.NDArray[np.int64]
    env: npt.NDArray[np.float64]
    audiences: list[Audience]

    @classmethod
    def empty(cls) -> Columns:
        return cls.of([])

    @classmethod
    def of(cls, decls: Iterable[Declaration], audiences: list[Audience] | None = None) -> Columns:
        """The columns of ``decls``, in order (``audiences``, if given, is
        extended and used: codes stay those of the list it started as)."""
        auds = [] if audiences is None else audiences
        code = {a: i for i, a in enumerate(auds)}
        kind, aud, w0, w1, env = bytearray(), [], [], [], []
        nan = (float("nan"),) * 4
        for d in decls:
            a = (d.owner, d.share_with)
            c = code.get(a)
            if c is None:
                c = code[a] = len(auds)
                auds.append(a)
            kind.append(_KIND_CODE[d.kind])
            aud.append(c)
            w0.append(micros(d.window.start))
            w1.append(micros(d.window.end))
            pts = positions(d)
            if pts:
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                env.append((min(xs), min(ys), max(xs), max(ys)))
            else:
                env.append(nan)
        return cls(np.frombuffer(bytes(kind), np.uint8), np.asarray(aud, np.int32).reshape(-1),
                   np.asarray(w0, np.int64).reshape(-1), np.asarray(w1, np.int64).reshape(-1),
                   np.asarray(env, np.float64).reshape(-1, 4), auds)

    def take(self, slots: npt.NDArray[np.int64]) -> Columns:
        return Columns(self.kind[slots], self.aud[slots], self.w0[slots], self.w1[slots], self.env[slots],
                       list(self.audiences))

    @staticmethod
    def concat(first: Columns, second: Columns) -> Columns:
        """``first`` then ``second``, in ``first``'s audience codes."""
        auds = list(first.audiences)
        code = {a: i for i, a in enumerate(auds)}
        remap = np.zeros(len(second.audiences), np.int32)
        for i, a in enumerate(second.audiences):
            c = code.get(a)
            if c is None:
                c = code[a] = len(auds)
                auds.append(a)
            remap[i] = c
        return Columns(np.concatenate([first.kind, second.kind]),
                       np.concatenate([first.aud, remap[second.aud]]).astype(np.int32),
                       np.concatenate([first.w0, second.w0]), np.concatenate([first.w1, second.w1]),
                       np.concatenate([first.env, second.env]).reshape(-1, 4), auds)


@dataclass(frozen=True, slots=True)
class Filter:
    """What a page asks for. ``sees(owner, share_with)``: whether the caller may
    see a declaration of that audience (owners asked for included); ``keeps``:
    the exact test of a declaration (visibility and every filter), which has
    the last word. ``kinds`` are :class:`DeclarationKind` values; the window and
    the box are those :func:`meets` and the caller's ``keeps`` test."""

    limit: int
    sees: Callable[[str, ShareWith], bool]
    keeps: Callable[[Declaration], bool]
    after: str | None = None
    kinds: frozenset[str] = frozenset()
    start: datetime | None = None
    end: datetime | None = None
    bbox: Box4 | None = None
    #: The caller's promise that ``keeps`` is exactly visibility (as ``sees``
    #: decides it) and the filters above: then the columns decide, and a page
    #: lists stored documents without decoding them (see :func:`page`).
    exact: bool = False

    def audiences(self, cols: Columns) -> npt.NDArray[np.bool_]:
        """Whether the caller sees each audience of ``cols`` (one call per distinct audience)."""
        return np.fromiter((self.sees(o, s) for o, s in cols.audiences), bool, len(cols.audiences))

    def mask(self, cols: Columns, lo: int, hi: int, alive: npt.NDArray[np.bool_],
             ok_aud: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Slots ``lo..hi-1`` of ``cols`` the exact test may keep (a superset)."""
        m = alive & ok_aud[cols.aud[lo:hi]] if len(ok_aud) else np.zeros(hi - lo, bool)
        if self.kinds:
            ok_kind = np.array([k.value in self.kinds for k in KINDS], bool)
            m &= ok_kind[cols.kind[lo:hi]]
        if self.start is not None:
            m &= cols.w1[lo:hi] > micros(self.start)
        if self.end is not None:
            m &= cols.w0[lo:hi] < micros(self.end)
        if self.bbox is not None:
            lon0, lat0, lon1, lat1 = self.bbox
            env = cols.env[lo:hi]
            m &= (env[:, 1] <= lat1) & (env[:, 3] >= lat0)
            if lon0 <= lon1:
                m &= (env[:, 0] <= lon1) & (env[:, 2] >= lon0)
            else:  # across the antimeridian: a position in either half
                m &= (env[:, 2] >= lon0) | (env[:, 0] <= lon1)
        return m


class IdsView(Sequence[bytes]):
    """The ids of a snapshot's base, sorted, as UTF-8 bytes (a ``\\n``-joined
    buffer and where each starts): searched, never split into strings."""

    __slots__ = ("_blob", "_starts")

    def __init__(self, blob: memoryview | bytes, n: int) -> None:
        self._blob = memoryview(blob).cast("B") if len(blob) else memoryview(b"")
        starts = np.zeros(n + 1, np.int64)
        if n:
            cuts = np.flatnonzero(np.frombuffer(self._blob, np.uint8) == 0x0A)
            if len(cuts) != n - 1:
                raise ValueError(f"{n} ids expected, {len(cuts) + 1} found")
            starts[1:n] = cuts + 1
            starts[n] = len(self._blob) + 1
        # Machine integers, 8 bytes a declaration, read one at a time in a search.
        self._starts = array("q", starts.tobytes())

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, i: int) -> bytes:  # type: ignore[override]
        return bytes(self._blob[self._starts[i]:self._starts[i + 1] - 1])

    def find(self, ident: str) -> int | None:
        """The position of ``ident``, or None."""
        key = ident.encode("utf-8")
        i = bisect_right(self, key) - 1
        return i if i >= 0 and self[i] == key else None

    def after(self, ident: str | None) -> int:
        """The first position whose id sorts after ``ident`` (0 for None)."""
        return 0 if ident is None else bisect_right(self, ident.encode("utf-8"))

    def strings(self, positions: Iterable[int]) -> Iterator[str]:
        for i in positions:
            yield self[i].decode("utf-8")


@dataclass(frozen=True, slots=True)
class Run:
    """The declarations added after the base, ``extra[0:covers]`` (slots
    relative to the base's end, ``None`` once withdrawn), as slots sorted by id:
    a page walks it from the cursor instead of filtering every one. Later
    additions are the delta past ``covers``; a slot listed here that is
    withdrawn since is ``None`` in any later copy, and skipped."""

    ids: list[str]
    slots: list[int]
    covers: int

    @classmethod
    def of(cls, extra: Sequence[Declaration | None]) -> Run:
        pairs = sorted((d.id, i) for i, d in enumerate(extra) if d is not None)
        return cls([p[0] for p in pairs], [p[1] for p in pairs], len(extra))

    def stale(self, extra: Sequence[Declaration | None]) -> bool:
        """Whether the delta of ``extra`` past this run is worth sorting into a new one."""
        return len(extra) - self.covers > max(4096, self.covers // 8)

    def in_order(self, extra: Sequence[Declaration | None], after: str | None) -> Iterator[Declaration]:
        """The live declarations of ``extra`` this run covers with an id past ``after``, in id order."""
        for i in range(0 if after is None else bisect_right(self.ids, after), len(self.ids)):
            d = extra[self.slots[i]]
            if d is not None:
                yield d

    def delta(self, extra: Sequence[Declaration | None]) -> list[Declaration]:
        return [d for d in extra[self.covers:] if d is not None]


def later_page(extra: Sequence[Declaration | None], run: Run, f: Filter, want: int) -> list[Declaration]:
    """The ``want`` smallest ids of ``extra`` past the cursor that ``f`` keeps."""
    found: list[Declaration] = []
    for d in run.in_order(extra, f.after):
        if f.keeps(d):
            found.append(d)
            if len(found) == want:
                break
    after = f.after
    delta = heapq.nsmallest(want, (d for d in run.delta(extra) if (after is None or d.id > after) and f.keeps(d)),
                            key=lambda d: d.id)
    return list(heapq.merge(found, delta, key=lambda d: d.id))[:want]


@dataclass(frozen=True, slots=True)
class Stored:
    """A declaration of the base as it is stored: its id and its document (the
    canonical JSON of its encoding), listed without being decoded."""

    id: str
    doc: bytes


Listed = Declaration | Stored


def page(base_ids: IdsView, cols: Columns, dead: bytes, decode: Callable[[int], Declaration],
         extra: Sequence[Declaration | None], f: Filter,
         stored: Callable[[int], bytes] | None = None, run: Run | None = None) -> tuple[list[Listed], str | None]:
    """The page ``f`` asks for among the base (slot ``i`` has id ``base_ids[i]``,
    in order; ``dead[i]`` when withdrawn; ``decode(i)`` its declaration) and
    ``extra`` (objects, any order, None when withdrawn; ``run`` of it if one is at
    hand); and the cursor of the next page (None at the end).
    When the columns decide ``f`` exactly (:attr:`Filter.exact`, and no box across
    the antimeridian) and ``stored(i)`` gives slot ``i``'s document, the base's
    declarations are listed as :class:`Stored`, not decoded."""
    want = f.limit + 1
    found: list[Listed] = []
    n = len(base_ids)
    lo = base_ids.after(f.after)
    chunk = min(_CHUNK_MAX, 4 * want)
    dead_arr = np.frombuffer(dead, np.uint8) if n else np.zeros(0, np.uint8)
    ok_aud = f.audiences(cols)
    raw = stored if f.exact and (f.bbox is None or f.bbox[0] <= f.bbox[2]) else None
    while lo < n and len(found) < want:
        hi = min(n, lo + chunk)
        m = f.mask(cols, lo, hi, dead_arr[lo:hi] == 0, ok_aud)
        slots = (np.flatnonzero(m) + lo).tolist()
        if raw is not None:
            found.extend(Stored(base_ids[s].decode("utf-8"), raw(s)) for s in slots[:want - len(found)])
        else:
            for slot in slots:
                d = decode(slot)
                if f.keeps(d):
                    found.append(d)
                    if len(found) == want:
                        break
        lo, chunk = hi, min(_CHUNK_MAX, chunk * 2)
    later = later_page(extra, run if run is not None else Run.of(extra), f, want)
    chosen = list(heapq.merge(found, later, key=lambda d: d.id))[:want]
    if len(chosen) > f.limit:
        chosen = chosen[:f.limit]
        return chosen, chosen[-1].id
    return chosen, None
