"""The conflict rules, each named; docs/rules.md describes every one.

Every rule is decided in the same order: time first (cheapest), then the
vertical band, then the exact geodesic distance. A pair that passes all three
strictly is a finding of the rule's kind; one that passes only when every
footprint is grown by the caution margins is a caution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from deconflict.engine.parts import Part, Role
from deconflict.geo.ellipsoid import GEOD, MAX_EDGE_M, TOUCH_TOLERANCE_M
from deconflict.geo.geodesic import Edge
from deconflict.geo.shape import Shape, ShapeType
from deconflict.geo.side import LEFT, ON, end_extensions, reach_beyond, side_of_point
from deconflict.model import (
    CautionMargins,
    DeclarationKind,
    Finding,
    FindingKind,
    Measure,
    MeasureKind,
    Side,
    TimeSpan,
)
from deconflict.model.measure import DEFAULT_LINE_APPLICATION_M
from deconflict.model.units import vertical_gap, within_vertical_margin


@dataclass(frozen=True, slots=True)
class Selector:
    kind: DeclarationKind
    roles: frozenset[Role] | None = None
    forces_only: bool = False

    def matches(self, part: Part) -> bool:
        return (
            part.kind is self.kind
            and (self.roles is None or part.role in self.roles)
            and (not self.forces_only or part.forces)
        )


@dataclass(frozen=True, slots=True)
class PairRule:
    """A rule between a part of one party's activity and a part of another
    party's declaration. Rules are symmetric: a new site is checked against
    fires already declared just as a new fire is checked against sites."""

    name: str
    kind: FindingKind
    a: Selector
    b: Selector
    three_d: bool
    summary: str


FIRE_EFFECTS = Selector(DeclarationKind.FIRE, frozenset({Role.EFFECTS}))
FIRE_TRAJECTORY = Selector(DeclarationKind.FIRE, frozenset({Role.TRAJECTORY}))

PAIR_RULES: tuple[PairRule, ...] = (
    PairRule(
        "fire-effects-on-site", FindingKind.CONFLICT, FIRE_EFFECTS,
        Selector(DeclarationKind.SITE), False,
        "the effects of a fire reach a site's protection area",
    ),
    PairRule(
        "fire-effects-on-movement", FindingKind.CONFLICT, FIRE_EFFECTS,
        Selector(DeclarationKind.MOVEMENT), False,
        "the effects of a fire reach a movement's corridor while it is in use",
    ),
    PairRule(
        "fire-trajectory-through-flight", FindingKind.CONFLICT, FIRE_TRAJECTORY,
        Selector(DeclarationKind.FLIGHT), True,
        "a fire's trajectory passes through a flight's airspace",
    ),
    PairRule(
        "movement-into-forces-site", FindingKind.CONFLICT, Selector(DeclarationKind.MOVEMENT),
        Selector(DeclarationKind.SITE, forces_only=True), False,
        "a movement's corridor reaches a forces site's protection area",
    ),
    PairRule(
        "flight-into-flight", FindingKind.CONFLICT, Selector(DeclarationKind.FLIGHT),
        Selector(DeclarationKind.FLIGHT), True,
        "two flights share airspace at the same time",
    ),
)

MEASURE_RULES: dict[MeasureKind, tuple[str, FindingKind, str]] = {
    MeasureKind.DECONFLICTION_LINE: (
        "deconfliction-line-far-side", FindingKind.VIOLATION,
        "a footprint reaches the far side of a deconfliction line from the party's side",
    ),
    MeasureKind.NO_FIRE_AREA: (
        "no-fire-area", FindingKind.VIOLATION, "fire effects reach a no-fire area",
    ),
    MeasureKind.RESTRICTIVE_FIRE_AREA: (
        "restrictive-fire-area", FindingKind.COORDINATION_REQUIRED,
        "fire effects reach a restrictive fire area: coordinate with its owner",
    ),
    MeasureKind.RESTRICTIVE_FIRE_LINE: (
        "restrictive-fire-line-far-side", FindingKind.VIOLATION,
        "fire effects reach across a restrictive fire line",
    ),
    MeasureKind.RESTRICTED_OPERATIONS_ZONE: (
        "restricted-operations-zone", FindingKind.VIOLATION,
        "a flight enters a restricted operations zone",
    ),
    MeasureKind.AIR_CORRIDOR: (
        "air-corridor", FindingKind.VIOLATION,
        "a flight of another party or a fire trajectory enters an air corridor",
    ),
}


#: The pair rules by what Selector.matches reads of the two parts (kind, role,
#: forces), each with whether the parts swap sides: filled as pairs are met.
_RULES_BY_KINDS: dict[tuple[DeclarationKind, Role, bool, DeclarationKind, Role, bool],
                      tuple[tuple[PairRule, bool], ...]] = {}


def applicable_pair_rules(a: Part, b: Part) -> list[tuple[PairRule, Part, Part]]:
    """Rules that apply to the pair, each with its (a-side, b-side) parts."""
    if a.owner == b.owner:
        return []
    key = (a.kind, a.role, a.forces, b.kind, b.role, b.forces)
    found = _RULES_BY_KINDS.get(key)
    if found is None:
        chosen: list[tuple[PairRule, bool]] = []
        for rule in PAIR_RULES:
            if rule.a.matches(a) and rule.b.matches(b):
                chosen.append((rule, False))
            elif rule.b.matches(a) and rule.a.matches(b):
                chosen.append((rule, True))
        found = _RULES_BY_KINDS[key] = tuple(chosen)
    return [(rule, b, a) if swap else (rule, a, b) for rule, swap in found]


def measure_applies(measure: Measure, part: Part) -> bool:
    """Whether a measure governs this part of an activity (binding is checked by the caller)."""
    kind = measure.kind
    if kind is MeasureKind.DECONFLICTION_LINE:
        return part.kind in measure.applies_to and part.role is not Role.TRAJECTORY
    if kind in (MeasureKind.NO_FIRE_AREA, MeasureKind.RESTRICTIVE_FIRE_AREA,
                MeasureKind.RESTRICTIVE_FIRE_LINE):
        return FIRE_EFFECTS.matches(part)
    if kind is MeasureKind.RESTRICTED_OPERATIONS_ZONE:
        return part.kind is DeclarationKind.FLIGHT
    # air corridor: another party's flight, or any fire's trajectory
    if part.kind is DeclarationKind.FLIGHT:
        return part.owner != measure.owner
    return FIRE_TRAJECTORY.matches(part)


# -- evaluation ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Outcome:
    """What a rule decided for one pair; the checker turns it into a Finding."""

    strict: bool
    separation_m: float
    vertical_gap_m: float | None
    overlap: TimeSpan | None
    time_gap_s: float
    conservative: bool
    note: str = ""


def _time(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime,
          margin: timedelta) -> tuple[bool, TimeSpan | None, float] | None:
    """(strict overlap, overlap span, gap seconds), or None when even the
    margin-grown windows miss each other. Windows are half-open."""
    if not (a_start < b_end + margin and b_start < a_end + margin):
        return None
    start, end = max(a_start, b_start), min(a_end, b_end)
    if start < end:
        return True, TimeSpan(start, end), 0.0
    return False, None, (start - end).total_seconds()


def horizontal_reach(margins: CautionMargins) -> float:
    """How far past the strict reach a comparison must look: the horizontal
    caution margin, and never less than the touch tolerance (a touch counts
    within TOUCH_TOLERANCE_M even with no margin at all). Every prefilter and
    query box of the engine grows by this, as the exact comparison does."""
    return max(margins.horizontal_m, TOUCH_TOLERANCE_M)


#: What the time and band tests of a pair decided, before any distance:
#: (strict overlap in time, the overlap, the time gap in seconds, the vertical gap).
Gate = tuple[bool, TimeSpan | None, float, float | None]


def volume_gate(
    a_window: tuple[datetime, datetime], a_band: tuple[float, float] | None,
    b_window: tuple[datetime, datetime], b_band: tuple[float, float] | None,
    three_d: bool, margins: CautionMargins,
) -> Gate | None:
    """The time and band tests of :func:`evaluate_volumes` (None: no finding,
    whatever the distance)."""
    t = _time(*a_window, *b_window, margins.time)
    if t is None:
        return None
    t_strict, span, gap_s = t
    vgap: float | None = None
    if three_d:
        assert a_band is not None and b_band is not None
        vgap = vertical_gap(a_band[0], a_band[1], b_band[0], b_band[1])
        if not within_vertical_margin(vgap, margins.vertical_m):
            return None
    return t_strict, span, gap_s, vgap


def volume_outcome(gate: Gate, d: float, reach: float) -> Outcome | None:
    """:func:`evaluate_volumes`'s outcome from its gate and the distance
    between the shapes (``inf`` past ``reach`` and the horizontal reach)."""
    if math.isinf(d):
        return None
    t_strict, span, gap_s, vgap = gate
    touching = d <= reach + TOUCH_TOLERANCE_M
    strict = t_strict and touching and (vgap is None or vgap == 0.0)
    return Outcome(
        strict=strict,
        separation_m=max(0.0, d - reach),
        vertical_gap_m=vgap,
        overlap=span,
        time_gap_s=gap_s,
        conservative=strict and d > reach,
    )


def evaluate_volumes(
    a_shape: Shape, a_radius: float, a_window: tuple[datetime, datetime], a_band: tuple[float, float] | None,
    b_shape: Shape, b_radius: float, b_window: tuple[datetime, datetime], b_band: tuple[float, float] | None,
    three_d: bool, margins: CautionMargins,
) -> Outcome | None:
    """Do two footprints meet in 4D, strictly or within the caution margins?"""
    gate = volume_gate(a_window, a_band, b_window, b_band, three_d, margins)
    if gate is None:
        return None
    reach = a_radius + b_radius
    # Asked up to the touch tolerance at least: with no horizontal margin (the
    # tracks' EXACT, or an operator's 0), a touch the distance rounds past by
    # 1e-9 m came back as "farther" and a vertex grazed from outside was missed.
    d = a_shape.distance_within(b_shape, reach + horizontal_reach(margins))
    return volume_outcome(gate, d, reach)


def band_of(part: Part) -> tuple[float, float] | None:
    return None if part.band is None else (part.band.lower_m, part.band.upper_m)


def pair_gate(rule: PairRule, a: Part, b: Part, margins: CautionMargins) -> Gate | None:
    """:func:`evaluate_pair`'s time and band tests (see :func:`volume_gate`)."""
    return volume_gate((a.window.start, a.window.end), band_of(a), (b.window.start, b.window.end), band_of(b),
                       rule.three_d, margins)


