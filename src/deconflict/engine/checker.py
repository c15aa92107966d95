"""The engine: holds what is in force and checks activities against it.

:class:`Engine` is built from one module per concept: the declarations in
force and the parties (engine/holdings.py), the measures (engine/measures.py),
loading (engine/loading.py) and snapshots (engine/snapshots.py). This module
is the check itself: the candidates of each activity part gathered from the
index and ruled out by bounds, time and bands, the exact distances of all of
them taken together, and the findings kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet

from deconflict.engine import exact, reach
from deconflict.engine.bulk import pair_tags
from deconflict.engine.explain import explain_pair
from deconflict.engine.holdings import PART_CACHE_SIZE
from deconflict.engine.loading import LOAD_CHUNK, Loading, Progress
from deconflict.engine.measures import Measures, _MeasureEntry
from deconflict.engine.parts import Part, part_band, part_line
from deconflict.engine.rules import (
    PAIR_RULES,
    Gate,
    PairRule,
    applicable_pair_rules,
    horizontal_reach,
    make_finding,
    pair_gate,
    volume_outcome,
)
from deconflict.engine.snapshots import Snapshots
from deconflict.geo.bounds import Box
from deconflict.geo.shape import ShapeType, line_out_of_reach
from deconflict.model import AltitudeBand, CheckResult, Declaration, Finding, FindingKind, Measure
from deconflict.model.geometry import Position
from deconflict.model.units import vertical_gap, within_vertical_margin

# What was defined here before the engine's concepts had modules of their own.
__all__ = ["CHORD_PRUNE_MIN", "LOAD_CHUNK", "PART_CACHE_SIZE", "Engine", "Progress", "_MeasureEntry"]

#: Candidates of one activity part from which they are ruled out together by
#: chord bounds (geo/chord.py) before any exact comparison.
CHORD_PRUNE_MIN = 4
#: A candidate: its declaration, its part, and the pair rules between them.
_Candidate = tuple[Declaration, Part, list[tuple[PairRule, Part, Part]]]

#: A comparison waiting for its distance: the check's findings so far, the
#: activity part, the candidate and its part, the rule and its (a, b) sides,
#: and what the time and band tests decided.
_Pending = tuple[dict[tuple[str, str], Finding], Part, Declaration, Part, PairRule, Part, Part, Gate]


def _only_3d(part: Part) -> bool:
    """Whether every pair rule ``part`` can take part in (on either side) is 3D."""
    return all(rule.three_d for rule in PAIR_RULES if rule.a.matches(part) or rule.b.matches(part))


def _keep(best: dict[tuple[str, str], Finding], f: Finding) -> None:
    """Keep ``f`` unless a finding on the same object and rule is as severe and no farther."""
    key = (f.object_id, f.rule)
    old = best.get(key)
    if old is None or (f.kind.severity, -f.separation_m) > (old.kind.severity, -old.separation_m):
        best[key] = f


class Engine(Measures, Loading, Snapshots):
    """Checks activities against declarations and measures in force.

    Pure and single-threaded: callers serialise writes (the service does, per
    spatial cell). A withdrawn or replaced declaration leaves the index at once.
    """

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
