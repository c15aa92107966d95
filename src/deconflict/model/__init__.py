"""Validated, format-neutral types. Nothing here knows about JSON, HTTP or SQL."""

from deconflict.model.declaration import (
    Declaration,
    DeclarationKind,
    Fire,
    Flight,
    Movement,
    Site,
    SiteCategory,
    Waypoint,
)
from deconflict.model.finding import CheckResult, Finding, FindingKind, TimeSpan
from deconflict.model.geometry import Geometry, LineString, Point, Polygon
from deconflict.model.humanitarian import Contact, FacilityType, HumanitarianDetails, Vehicles
from deconflict.model.measure import Binds, Measure, MeasureKind, Side
from deconflict.model.party import Party, PartyKind
from deconflict.model.settings import CautionMargins
from deconflict.model.sharing import ShareWith
from deconflict.model.time import Window
from deconflict.model.units import Altitude, AltitudeBand, Datum, LengthUnit

__all__ = [
    "Altitude",
    "AltitudeBand",
    "Binds",
    "CautionMargins",
    "CheckResult",
    "Contact",
    "Datum",
    "Declaration",
    "DeclarationKind",
    "FacilityType",
    "Finding",
    "FindingKind",
    "Fire",
    "Flight",
    "Geometry",
    "HumanitarianDetails",
    "LengthUnit",
    "LineString",
    "Measure",
    "MeasureKind",
    "Movement",
    "Party",
    "PartyKind",
    "Point",
    "Polygon",
    "ShareWith",
    "Side",
    "Site",
    "SiteCategory",
    "TimeSpan",
    "Vehicles",
    "Waypoint",
    "Window",
]