def evaluate_pair(rule: PairRule, a: Part, b: Part, margins: CautionMargins) -> Outcome | None:
    return evaluate_volumes(
        a.shape, a.radius_m, (a.window.start, a.window.end), band_of(a),
        b.shape, b.radius_m, (b.window.start, b.window.end), band_of(b),
        rule.three_d, margins,
    )


def evaluate_area_measure(
    measure: Measure, shape: Shape, part: Part, margins: CautionMargins
) -> Outcome | None:
    three_d = measure.kind.is_air
    mband = None if measure.altitude is None else (measure.altitude.lower_m, measure.altitude.upper_m)
    pband = band_of(part)
    if three_d and pband is None:
        # A part without a band (should not happen for flights and
        # trajectories) is treated as occupying every altitude.
        pband = (-math.inf, math.inf)
    return evaluate_volumes(
        part.shape, part.radius_m, (part.window.start, part.window.end), pband,
        shape, measure.half_width_m, (measure.window.start, measure.window.end), mband,
        three_d, margins,
    )


def evaluate_line_measure(
    measure: Measure, line: Shape, part: Part, own: Side, margins: CautionMargins,
    cache: dict[int, Shape] | None = None, area: Shape | None = None,
) -> Outcome | None:
    """Does any part of the footprint lie on the far side of the line, within
    the line's area of application?

    The footprint reaches the far side when it comes within its radius of the
    line (or of the line's continuation past its ends), or when the shape
    itself lies on the far side, judged against the nearest part of the line.
    The line governs the footprint when the footprint comes within the area of
    application: within ``measure.application_m`` of the line itself (alongside
    it and past its ends alike), or within ``area`` (the measure's
    ``application_area``, given here built) when the measure has one. Only a
    footprint governed strictly (grown by its radius) can violate the line; one
    governed only when also grown by the horizontal caution margin can get a
    caution at most: the margin belongs to cautions."""
    t = _time(part.window.start, part.window.end, measure.window.start, measure.window.end,
              margins.time)
    if t is None:
        return None
    t_strict, span, gap_s = t
    r = part.radius_m
    upto = r + horizontal_reach(margins)
    if area is not None:
        g = part.shape.distance_within(area, upto)
    else:
        reach = measure.application_m
        g = part.shape.distance_within(line, reach + upto)
        g = g - reach if not math.isinf(g) else g
    if math.isinf(g):
        return None  # outside the area of application, even with the margin
    governed = g <= r + TOUCH_TOLERANCE_M
    at_edge = governed and g > r  # governed only within the touch tolerance
    extended = _extended(line, part.shape, upto, cache)
    d = part.shape.distance_within(extended, upto)
    beyond = False
    if not math.isinf(d):
        # Which part of the boundary is nearest: the line itself or an extension?
        beyond = math.isinf(part.shape.distance_within(line, d + TOUCH_TOLERANCE_M))
    own_code = LEFT if own is Side.LEFT else -LEFT
    far = False
    if math.isinf(d) or d > r + TOUCH_TOLERANCE_M:
        for lon, lat in part.shape.vertices():
            side, _dist, past = side_of_point(line, lon, lat)
            if side == ON or side != own_code:
                far = True
                beyond = beyond or past
                break
    note = "beyond the end of the line" if beyond else ""
    if far:
        strict = t_strict and governed
        return Outcome(strict, 0.0, None, span, gap_s, beyond or (strict and at_edge), note)
    if math.isinf(d):
        return None
    touching = d <= r + TOUCH_TOLERANCE_M
    strict = t_strict and touching and governed
    return Outcome(
        strict=strict,
        separation_m=max(0.0, d - r),
        vertical_gap_m=None,
        overlap=span,
        time_gap_s=gap_s,
        conservative=(strict and (d > r or at_edge)) or beyond,
        note=note,
    )


