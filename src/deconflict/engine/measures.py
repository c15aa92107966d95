"""The measures in force, and the findings an activity part has against them.

Each measure is validated and prepared once (its shape, its box, a line's
area of application); the measures that can govern a part are kept by what
decides it. Separate because a measure is decided at once, without the
index or the exact distances of the pair rules (engine/checker.py): the same
evaluation serves a check and the re-check of one measure's activities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deconflict.engine.explain import explain_measure
from deconflict.engine.holdings import Holdings
from deconflict.engine.parts import Part, Role, measure_shape
from deconflict.engine.rules import (
    Outcome,
    evaluate_area_measure,
    evaluate_line_measure,
    horizontal_reach,
    make_finding,
    measure_applies,
    measure_finding_kind,
)
from deconflict.errors import AlreadyExists, InvalidInput, NotFound
from deconflict.geo.bounds import Box
from deconflict.geo.shape import Shape
from deconflict.model import CautionMargins, CheckResult, Declaration, DeclarationKind, Finding, FindingKind, Measure


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


class Measures(Holdings):
    """The measures in force (see the module's docstring)."""

    def __init__(self, margins: CautionMargins | None = None) -> None:
        super().__init__(margins)
        self._measures: dict[str, _MeasureEntry] = {}
        # The measures that can govern a part, by what decides it (binding and
        # measure_applies read only the part's owner, kind, role and forces), in
        # the order of _measures; dropped whenever a measure changes.
        self._governing: dict[tuple[str, DeclarationKind, Role, bool], tuple[_MeasureEntry, ...]] = {}

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

    def measure_finding(self, entry: _MeasureEntry, part: Part, qbox: Box) -> Finding | None:
        return self._check_measure(entry, part, qbox, self.margins)

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
