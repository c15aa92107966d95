"""The engine: holds what is in force and checks activities against it."""

from __future__ import annotations

import heapq
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

import numpy as np

from deconflict.engine import exact, reach
from deconflict.engine.bulk import Batch, pair_tags, part_tag
from deconflict.engine.explain import explain_measure, explain_pair
from deconflict.engine.image import EngineImage
from deconflict.engine.index import GridIndex
from deconflict.engine.listing import Columns, Filter, IdsView, Listed
from deconflict.engine.parts import (
    Part,
    Role,
    declaration_part,
    declaration_parts,
    measure_shape,
    part_band,
    part_line,
)
from deconflict.engine.rules import (
    PAIR_RULES,
    Gate,
    Outcome,
    PairRule,
    applicable_pair_rules,
    evaluate_area_measure,
    evaluate_line_measure,
    horizontal_reach,
    make_finding,
    measure_applies,
    measure_finding_kind,
    pair_gate,
    volume_outcome,
)
from deconflict.engine.table import DeclarationTable, Decode
from deconflict.errors import AlreadyExists, InvalidInput, NotFound, UnknownReference
from deconflict.geo.bounds import Box
from deconflict.geo.shape import Shape, ShapeType, line_out_of_reach, trusted
from deconflict.model import (
    AltitudeBand,
    CautionMargins,
    CheckResult,
    Declaration,
    DeclarationKind,
    Finding,
    FindingKind,
    Measure,
    Party,
    ShareWith,
)
from deconflict.model.geometry import Position
from deconflict.model.units import vertical_gap, within_vertical_margin

#: Candidates of one activity part from which they are ruled out together by
#: chord bounds (geo/chord.py) before any exact comparison.
CHORD_PRUNE_MIN = 4
#: A candidate: its declaration, its part, and the pair rules between them.
_Candidate = tuple[Declaration, Part, list[tuple[PairRule, Part, Part]]]

#: A comparison waiting for its distance: the check's findings so far, the
#: activity part, the candidate and its part, the rule and its (a, b) sides,
#: and what the time and band tests decided.
_Pending = tuple[dict[tuple[str, str], Finding], Part, Declaration, Part, PairRule, Part, Part, Gate]

#: Parts of this many declarations are kept built between checks.
PART_CACHE_SIZE = 50_000
#: Engine.load adds declarations in chunks of this many.
LOAD_CHUNK = 16_384

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class _MeasureEntry:
    measure: Measure
    shape: Shape
    box: Box
    # A line's area of application, when the measure gives one as a polygon.
    area: Shape | None = None
    # A line's continued shapes, by length bucket (built once, not per check).
    extended: dict[int, Shape] = field(default_factory=dict)


def _guard_area(measure: Measure) -> Shape:
    area = measure.application_area
    assert area is not None
    try:
        return Shape.of(area)
    except InvalidInput as exc:
        raise exc.within("application_area") from None


def _only_3d(part: Part) -> bool:
    """Whether every pair rule ``part`` can take part in (on either side) is 3D."""
    return all(rule.three_d for rule in PAIR_RULES if rule.a.matches(part) or rule.b.matches(part))


def _keep(best: dict[tuple[str, str], Finding], f: Finding) -> None:
    """Keep ``f`` unless a finding on the same object and rule is as severe and no farther."""
    key = (f.object_id, f.rule)
    old = best.get(key)
    if old is None or (f.kind.severity, -f.separation_m) > (old.kind.severity, -old.separation_m):
        best[key] = f


def _live(decl: Declaration | None) -> Declaration:
    assert decl is not None
    return decl