#: How far past its ends a line governs by default: its area of application
#: (Measure.application_m, default DEFAULT_LINE_APPLICATION_M) holds alongside
#: the line and past its ends alike. Beyond its ends a line is judged against its
#: end edges continued; without a limit a deconfliction line on the Euphrates
#: would rule on fires near Moscow.
LINE_END_REACH_M = DEFAULT_LINE_APPLICATION_M

#: The continuation of a line past an end is built from pieces this long (an
#: edge may be no longer than MAX_EDGE_M) ...
_ONWARD_STEP_M = MAX_EDGE_M - 1_000.0
#: ... up to this far (short of the antipode of the end, where it would wrap).
_ONWARD_MAX_M = 19_000_000.0


def _onward(ext: Edge, need: float) -> list[tuple[float, float]]:
    """Points along ``ext`` continued as a geodesic, ``need`` metres from its start."""
    pts = [(ext.lon2, ext.lat2)]
    done = ext.length
    lon, lat, az = ext.at(ext.length)
    while done < min(need, _ONWARD_MAX_M):
        step = min(_ONWARD_STEP_M, need - done)
        nlon, nlat, back = GEOD.fwd(lon, lat, az, step)
        lon, lat, az = float(nlon), float(nlat), float(back) + 180.0
        pts.append((lon, lat))
        done += step
    return pts


