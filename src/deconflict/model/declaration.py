"""Declarations: what a party tells the service about its own activity or presence."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from deconflict.errors import InvalidInput
from deconflict.model.geometry import Geometry, LineString, Point, Polygon
from deconflict.model.humanitarian import FacilityType, HumanitarianDetails
from deconflict.model.party import check_id
from deconflict.model.sharing import ShareWith
from deconflict.model.symbol import check_designation, check_sidc
from deconflict.model.time import Window, require_utc
from deconflict.model.units import Altitude, AltitudeBand, non_negative

#: Default lateral half-width of a fire's trajectory corridor (DESIGN.md).
DEFAULT_TRAJECTORY_HALF_WIDTH_M = 250.0
#: Radii beyond this are refused: the engine's geodesic guarantees are stated
#: for footprints up to this size (see docs/geometry.md).
MAX_RADIUS_M = 500_000.0


class DeclarationKind(StrEnum):
    SITE = "site"
    MOVEMENT = "movement"
    FLIGHT = "flight"
    FIRE = "fire"


class SiteCategory(StrEnum):
    FORCES = "forces"
    PROTECTED = "protected"


def radius(value: float, name: str) -> float:
    v = non_negative(value, name)
    if v > MAX_RADIUS_M:
        raise InvalidInput(name, f"must be at most {MAX_RADIUS_M:g} m, got {value}")
    return v


@dataclass(frozen=True, slots=True)
class Waypoint:
    """A timed point of a 4D trajectory. The leg to the next waypoint occupies
    its corridor only during ``[time, next.time)``."""

    position: Point
    time: datetime
    altitude: Altitude | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", require_utc(self.time, "time"))


def check_waypoints(waypoints: tuple[Waypoint, ...]) -> Window:
    if len(waypoints) < 2:
        raise InvalidInput("waypoints", "a 4D trajectory needs at least two waypoints")
    for i in range(1, len(waypoints)):
        if waypoints[i].time <= waypoints[i - 1].time:
            raise InvalidInput(
                f"waypoints[{i}].time", "waypoint times must strictly increase"
            )
    return Window(waypoints[0].time, waypoints[-1].time)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Common:
    id: str
    owner: str
    window: Window
    label: str = ""
    share_with: ShareWith = field(default_factory=ShareWith.all)
    #: The military symbol (model/symbol.py); "" draws the map's default for the kind.
    sidc: str = ""
    designation: str = ""

    def _check_common(self) -> None:
        check_id(self.id, "id")
        check_id(self.owner, "owner")
        if self.sidc:
            object.__setattr__(self, "sidc", check_sidc(self.sidc))
        object.__setattr__(self, "designation", check_designation(self.designation))


@dataclass(frozen=True, slots=True, kw_only=True)
class Site(_Common):
    geometry: Geometry
    category: SiteCategory = SiteCategory.PROTECTED
    protection_m: float = 0.0
    people_present: bool | None = None
    facility: FacilityType | None = None
    details: HumanitarianDetails | None = None

    kind = DeclarationKind.SITE

    def __post_init__(self) -> None:
        self._check_common()
        radius(self.protection_m, "protection_m")
        if self.facility is not None and self.category is not SiteCategory.PROTECTED:
            # A facility type is drawn as a humanitarian symbol; a site of forces
            # keeps its military frame, so the two are never mistaken.
            raise InvalidInput("facility", "a facility type describes a protected site (category 'protected')")


@dataclass(frozen=True, slots=True, kw_only=True)
class Movement(_Common):
    """A ground route: one corridor for the whole window, or timed waypoints."""

    route: LineString | None = None
    waypoints: tuple[Waypoint, ...] = ()
    half_width_m: float = 0.0
    details: HumanitarianDetails | None = None

    kind = DeclarationKind.MOVEMENT

    def __post_init__(self) -> None:
        self._check_common()
        radius(self.half_width_m, "half_width_m")
        if (self.route is None) == (not self.waypoints):
            raise InvalidInput("geometry", "give either a route geometry or waypoints, not both")
        if self.waypoints:
            check_waypoints(self.waypoints)


@dataclass(frozen=True, slots=True, kw_only=True)
class Flight(_Common):
    """A route corridor or an area, with an altitude band; or timed waypoints."""

    geometry: LineString | Polygon | Point | None = None
    waypoints: tuple[Waypoint, ...] = ()
    half_width_m: float = 0.0
    altitude: AltitudeBand | None = None

    kind = DeclarationKind.FLIGHT

    def __post_init__(self) -> None:
        self._check_common()
        radius(self.half_width_m, "half_width_m")
        if (self.geometry is None) == (not self.waypoints):
            raise InvalidInput("geometry", "give either a geometry or waypoints, not both")
        if self.waypoints:
            check_waypoints(self.waypoints)
            if self.altitude is None and any(w.altitude is None for w in self.waypoints):
                raise InvalidInput(
                    "altitude", "a flight needs an altitude band or an altitude on every waypoint"
                )
        elif self.altitude is None:
            raise InvalidInput("altitude", "a flight needs an altitude band")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fire(_Common):
    """Fires: a target and its effects radius; optionally the firing position
    and the trajectory's maximum ordinate, so the shell's path through the air
    can be deconflicted with aircraft."""

    target: Point | Polygon
    effects_radius_m: float = 0.0
    origin: Point | None = None
    max_ordinate: Altitude | None = None
    trajectory_half_width_m: float = DEFAULT_TRAJECTORY_HALF_WIDTH_M

    kind = DeclarationKind.FIRE

    def __post_init__(self) -> None:
        self._check_common()
        radius(self.effects_radius_m, "effects_radius_m")
        radius(self.trajectory_half_width_m, "trajectory_half_width_m")
        if (self.origin is None) != (self.max_ordinate is None):
            raise InvalidInput(
                "origin" if self.origin is None else "max_ordinate_m",
                "a trajectory needs both the firing position (origin) and the maximum ordinate",
            )
        if self.origin is not None and isinstance(self.target, Polygon):
            raise InvalidInput(
                "origin", "a trajectory is computed to a point target: give the target as a Point"
            )

    @property
    def trajectory_band(self) -> AltitudeBand | None:
        if self.max_ordinate is None:
            return None
        return AltitudeBand.surface_to(self.max_ordinate)


Declaration = Site | Movement | Flight | Fire


def footprint_sources(decl: Declaration) -> tuple[list[Geometry], list[tuple[float, float]]]:
    """What a declaration's footprint is built from: its geometries, and the
    positions it gives besides (waypoints, which stand for the route or the
    geometry when given; a fire's origin). Lists filter on these, and the
    service sizes a request's work by them."""
    if isinstance(decl, (Movement, Flight)) and decl.waypoints:
        return [], [(w.position.lon, w.position.lat) for w in decl.waypoints]
    if isinstance(decl, Site):
        return [decl.geometry], []
    if isinstance(decl, Movement):
        return [] if decl.route is None else [decl.route], []
    if isinstance(decl, Flight):
        return [] if decl.geometry is None else [decl.geometry], []
    return [decl.target], [] if decl.origin is None else [(decl.origin.lon, decl.origin.lat)]
