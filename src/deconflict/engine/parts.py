"""Declarations and measures broken into footprint parts.

A part is one 4D volume the engine compares: a shape, how far its footprint
extends around the shape (a radius), a time window and an altitude band (none
for things on the ground). A fire has an effects part and, when it gives its
firing position, a trajectory part; a 4D trajectory has one part per leg, each
occupying its corridor only during its own time slice.
"""

from __future__ import annotations

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
    Measure,
    Movement,
    Point,
    Polygon,
    Site,
    SiteCategory,
    Waypoint,
    Window,
)


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


def _legs(decl: Movement | Flight, band: AltitudeBand | None) -> list[Part]:
    parts = []
    wps = decl.waypoints
    for i in range(len(wps) - 1):
        a, b = wps[i], wps[i + 1]
        if (a.position.lon, a.position.lat) == (b.position.lon, b.position.lat):
            shape = _guard(f"waypoints[{i}]", lambda a=a: Shape.point(a.position.lon, a.position.lat))
        else:
            shape = _guard(
                f"waypoints[{i}]",
                lambda a=a, b=b: Shape.build(
                    ShapeType.LINE,
                    [[(a.position.lon, a.position.lat), (b.position.lon, b.position.lat)]],
                    "coordinates",
                ),
            )
        parts.append(
            Part(
                decl.id, decl.owner, decl.kind, Role.LEG, shape, decl.half_width_m,
                Window(a.time, b.time), _leg_band(a, b, band) if isinstance(decl, Flight) else None,
                leg=i,
            )
        )
    return parts


def declaration_parts(decl: Declaration) -> list[Part]:
    """The parts of a declaration, its geometry validated on the ellipsoid."""
    if isinstance(decl, Site):
        shape = _guard("geometry", lambda: Shape.of(decl.geometry))
        return [
            Part(decl.id, decl.owner, decl.kind, Role.SITE, shape, decl.protection_m, decl.window,
                 None, forces=decl.category is SiteCategory.FORCES)
        ]
    if isinstance(decl, Movement):
        if decl.waypoints:
            return _legs(decl, None)
        assert decl.route is not None
        route = decl.route
        shape = _guard("geometry", lambda: Shape.of(route))
        return [Part(decl.id, decl.owner, decl.kind, Role.CORRIDOR, shape, decl.half_width_m,
                     decl.window, None)]
    if isinstance(decl, Flight):
        if decl.waypoints:
            return _legs(decl, decl.altitude)
        assert decl.geometry is not None and decl.altitude is not None
        geom = decl.geometry
        shape = _guard("geometry", lambda: Shape.of(geom))
        role = Role.AREA if isinstance(geom, (Polygon, Point)) else Role.CORRIDOR
        return [Part(decl.id, decl.owner, decl.kind, role, shape, decl.half_width_m, decl.window,
                     decl.altitude)]
    assert isinstance(decl, Fire)
    target = decl.target
    effects = _guard("target", lambda: Shape.of(target))
    parts = [Part(decl.id, decl.owner, decl.kind, Role.EFFECTS, effects, decl.effects_radius_m,
                  decl.window, None)]
    if decl.origin is not None and decl.max_ordinate is not None:
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
        parts.append(Part(decl.id, decl.owner, decl.kind, Role.TRAJECTORY, traj,
                          decl.trajectory_half_width_m, decl.window, band))
    return parts


def measure_shape(measure: Measure) -> Shape:
    return _guard("geometry", lambda: Shape.of(measure.geometry))