def _extended(line: Shape, core: Shape, radius: float, cache: dict[int, Shape] | None = None) -> Shape:
    # Fix (tests/engine/test_rules.py, the far-away cases): the continuations
    # were one edge of at most MAX_EDGE_M. Past 4,000 km a footprint straddling
    # the continuation, its core on the party's side, was missed; and an edge of
    # exactly MAX_EDGE_M could measure a hair over it, so checking an activity
    # far from a line raised UnsupportedGeometry ("geometry[0]"). The
    # continuations are now chained from pieces below the limit.
    need = reach_beyond(line, core) + radius
    # Continuations longer than needed change nothing (what lies past ``need``
    # is farther than ``radius`` from every point of the core), so one shape per
    # power-of-two length serves every check.
    bucket = 1 << max(10, math.ceil(math.log2(max(need, 1.0))))
    if cache is not None and bucket in cache:
        return cache[bucket]
    need = float(bucket)
    exts = end_extensions(line, need)
    ring = line.rings[0]
    coords = _onward(exts[0], need)[::-1]
    coords += list(zip(ring.lons.tolist(), ring.lats.tolist(), strict=True))
    coords += _onward(exts[1], need)
    shape = Shape.build(ShapeType.LINE, [coords], "geometry", check_span=False)
    if cache is not None:
        cache[bucket] = shape
    return shape


def measure_finding_kind(measure: Measure) -> tuple[str, FindingKind]:
    name, kind, _summary = MEASURE_RULES[measure.kind]
    return name, kind


def make_finding(
    *, kind: FindingKind, rule: str, object_id: str, object_type: str, object_kind: str,
    owner: str, outcome: Outcome, explanation: str, label: str, part: str,
) -> Finding:
    return Finding(
        kind=kind,
        rule=rule,
        object_id=object_id,
        object_type=object_type,
        object_kind=object_kind,
        owner=owner,
        separation_m=round(outcome.separation_m, 1),
        vertical_gap_m=None if outcome.vertical_gap_m is None else round(outcome.vertical_gap_m, 1),
        overlap=outcome.overlap,
        time_gap_s=outcome.time_gap_s,
        explanation=explanation,
        conservative=outcome.conservative,
        object_label=label,
        part=part,
    )
