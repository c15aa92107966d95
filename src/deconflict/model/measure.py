"""Coordination measures agreed between parties or set by one."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from deconflict.errors import InvalidInput
from deconflict.model.declaration import DeclarationKind, radius
from deconflict.model.geometry import Geometry, LineString, Point, Polygon
from deconflict.model.party import check_id
from deconflict.model.time import Window
from deconflict.model.units import AltitudeBand


class MeasureKind(StrEnum):
    DECONFLICTION_LINE = "deconfliction_line"
    NO_FIRE_AREA = "no_fire_area"
    RESTRICTIVE_FIRE_AREA = "restrictive_fire_area"
    RESTRICTIVE_FIRE_LINE = "restrictive_fire_line"
    RESTRICTED_OPERATIONS_ZONE = "restricted_operations_zone"
    AIR_CORRIDOR = "air_corridor"

    @property
    def is_line(self) -> bool:
        return self in (MeasureKind.DECONFLICTION_LINE, MeasureKind.RESTRICTIVE_FIRE_LINE)

    @property
    def is_air(self) -> bool:
        return self in (MeasureKind.RESTRICTED_OPERATIONS_ZONE, MeasureKind.AIR_CORRIDOR)


class Side(StrEnum):
    """Side of a line relative to the direction in which its vertices run."""

    LEFT = "left"
    RIGHT = "right"

    @property
    def other(self) -> Side:
        return Side.RIGHT if self is Side.LEFT else Side.LEFT


class BindsMode(StrEnum):
    ALL = "all"
    ALL_BUT_OWNER = "all_but_owner"
    LISTED = "listed"


@dataclass(frozen=True, slots=True)
class Binds:
    mode: BindsMode = BindsMode.ALL
    parties: frozenset[str] = frozenset()

    def includes(self, party: str, owner: str) -> bool:
        if self.mode is BindsMode.ALL:
            return True
        if self.mode is BindsMode.ALL_BUT_OWNER:
            return party != owner
        return party in self.parties


#: How far either side of a line (and past its ends) the line governs when the
#: measure does not say: a front line is about the fighting along it, and 50 km
#: covers a corps's fires and movements near the line, while a fire 300 km from
#: the Euphrates is no business of a line drawn along it (docs/rules.md).
DEFAULT_LINE_APPLICATION_M = 50_000.0

#: Declaration kinds a line applies to when the measure does not say.
DEFAULT_LINE_APPLIES_TO = frozenset({DeclarationKind.MOVEMENT, DeclarationKind.FIRE})


@dataclass(frozen=True, slots=True)
class Measure:
    id: str
    kind: MeasureKind
    owner: str
    geometry: Geometry
    window: Window
    label: str = ""
    binds: Binds = field(default_factory=Binds)
    sides: tuple[tuple[str, Side], ...] = ()
    applies_to: frozenset[DeclarationKind] = DEFAULT_LINE_APPLIES_TO
    altitude: AltitudeBand | None = None
    half_width_m: float = 0.0
    #: A line's area of application: within this distance of the line (either
    #: side, and past its ends) ...
    application_m: float = DEFAULT_LINE_APPLICATION_M
    #: ... or, when given, within this area instead.
    application_area: Polygon | None = None

    def __post_init__(self) -> None:
        check_id(self.id, "id")
        check_id(self.owner, "owner")
        radius(self.half_width_m, "half_width_m")
        radius(self.application_m, "application_m")
        kind = self.kind
        if not kind.is_line:
            if self.application_m != DEFAULT_LINE_APPLICATION_M:
                raise InvalidInput("application_m", f"a {kind.value} has no area of application: only lines do")
            if self.application_area is not None:
                raise InvalidInput("application_area", f"a {kind.value} has no area of application: only lines do")
        elif self.application_area is not None and not isinstance(self.application_area, Polygon):
            raise InvalidInput("application_area", "the area of application is a Polygon")
        elif self.application_area is None and self.application_m <= 0:
            raise InvalidInput("application_m", "must be > 0: a line that governs nowhere is no line")
        if kind.is_line:
            if not isinstance(self.geometry, LineString):
                raise InvalidInput("geometry", f"a {kind.value} is a LineString")
            if not self.sides:
                raise InvalidInput("sides", f"a {kind.value} needs the side of each bound party")
            if self.half_width_m:
                raise InvalidInput("half_width_m", f"a {kind.value} has no width")
        elif kind is MeasureKind.AIR_CORRIDOR:
            if isinstance(self.geometry, Point):
                raise InvalidInput("geometry", "an air corridor is a LineString or a Polygon")
            if isinstance(self.geometry, LineString) and self.half_width_m <= 0:
                raise InvalidInput("half_width_m", "an air corridor along a line needs a half-width > 0")
        elif isinstance(self.geometry, LineString):
            raise InvalidInput("geometry", f"a {kind.value} is an area: a Polygon, or a Point with half_width_m")
        elif isinstance(self.geometry, Point) and self.half_width_m <= 0:
            raise InvalidInput("half_width_m", f"a {kind.value} given as a Point needs a radius (half_width_m) > 0")
        if kind.is_air and self.altitude is None:
            raise InvalidInput("altitude", f"a {kind.value} needs an altitude band")
        if not kind.is_line and self.sides:
            raise InvalidInput("sides", f"a {kind.value} has no sides")
        assert isinstance(self.geometry, (Point, LineString, Polygon))

    def side_of(self, party: str) -> Side | None:
        for p, s in self.sides:
            if p == party:
                return s
        return None

    def binds_party(self, party: str) -> bool:
        if self.kind.is_line:
            return self.side_of(party) is not None
        return self.binds.includes(party, self.owner)

    def applies_to_kind(self, kind: DeclarationKind) -> bool:
        if self.kind is MeasureKind.DECONFLICTION_LINE:
            return kind in self.applies_to
        if self.kind in (
            MeasureKind.NO_FIRE_AREA,
            MeasureKind.RESTRICTIVE_FIRE_AREA,
            MeasureKind.RESTRICTIVE_FIRE_LINE,
        ):
            return kind is DeclarationKind.FIRE
        if self.kind is MeasureKind.RESTRICTED_OPERATIONS_ZONE:
            return kind is DeclarationKind.FLIGHT
        return kind in (DeclarationKind.FLIGHT, DeclarationKind.FIRE)