class Engine:
    """Checks activities against declarations and measures in force.

    Pure and single-threaded: callers serialise writes (the service does, per
    spatial cell). A withdrawn or replaced declaration leaves the index at once.
    """

    def __init__(self, margins: CautionMargins | None = None) -> None:
        self.margins = margins or CautionMargins()
        self._parties: dict[str, Party] = {}
        self._measures: dict[str, _MeasureEntry] = {}
        # The measures that can govern a part, by what decides it (binding and
        # measure_applies read only the part's owner, kind, role and forces), in
        # the order of _measures; dropped whenever a measure changes.
        self._governing: dict[tuple[str, DeclarationKind, Role, bool], tuple[_MeasureEntry, ...]] = {}
        # Compact: a table that may hold declarations encoded until asked for,
        # and machine integers rather than a list of Python ints per declaration
        # and per part (about 36 bytes each in a list, 4 or 8 here).
        self._decls = DeclarationTable()
        # Ids of the slots added since the table's base (the base finds its own
        # by a binary search: a dict entry and a string per declaration were
        # about 130 bytes each at 1M).
        self._slot: dict[str, int] = {}
        self._live = 0
        self._first_part = array("q")
        self._n_parts = array("i")
        self._part_owner = array("i")
        self._index = GridIndex()
        # Per declaration, its parts built so far (a check builds only the part it needs).
        self._cache: OrderedDict[int, list[Part | None]] = OrderedDict()
        self._parts_memo: tuple[Declaration, list[Part]] | None = None

    # -- parties ---------------------------------------------------------------
    def add_party(self, party: Party) -> None:
        if party.id in self._parties:
            raise AlreadyExists("party", party.id)
        self._parties[party.id] = party

    @property
    def parties(self) -> dict[str, Party]:
        return dict(self._parties)

    def _party(self, pid: str, field: str) -> None:
        if pid not in self._parties:
            known = ", ".join(sorted(self._parties)) or "none yet"
            raise UnknownReference(field, f"unknown party {pid!r} (known: {known})")

    def validate_declaration(self, decl: Declaration) -> list[Part]:
        """Check references and geometry; return the parts. Raises InvalidInput."""
        self._party(decl.owner, "owner")
        for p in sorted(decl.share_with.parties):
            self._party(p, "share_with")
        # A submit validates the same (immutable) object three times: checked,
        # prepared, then added. Holding the last one by reference keeps its id
        # from being reused, so identity is a safe key.
        memo = self._parts_memo
        if memo is not None and memo[0] is decl:
            return memo[1]
        parts = declaration_parts(decl)
        self._parts_memo = (decl, parts)
        return parts

    def prebuild(self, decl: Declaration) -> list[Part]:
        """:meth:`validate_declaration` without touching the engine's memo: for a
        request's thread, before it takes the service's lock (which then hands
        the parts over with :meth:`adopt`), so the costly geometry is never
        built while others wait for the lock."""
        self._party(decl.owner, "owner")
        for p in sorted(decl.share_with.parties):
            self._party(p, "share_with")
        return declaration_parts(decl)

    def adopt(self, decl: Declaration, parts: list[Part]) -> None:
        """Use ``parts`` (from :meth:`prebuild` of this very object) as its parts."""
        self._parts_memo = (decl, parts)

    def validate_measure(self, measure: Measure) -> Shape:
        self._party(measure.owner, "owner")
        for p, _s in measure.sides:
            self._party(p, f"sides.{p}")
        for p in sorted(measure.binds.parties):
            self._party(p, "binds")
        shape = measure_shape(measure)
        if measure.application_area is not None:
            _guard_area(measure)
        return shape

    # -- measures ------------------------------------------------------------
    def add_measure(self, measure: Measure, *, replace: bool = False) -> None:
        if measure.id in self._measures and not replace:
            raise AlreadyExists("measure", measure.id)
        self._measures[measure.id] = self.measure_entry(measure)
        self._governing.clear()

    def measure_entry(self, measure: Measure) -> _MeasureEntry:
        """The measure validated and prepared for checks (not added)."""
        shape = self.validate_measure(measure)
        area = None
        if not measure.kind.is_line:
            box = shape.box(measure.half_width_m)
        elif measure.application_area is not None:
            area = _guard_area(measure)
            box = area.box(0.0)
        else:
            # A line governs nothing farther than application_m from it.
            box = shape.box(measure.application_m)
        return _MeasureEntry(measure, shape, box, area)

    def remove_measure(self, measure_id: str) -> Measure:
        entry = self._measures.pop(measure_id, None)
        if entry is None:
            raise NotFound("measure", measure_id)
        self._governing.clear()
        return entry.measure

    def _governing_measures(self, ap: Part) -> tuple[_MeasureEntry, ...]:
        """The measures in force that bind ``ap``'s owner and apply to it: what
        :meth:`_check_measure` would not turn away at once, without asking each."""
        key = (ap.owner, ap.kind, ap.role, ap.forces)
        found = self._governing.get(key)
        if found is None:
            found = self._governing[key] = tuple(
                e for e in self._measures.values()
                if e.measure.binds_party(ap.owner) and measure_applies(e.measure, ap))
        return found

    def measures(self) -> list[Measure]:
        return [e.measure for e in self._measures.values()]

    # -- declarations --------------------------------------------------------
    def add_declaration(self, decl: Declaration, *, replace: bool = False) -> None:
        parts = self.validate_declaration(decl)
        if self._slot_of(decl.id) is not None:
            if not replace:
                raise AlreadyExists("declaration", decl.id)
            self.remove_declaration(decl.id)
        slot = len(self._decls)
        self._decls.append(decl)
        self._slot[decl.id] = slot
        self._live += 1
        first = -1
        for part in parts:
            pid = self._index.add(part.shape.box(part.radius_m), part.window.start, part.window.end,
                                  part_tag(part))
            self._part_owner.append(slot)
            first = pid if first < 0 else first
        self._first_part.append(first)
        self._n_parts.append(len(parts))
        cached: list[Part | None] = list(parts)
        self._remember(slot, cached)

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

    # -- snapshots (store/startup.py) ---------------------------------------------
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

    def _slot_of(self, decl_id: str) -> int | None:
        """The live slot of ``decl_id``, or None."""
        slot = self._slot.get(decl_id)
        return slot if slot is not None else self._decls.base_slot(decl_id)

    def remove_declaration(self, decl_id: str) -> Declaration:
        slot = self._slot.pop(decl_id, None)
        if slot is None:
            slot = self._decls.base_slot(decl_id)
        if slot is None:
            raise NotFound("declaration", decl_id)
        self._live -= 1
        decl = self._decls[slot]
        assert decl is not None
        self._decls[slot] = None
        first = self._first_part[slot]
        for pid in range(first, first + self._n_parts[slot]):
            self._index.remove(pid)
        self._cache.pop(slot, None)
        return decl

    def has_declaration(self, decl_id: str) -> bool:
        return self._slot_of(decl_id) is not None

    def get_declaration(self, decl_id: str) -> Declaration:
        slot = self._slot_of(decl_id)
        if slot is None:
            raise NotFound("declaration", decl_id)
        decl = self._decls[slot]
        assert decl is not None
        return decl

    def declarations(self) -> Iterable[Declaration]:
        return (d for d in self._decls if d is not None)

    def frozen_declarations(self) -> Iterator[Declaration]:
        """The declarations now, to be iterated after the caller lets go of the
        engine (see DeclarationTable.frozen): take it under the lock, read it outside."""
        return self._decls.frozen()

    def documents_later(self) -> Callable[[Callable[[str, ShareWith], bool], Callable[[Declaration], bool]],
                                          list[bytes | Declaration]]:
        """Every declaration now, in id order, read after the caller lets go of the
        engine (see DeclarationTable.documents): the stored document of those
        still encoded, the object of the others."""
        return self._decls.documents()

    def pager(self) -> Callable[[Filter], tuple[list[Listed], str | None]]:
        """Pages of the declarations now, asked after the caller lets go of the
        engine (see DeclarationTable.pager): take it under the lock, ask outside."""
        return self._decls.pager()

    def __len__(self) -> int:
        return self._live

    def _remember(self, slot: int, parts: list[Part | None]) -> None:
        self._cache[slot] = parts
        if len(self._cache) > PART_CACHE_SIZE:
            self._cache.popitem(last=False)

    def _part(self, slot: int, k: int) -> Part:
        """Part ``k`` of the declaration in ``slot``, built (and kept) on first use."""
        parts = self._cache.get(slot)
        if parts is None:
            parts = [None] * self._n_parts[slot]
            self._remember(slot, parts)
        else:
            self._cache.move_to_end(slot)
        part = parts[k]
        if part is None:
            decl = self._decls[slot]
            assert decl is not None
            with trusted():  # in force: validated when it was accepted
                part = parts[k] = declaration_part(decl, k)
        return part

    def _built(self, slot: int, k: int) -> bool:
        parts = self._cache.get(slot)
        return parts is not None and parts[k] is not None

    def _out_of_reach(self, point: tuple[float, float], ap: Part, decl: Declaration, k: int) -> bool:
        """Whether part ``k`` of ``decl``, a line, is certainly farther from the
        point-shaped part ``ap`` than any pair rule reaches, without building
        it: evaluate_volumes would measure that distance as inf (the same
        bounds, see line_out_of_reach) and every rule of the pair answer None.
        Most line candidates of a point (a site's or a fire's) are ruled out
        so, and building a line is most of what such a check would cost."""
        line = part_line(decl, k)
        if line is None:
            return False
        coords, radius = line
        upto = ap.radius_m + radius + horizontal_reach(self.margins)
        return line_out_of_reach(point[0], point[1], coords, upto)

    def _band_apart(self, band: AltitudeBand, decl: Declaration, k: int) -> bool:
        """Whether part ``k`` of ``decl`` has a band whose gap to ``band`` is over
        the vertical margin, in which evaluate_volumes answers None for every 3D
        rule (the same arithmetic, in either order; a part without a band is
        left to the rules)."""
        other = part_band(decl, k)
        if other is None:
            return False
        gap = vertical_gap(band.lower_m, band.upper_m, other.lower_m, other.upper_m)
        return not within_vertical_margin(gap, self.margins.vertical_m)

    # -- batches and re-checks -----------------------------------------------------
    def check_many(self, activities: Iterable[Declaration]) -> list[CheckResult]:
        """``check`` of each activity, against what is in force (the activities
        are not added, so they are not checked against each other), with the
        exact distances of all of them taken together (engine/exact.py)."""
        return self._check_all(list(activities), None)

    def recheck(self, obj: Declaration | Measure) -> dict[str, list[Finding]]:
        """What ``obj`` coming into force does to what is already accepted: for
        each declaration in the engine that now has findings against ``obj``
        (from that declaration's side), those findings, by declaration id.
        ``obj`` need not be added yet; a measure binds as it says, a declaration
        affects only other parties'. See :mod:`deconflict.engine.recheck`."""
        from deconflict.engine.recheck import recheck_declaration, recheck_measure

        if isinstance(obj, Measure):
            return recheck_measure(self, obj)
        return recheck_declaration(self, obj)

    @property
    def index(self) -> GridIndex:
        return self._index

    def part_of(self, pid: int) -> tuple[Declaration, Part] | None:
        """The live declaration and the (built) part behind index entry ``pid``."""
        slot = self._part_owner[pid]
        decl = self._decls[slot]
        if decl is None:
            return None
        return decl, self._part(slot, pid - self._first_part[slot])

    def measure_finding(self, entry: _MeasureEntry, part: Part, qbox: Box) -> Finding | None:
        return self._check_measure(entry, part, qbox, self.margins)

    # -- checks ------------------------------------------------------------------
    def check(self, activity: Declaration, *, only: AbstractSet[str] | None = None) -> CheckResult:
        """Check an activity (not yet accepted) against everything in force; with
        ``only``, against those declarations alone and no measure (the part of a
        check that changed since an earlier one: service/optimistic.py)."""
        return self._check_all([activity], only)[0]

    def _check_all(self, activities: list[Declaration], only: AbstractSet[str] | None) -> list[CheckResult]:
        """The checks of ``activities`` in two steps: the comparisons each needs
        (candidates from the index, ruled in or out by bounds, time and bands;
        measures decided at once), then the exact distances of all of them
        together (engine/exact.py), which decide the pair findings."""
        margins = self.margins
        reach_m = horizontal_reach(margins)
        bests: list[dict[tuple[str, str], Finding]] = []
        pending: list[_Pending] = []
        for activity in activities:
            best: dict[tuple[str, str], Finding] = {}
            bests.append(best)
            for ap in self.validate_declaration(activity):
                qbox = ap.shape.box(ap.radius_m + reach_m)
                for decl, op, rules in self._near(activity, ap, qbox, only):
                    for rule, a, b in rules:
                        gate = pair_gate(rule, a, b, margins)
                        if gate is not None:
                            pending.append((best, ap, decl, op, rule, a, b, gate))
                for entry in self._governing_measures(ap) if only is None else ():
                    f = self._check_measure(entry, ap, qbox, margins)
                    if f is not None:
                        _keep(best, f)
        # Each pair's distance from the activity's side (the distance is
        # symmetric: the same foot searches whichever shape comes first).
        ds = exact.distances([p[1].shape for p in pending], [p[3].shape for p in pending],
                             [p[5].radius_m + p[6].radius_m + reach_m for p in pending])
        # In the order the comparisons were gathered (part by part), as one
        # check made them: among equal findings the first is kept.
        for (best, ap, decl, op, rule, a, b, gate), d in zip(pending, ds, strict=True):
            outcome = volume_outcome(gate, d, a.radius_m + b.radius_m)
            if outcome is None:
                continue
            kind = rule.kind if outcome.strict else FindingKind.CAUTION
            _keep(best, make_finding(
                kind=kind, rule=rule.name, object_id=decl.id, object_type="declaration",
                object_kind=decl.kind.value, owner=decl.owner, outcome=outcome,
                explanation=explain_pair(kind, ap, op, decl, outcome),
                label=decl.label, part=ap.name,
            ))
        return [CheckResult.of(list(best.values())) for best in bests]

    def _near(self, activity: Declaration, ap: Part, qbox: Box,
              only: AbstractSet[str] | None) -> list[_Candidate]:
        """The candidates of activity part ``ap`` that no bound rules out: other
        parties' parts from the index, near in space and time, that some pair
        rule applies to, past the band, reach and chord bounds."""
        grow_t = self.margins.time
        point = None
        if ap.shape.type is ShapeType.POINT:
            point = float(ap.shape.rings[0].lons[0]), float(ap.shape.rings[0].lats[0])
        # Every rule a flight or a trajectory takes part in is 3D: a candidate
        # whose band is too far above or below is then out of every rule's reach.
        band = ap.band if ap.band is not None and _only_3d(ap) else None
        # Only parts some pair rule applies to: the others are never built.
        hits = self._index.query(qbox, ap.window.start - grow_t, ap.window.end + grow_t, pair_tags(ap))
        # In index order (which of equal findings is kept depends on it); an
        # unbuilt line candidate of a line or an area waits for the chord bound
        # of all of them (_unbuilt_within_reach) as (decl, slot, k, line).
        found: list[tuple[Declaration, int, int, tuple[Sequence[Position], float] | None]] = []
        lines: list[tuple[Sequence[Position], float]] = []
        for pid in hits.tolist():
            slot = self._part_owner[pid]
            decl = self._decls[slot]
            # A party's own declarations never conflict with its activity (that
            # covers an earlier version of the same id). Another party's
            # declaration is checked even if it shares the activity's id:
            # skipping it by id let a check named "S1" miss site S1.
            if decl is None or decl.owner == activity.owner or (only is not None and decl.id not in only):
                continue
            k = pid - self._first_part[slot]
            line = None
            if not self._built(slot, k):
                if (band is not None and self._band_apart(band, decl, k)) or (
                        point is not None and self._out_of_reach(point, ap, decl, k)):
                    continue
                if point is None:
                    line = part_line(decl, k)
                    if line is not None:
                        lines.append(line)
            found.append((decl, slot, k, line))
        keep_lines = (self._unbuilt_within_reach(ap, lines, horizontal_reach(self.margins))
                      if len(lines) >= CHORD_PRUNE_MIN else [True] * len(lines))
        near: list[_Candidate] = []
        j = 0
        for decl, slot, k, line in found:
            if line is not None:
                j += 1
                if not keep_lines[j - 1]:
                    continue
            op = self._part(slot, k)
            rules = applicable_pair_rules(ap, op)
            if rules:
                near.append((decl, op, rules))
        # A point's line candidates are already ruled out exactly (_out_of_reach)
        # and its point candidates cost less than the bound: lines and areas only.
        if point is None and len(near) >= CHORD_PRUNE_MIN:
            near = self._within_reach(ap, near, horizontal_reach(self.margins))
        return near

    @staticmethod
    def _unbuilt_within_reach(ap: Part, lines: list[tuple[Sequence[Position], float]],
                              margin_m: float) -> list[bool]:
        return reach.unbuilt_within_reach(ap, lines, margin_m)

    @staticmethod
    def _within_reach(ap: Part, near: list[_Candidate], margin_m: float) -> list[_Candidate]:
        return reach.within_reach(ap, near, margin_m)

    def _check_measure(self, entry: _MeasureEntry, ap: Part, qbox: Box,
                       margins: CautionMargins) -> Finding | None:
        m = entry.measure
        if not m.binds_party(ap.owner) or not measure_applies(m, ap):
            return None
        own = m.side_of(ap.owner)
        outcome: Outcome | None
        if not qbox.intersects(entry.box):
            return None
        if m.kind.is_line:
            assert own is not None
            outcome = evaluate_line_measure(m, entry.shape, ap, own, margins, entry.extended,
                                            entry.area)
        else:
            outcome = evaluate_area_measure(m, entry.shape, ap, margins)
        if outcome is None:
            return None
        rule, kind = measure_finding_kind(m)
        if not outcome.strict:
            if kind is FindingKind.COORDINATION_REQUIRED:
                return None  # cautions flag near-conflicts and near-violations only
            kind = FindingKind.CAUTION
        return make_finding(
            kind=kind, rule=rule, object_id=m.id, object_type="measure", object_kind=m.kind.value,
            owner=m.owner, outcome=outcome, explanation=explain_measure(kind, ap, m, outcome, own),
            label=m.label, part=ap.name,
        )


    # -- re-checks -----------------------------------------------------------------
    def declarations_meeting(self, box: Box, start: datetime, end: datetime) -> list[Declaration]:
        """Declarations with a part whose box meets ``box`` during ``[start, end)``:
        the accepted activities a new or changed measure can concern (the service
        checks each of them again)."""
        found: dict[int, Declaration] = {}
        for pid in self._index.query(box, start, end).tolist():
            slot = self._part_owner[pid]
            decl = self._decls[slot]
            if decl is not None:
                found.setdefault(slot, decl)
        return list(found.values())

    def check_measure(self, decl: Declaration, measure_id: str) -> list[Finding]:
        """The findings :meth:`check` gives ``decl`` about one measure in force,
        without the rest of the check (no index query, no pair rule): the re-check
        of the activities a measure change concerns. Same parts, same rule, same
        choice among parts."""
        entry = self._measures.get(measure_id)
        if entry is None:
            return []
        margins = self.margins
        best: dict[str, Finding] = {}
        for ap in self.validate_declaration(decl):
            f = self._check_measure(entry, ap, ap.shape.box(ap.radius_m + horizontal_reach(margins)), margins)
            if f is None:
                continue
            old = best.get(f.rule)
            if old is None or (f.kind.severity, -f.separation_m) > (old.kind.severity, -old.separation_m):
                best[f.rule] = f
        return list(CheckResult.of(list(best.values())).findings)
