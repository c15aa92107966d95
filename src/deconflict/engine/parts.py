"""Declarations and measures broken into footprint parts.

A part is one 4D volume the engine compares: a shape, how far its footprint
extends around the shape (a radius), a time window and an altitude band (none
for things on the ground). A fire has an effects part and, when it gives its
firing position, a trajectory part; a 4D trajectory has one part per leg, each
occupying its corridor only during its own time slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from deconflict.errors import InvalidInput
from deconflict.geo.shape import Shape, ShapeType
from deconflict.model import (
    AltitudeBand,
    Declaration,
    DeclarationKind,
    Fire,
    Flight,
    LineString,
    Measure,
    Movement,
    Point,
    Polygon,
    Site,
    SiteCategory,
    Waypoint,
    Window,
)
from deconflict.model.geometry import Position


class Role(IntEnum):
    SITE = 0
    CORRIDOR = 1
    AREA = 2
    LEG = 3
    EFFECTS = 4
    TRAJECTORY = 5


@dataclass(frozen=True, slots=True)
class Part:
    decl_id: str
    owner: str
    kind: DeclarationKind
    role: Role
    shape: Shape
    radius_m: float
    window: Window
    band: AltitudeBand | None
    forces: bool = False
    leg: int = -1

    @property
    def name(self) -> str:
        if self.role is Role.LEG:
            return f"leg {self.leg + 1}"
        return self.role.name.lower()


def _guard(field: str, build: object) -> Shape:
    assert callable(build)
    try:
        shape = build()
    except InvalidInput as exc:
        raise exc.within(field) from None
    assert isinstance(shape, Shape)
    return shape


def _leg_band(a: Waypoint, b: Waypoint, band: AltitudeBand | None) -> AltitudeBand | None:
    if a.altitude is not None and b.altitude is not None:
        lo, hi = sorted((a.altitude, b.altitude), key=lambda x: x.metres)
        if band is not None:
            # The declared band still bounds the leg when both are given.
            lo = lo if lo.metres <= band.lower_m else band.lower
            hi = hi if hi.metres >= band.upper_m else band.upper
        return AltitudeBand(lo, hi)
    return band


def _leg(decl: Movement | Flight, band: AltitudeBand | None, i: int) -> Part:
    wps = decl.waypoints
    a, b = wps[i], wps[i + 1]
    if (a.position.lon, a.position.lat) == (b.position.lon, b.position.lat):
        shape = _guard(f"waypoints[{i}]", lambda: Shape.point(a.position.lon, a.position.lat))
    else:
        shape = _guard(
            f"waypoints[{i}]",
            lambda: Shape.build(
                ShapeType.LINE,
                [[(a.position.lon, a.position.lat), (b.position.lon, b.position.lat)]],
                "coordinates",
            ),
        )
    return Part(
        decl.id, decl.owner, decl.kind, Role.LEG, shape, decl.half_width_m,
        Window(a.time, b.time), _leg_band(a, b, band) if isinstance(decl, Flight) else None,
        leg=i,
    )


def part_count(decl: Declaration) -> int:
    """How many parts :func:`declaration_parts` gives, without building any."""
    if isinstance(decl, (Movement, Flight)) and decl.waypoints:
        return max(0, len(decl.waypoints) - 1)
    if isinstance(decl, Fire):
        return 2 if decl.origin is not None and decl.max_ordinate is not None else 1
    return 1


def declaration_parts(decl: Declaration) -> list[Part]:
    """The parts of a declaration, its geometry validated on the ellipsoid."""
    return [declaration_part(decl, i) for i in range(part_count(decl))]


def declaration_part(decl: Declaration, i: int) -> Part:
    """Part ``i`` of :func:`declaration_parts`, building only that one.

    The engine asks for one part of a candidate declaration at a time: a site
    is checked against a fire's effects, never its trajectory, and a movement
    against one leg of a route at a time, so the other parts' shapes (lines,
    the costly ones) need not be built."""
    if isinstance(decl, Site):
        shape = _guard("geometry", lambda: Shape.of(decl.geometry))
        return Part(decl.id, decl.owner, decl.kind, Role.SITE, shape, decl.protection_m, decl.window,
                    None, forces=decl.category is SiteCategory.FORCES)
    if isinstance(decl, Movement):
        if decl.waypoints:
            return _leg(decl, None, i)
        assert decl.route is not None
        route = decl.route
        shape = _guard("geometry", lambda: Shape.of(route))
        return Part(decl.id, decl.owner, decl.kind, Role.CORRIDOR, shape, decl.half_width_m,
                    decl.window, None)
    if isinstance(decl, Flight):
        if decl.waypoints:
            return _leg(decl, decl.altitude, i)
        assert decl.geometry is not None and decl.altitude is not None
        geom = decl.geometry
        shape = _guard("geometry", lambda: Shape.of(geom))
        role = Role.AREA if isinstance(geom, (Polygon, Point)) else Role.CORRIDOR
        return Part(decl.id, decl.owner, decl.kind, role, shape, decl.half_width_m, decl.window,
                    decl.altitude)
    assert isinstance(decl, Fire)
    target = decl.target
    if i == 0:
        effects = _guard("target", lambda: Shape.of(target))
        return Part(decl.id, decl.owner, decl.kind, Role.EFFECTS, effects, decl.effects_radius_m,
                    decl.window, None)
    assert decl.origin is not None and decl.max_ordinate is not None
    origin = decl.origin
    assert isinstance(target, Point)
    tlon, tlat = target.lon, target.lat
    band = AltitudeBand.surface_to(decl.max_ordinate)
    traj = _guard(
        "origin",
        lambda: Shape.build(ShapeType.LINE, [[(origin.lon, origin.lat), (tlon, tlat)]])
        if (origin.lon, origin.lat) != (tlon, tlat)
        else Shape.point(tlon, tlat),
    )
    return Part(decl.id, decl.owner, decl.kind, Role.TRAJECTORY, traj,
                decl.trajectory_half_width_m, decl.window, band)


def part_line(decl: Declaration, i: int) -> tuple[Sequence[Position], float] | None:
    """(positions, radius) when part ``i`` of :func:`declaration_part` is a
    line built from exactly these positions, else None (points, polygons):
    lets the engine rule a candidate out before building its shape."""
    if isinstance(decl, (Movement, Flight)):
        if decl.waypoints:
            a, b = decl.waypoints[i].position, decl.waypoints[i + 1].position
            if (a.lon, a.lat) == (b.lon, b.lat):
                return None
            return [(a.lon, a.lat), (b.lon, b.lat)], decl.half_width_m
        geom = decl.route if isinstance(decl, Movement) else decl.geometry
        if isinstance(geom, LineString):
            return list(geom.coords), decl.half_width_m
        return None
    if isinstance(decl, Fire) and i == 1:
        origin, target = decl.origin, decl.target
        assert origin is not None and isinstance(target, Point)
        if (origin.lon, origin.lat) == (target.lon, target.lat):
            return None
        return [(origin.lon, origin.lat), (target.lon, target.lat)], decl.trajectory_half_width_m
    return None


def part_band(decl: Declaration, i: int) -> AltitudeBand | None:
    """The band of part ``i`` of :func:`declaration_part`, without building its shape."""
    if isinstance(decl, Flight):
        if decl.waypoints:
            return _leg_band(decl.waypoints[i], decl.waypoints[i + 1], decl.altitude)
        return decl.altitude
    if isinstance(decl, Fire) and i == 1:
        assert decl.max_ordinate is not None
        return AltitudeBand.surface_to(decl.max_ordinate)
    return None


def measure_shape(measure: Measure) -> Shape:
    return _guard("geometry", lambda: Shape.of(measure.geometry))
