"""Re-checking what is already accepted against one object coming into force.

When a measure comes into force or a declaration is accepted, the activities
accepted before it may now meet it. :func:`recheck` finds them without
re-running their whole checks: it asks the index for the parts of accepted
declarations near the new object in space and time (the same conservative
boxes and margin-grown windows a check uses, see docs/geometry.md), and
evaluates only the rules between each such part and the new object. Each
finding is from the accepted declaration's side: its ``object_id`` is the new
object, its ``part`` the accepted declaration's part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deconflict.engine import exact
from deconflict.engine.bulk import pair_tags
from deconflict.engine.explain import explain_pair
from deconflict.engine.parts import Part
from deconflict.engine.rules import (
    Gate,
    PairRule,
    applicable_pair_rules,
    horizontal_reach,
    make_finding,
    pair_gate,
    volume_outcome,
)
from deconflict.model import Declaration, Finding, FindingKind, Measure

if TYPE_CHECKING:
    from deconflict.engine.checker import Engine, _MeasureEntry
    from deconflict.geo.bounds import Box


def _keep(out: dict[str, dict[str, Finding]], decl_id: str, f: Finding) -> None:
    best = out.setdefault(decl_id, {})
    old = best.get(f.rule)
    if old is None or (f.kind.severity, -f.separation_m) > (old.kind.severity, -old.separation_m):
        best[f.rule] = f


def reach_box(entry: _MeasureEntry, margin_m: float) -> Box:
    """Every part that could meet the measure within ``margin_m`` has an index box
    (grown by its radius) meeting this box: the measure's own reach (its width; a
    line's area of application, or ``application_m`` around it) grown by the margin."""
    measure = entry.measure
    if not measure.kind.is_line:
        return entry.shape.box(measure.half_width_m + margin_m)
    if entry.area is not None:
        return entry.area.box(margin_m)
    return entry.shape.box(measure.application_m + margin_m)


def recheck_measure(engine: Engine, measure: Measure) -> dict[str, list[Finding]]:
    """Findings of ``measure`` on every declaration in ``engine``, by declaration id
    (only those with a finding). The measure need not be added to the engine."""
    entry = engine.measure_entry(measure)
    margins = engine.margins
    hits = engine.index.query(reach_box(entry, horizontal_reach(margins)), measure.window.start - margins.time,
                              measure.window.end + margins.time)
    out: dict[str, dict[str, Finding]] = {}
    for pid in hits.tolist():
        found = engine.part_of(pid)
        if found is None:
            continue
        decl, part = found
        f = engine.measure_finding(entry, part, part.shape.box(part.radius_m + horizontal_reach(margins)))
        if f is not None:
            _keep(out, decl.id, f)
    return {d: list(fs.values()) for d, fs in out.items()}


def recheck_declaration(engine: Engine, new: Declaration) -> dict[str, list[Finding]]:
    """Findings of ``new`` on every declaration of other parties in ``engine``,
    by declaration id (only those with a finding): the other side of
    ``engine.check(new)``. ``new`` need not be added to the engine; a
    declaration with its id (an earlier version) is skipped."""
    margins = engine.margins
    reach_m = horizontal_reach(margins)
    out: dict[str, dict[str, Finding]] = {}
    # The comparisons first, then their exact distances together (engine/exact.py),
    # as Engine.check takes them: on arrays from the new object's side.
    pending: list[tuple[Declaration, Part, Part, PairRule, Part, Part, Gate]] = []
    for np_ in engine.validate_declaration(new):
        qbox = np_.shape.box(np_.radius_m + reach_m)
        hits = engine.index.query(qbox, np_.window.start - margins.time, np_.window.end + margins.time,
                                  pair_tags(np_))
        for pid in hits.tolist():
            found = engine.part_of(pid)
            if found is None:
                continue
            decl, op = found
            if decl.owner == new.owner or decl.id == new.id:
                continue
            for rule, a, b in applicable_pair_rules(op, np_):
                gate = pair_gate(rule, a, b, margins)
                if gate is not None:
                    pending.append((decl, op, np_, rule, a, b, gate))
    ds = exact.distances([p[2].shape for p in pending], [p[1].shape for p in pending],
                         [p[4].radius_m + p[5].radius_m + reach_m for p in pending])
    for (decl, op, np_, rule, a, b, gate), d in zip(pending, ds, strict=True):
        outcome = volume_outcome(gate, d, a.radius_m + b.radius_m)
        if outcome is None:
            continue
        kind = rule.kind if outcome.strict else FindingKind.CAUTION
        _keep(out, decl.id, make_finding(
            kind=kind, rule=rule.name, object_id=new.id, object_type="declaration",
            object_kind=new.kind.value, owner=new.owner, outcome=outcome,
            explanation=explain_pair(kind, op, np_, new, outcome), label=new.label, part=op.name,
        ))
    return {d: list(fs.values()) for d, fs in out.items()}
