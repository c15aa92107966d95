"""A seeded synthetic theatre for the engine benchmark.

The theatre is a square of about 1,000 x 1,000 km centred on 35N 40E
(latitude 30.5-39.5, longitude 34.5-45.5), over four weeks from 2018-02-01.
Eight parties; p0 and p1 keep west of a north-south deconfliction line near
40E, p2 and p3 east of it; p4-p7 (humanitarian and others) are everywhere.

Declarations, by share (see ``MIX``):

* sites (40 %): points, protection radius 100 m-2 km (log-uniform), 30 %
  forces sites, windows of 1-14 days;
* fires (40 %): point targets, effects radius 100 m-2 km, windows of
  15 min-3 h; 30 % give their firing position 8-30 km away and a maximum
  ordinate (a trajectory part, a line);
* movements (12 %): 2-5 vertex routes with legs of 5-20 km (tens of km in
  all), half-width 50-500 m; half as one corridor for a window of 1-12 h,
  half as timed waypoints at about 30 km/h;
* flights (8 %): corridors (2-4 vertices, legs of 20-80 km, half-width
  1-5 km), areas (quadrilaterals of 5-20 km) and point orbits (radius
  2-10 km), each with an altitude band, windows of 1-6 h.

Measures: the deconfliction line, 8 no-fire areas (points with a radius and
small polygons), 3 restricted operations zones and a restrictive fire area.

Everything comes from ``random.Random(seed)``: the same seed gives the same
theatre.
"""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta

from deconflict.engine.checker import Engine
from deconflict.model import (
    Altitude,
    AltitudeBand,
    Binds,
    Declaration,
    Fire,
    Flight,
    LineString,
    Measure,
    MeasureKind,
    Movement,
    Party,
    PartyKind,
    Point,
    Polygon,
    Side,
    Site,
    SiteCategory,
    Waypoint,
    Window,
)
from deconflict.model.measure import BindsMode

CENTRE_LON, CENTRE_LAT = 40.0, 35.0
HALF_LAT = 4.5  # about 500 km
HALF_LON = 5.5  # about 500 km at 35N
LAT_LO, LAT_HI = CENTRE_LAT - HALF_LAT, CENTRE_LAT + HALF_LAT
LON_LO, LON_HI = CENTRE_LON - HALF_LON, CENTRE_LON + HALF_LON
T0 = datetime(2018, 2, 1, tzinfo=UTC)
SPAN_S = 28 * 86400
LINE_LON = 40.0
KM_LAT = 111.0  # km per degree of latitude, near enough for placing things
KM_LON = 111.32 * math.cos(math.radians(CENTRE_LAT))

MIX = (("site", 0.40), ("fire", 0.40), ("movement", 0.12), ("flight", 0.08))
_CUMULATIVE = tuple(zip((k for k, _s in MIX), itertools.accumulate(s for _k, s in MIX), strict=True))

PARTIES = (
    Party("p0", "Coalition", PartyKind.ARMED_FORCE),
    Party("p1", "Partner force", PartyKind.ARMED_FORCE),
    Party("p2", "Other coalition", PartyKind.ARMED_FORCE),
    Party("p3", "Government forces", PartyKind.ARMED_FORCE),
    Party("p4", "Relief organisation", PartyKind.HUMANITARIAN),
    Party("p5", "Medical charity", PartyKind.HUMANITARIAN),
    Party("p6", "UN agency", PartyKind.AGENCY),
    Party("p7", "Contractor", PartyKind.OTHER),
)
WEST = ("p0", "p1")
EAST = ("p2", "p3")


class Theatre:
    """Draws declarations and activities; one instance per seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        # A few shared window objects would flatter the memory figures: every
        # declaration gets its own datetimes, as decoded documents would.

    # -- primitives -------------------------------------------------------------
    def _party(self) -> str:
        return PARTIES[self.rng.randrange(len(PARTIES))].id

    def _position(self, owner: str) -> tuple[float, float]:
        r = self.rng
        lat = r.uniform(LAT_LO, LAT_HI)
        if owner in WEST:
            lon = r.uniform(LON_LO, LINE_LON - 0.3)
        elif owner in EAST:
            lon = r.uniform(LINE_LON + 0.3, LON_HI)
        else:
            lon = r.uniform(LON_LO, LON_HI)
        return round(lon, 6), round(lat, 6)

    def _offset(self, lon: float, lat: float, km: float, bearing: float) -> tuple[float, float]:
        dlat = km * math.cos(bearing) / KM_LAT
        dlon = km * math.sin(bearing) / KM_LON
        return (
            round(min(max(lon + dlon, -180.0), 180.0), 6),
            round(min(max(lat + dlat, -89.0), 89.0), 6),
        )

    def _radius(self, lo: float, hi: float) -> float:
        return round(math.exp(self.rng.uniform(math.log(lo), math.log(hi))), 1)

    def _window(self, min_s: float, max_s: float) -> Window:
        r = self.rng
        start = T0 + timedelta(seconds=r.randrange(SPAN_S // 60) * 60)
        return Window(start, start + timedelta(seconds=round(r.uniform(min_s, max_s) / 60) * 60 + 60))

    def _route(self, owner: str, n: int, leg_lo: float, leg_hi: float) -> list[tuple[float, float]]:
        r = self.rng
        pts = [self._position(owner)]
        heading = r.uniform(0, 2 * math.pi)
        for _ in range(n - 1):
            heading += r.uniform(-0.6, 0.6)
            pts.append(self._offset(*pts[-1], r.uniform(leg_lo, leg_hi), heading))
        return pts

    def _band(self) -> AltitudeBand:
        lo = self.rng.randrange(3, 60) * 100.0
        return AltitudeBand.metres(lo, lo + self.rng.randrange(5, 40) * 100.0)

    # -- declarations -------------------------------------------------------------
    def site(self, ident: str, owner: str) -> Site:
        lon, lat = self._position(owner)
        forces = self.rng.random() < 0.3
        return Site(
            id=ident, owner=owner, window=self._window(86400, 14 * 86400),
            geometry=Point(lon, lat),
            category=SiteCategory.FORCES if forces else SiteCategory.PROTECTED,
            protection_m=self._radius(100.0, 2000.0),
        )

    def fire(self, ident: str, owner: str) -> Fire:
        r = self.rng
        lon, lat = self._position(owner)
        origin = max_ord = None
        if r.random() < 0.3:
            olon, olat = self._offset(lon, lat, r.uniform(8.0, 30.0), r.uniform(0, 2 * math.pi))
            origin, max_ord = Point(olon, olat), Altitude(r.randrange(20, 90) * 100.0)
        return Fire(
            id=ident, owner=owner, window=self._window(900, 3 * 3600),
            target=Point(lon, lat), effects_radius_m=self._radius(100.0, 2000.0),
            origin=origin, max_ordinate=max_ord,
        )

    def movement(self, ident: str, owner: str) -> Movement:
        r = self.rng
        pts = self._route(owner, r.randint(2, 5), 5.0, 20.0)
        half = self._radius(50.0, 500.0)
        if r.random() < 0.5:
            return Movement(id=ident, owner=owner, window=self._window(3600, 12 * 3600),
                            route=LineString(tuple(pts)), half_width_m=half)
        w = self._window(60, 60)
        t = w.start
        wps = [Waypoint(Point(*pts[0]), t)]
        for a, b in itertools.pairwise(pts):
            km = math.hypot((b[0] - a[0]) * KM_LON, (b[1] - a[1]) * KM_LAT)
            t = t + timedelta(seconds=max(60, round(km / 30.0 * 3600)))
            wps.append(Waypoint(Point(*b), t))
        lo, hi = w.start, wps[-1].time
        return Movement(id=ident, owner=owner, window=Window(lo, hi), waypoints=tuple(wps),
                        half_width_m=half)

    def flight(self, ident: str, owner: str) -> Flight:
        r = self.rng
        w = self._window(3600, 6 * 3600)
        band = self._band()
        u = r.random()
        if u < 0.5:
            pts = self._route(owner, r.randint(2, 4), 20.0, 80.0)
            return Flight(id=ident, owner=owner, window=w, geometry=LineString(tuple(pts)),
                          half_width_m=self._radius(1000.0, 5000.0), altitude=band)
        if u < 0.8:
            lon, lat = self._position(owner)
            a, b = r.uniform(5.0, 20.0), r.uniform(5.0, 20.0)
            rot = r.uniform(0, math.pi / 2)
            ring = [self._offset(lon, lat, math.hypot(a, b) / 2, rot + k * math.pi / 2 + 0.3 * (k % 2))
                    for k in range(4)]
            ring.append(ring[0])
            return Flight(id=ident, owner=owner, window=w, geometry=Polygon((tuple(ring),)),
                          altitude=band)
        lon, lat = self._position(owner)
        return Flight(id=ident, owner=owner, window=w, geometry=Point(lon, lat),
                      half_width_m=self._radius(2000.0, 10000.0), altitude=band)

    def declaration(self, ident: str, owner: str | None = None) -> Declaration:
        owner = owner or self._party()
        u = self.rng.random()
        kind = next((k for k, below in _CUMULATIVE if u < below), MIX[-1][0])
        make = {"site": self.site, "fire": self.fire, "movement": self.movement,
                "flight": self.flight}[kind]
        return make(ident, owner)

    def declarations(self, n: int, prefix: str = "d") -> list[Declaration]:
        return [self.declaration(f"{prefix}{i}") for i in range(n)]


def measures() -> list[Measure]:
    """The theatre's coordination measures (fixed, not drawn)."""
    whole = Window(T0, T0 + timedelta(seconds=SPAN_S))
    line = tuple(
        (round(LINE_LON + 0.1 * math.sin(k * 1.7), 4), LAT_LO - 0.2 + k * (HALF_LAT * 2 + 0.4) / 10)
        for k in range(11)
    )
    out = [
        Measure(
            "DL", MeasureKind.DECONFLICTION_LINE, "p0", LineString(line), whole,
            label="North-south deconfliction line",
            sides=(("p0", Side.LEFT), ("p1", Side.LEFT), ("p2", Side.RIGHT), ("p3", Side.RIGHT)),
        )
    ]
    rng = random.Random(7)
    for k in range(8):
        lon, lat = rng.uniform(LON_LO, LON_HI), rng.uniform(LAT_LO, LAT_HI)
        if k % 2:
            geom: Point | Polygon = Point(round(lon, 4), round(lat, 4))
            half = 1500.0
        else:
            d = 0.03
            geom = Polygon(((
                (lon - d, lat - d), (lon + d, lat - d), (lon + d, lat + d), (lon - d, lat + d),
                (lon - d, lat - d),
            ),))
            half = 0.0
        out.append(Measure(f"NFA{k}", MeasureKind.NO_FIRE_AREA, "p4", geom, whole,
                           label=f"Hospital {k}", half_width_m=half))
    for k in range(3):
        lon, lat = rng.uniform(LON_LO, LON_HI), rng.uniform(LAT_LO, LAT_HI)
        d = 0.15
        start = T0 + timedelta(days=rng.randrange(28))
        out.append(Measure(
            f"ROZ{k}", MeasureKind.RESTRICTED_OPERATIONS_ZONE, "p0",
            Polygon((((lon - d, lat - d), (lon + d, lat - d), (lon + d, lat + d),
                      (lon - d, lat + d), (lon - d, lat - d)),)),
            Window(start, start + timedelta(hours=12)),
            binds=Binds(BindsMode.ALL_BUT_OWNER), altitude=AltitudeBand.metres(1500, 7500),
        ))
    lon, lat = rng.uniform(LON_LO, LON_HI), rng.uniform(LAT_LO, LAT_HI)
    out.append(Measure("RFA0", MeasureKind.RESTRICTIVE_FIRE_AREA, "p6", Point(lon, lat), whole,
                       half_width_m=5000.0))
    return out


def loaded_engine(size: int, seed: int = 1) -> Engine:
    """An engine holding the theatre's parties, measures and ``size`` declarations."""
    engine = Engine()
    for p in PARTIES:
        engine.add_party(p)
    for m in measures():
        engine.add_measure(m)
    engine.load(Theatre(seed).declarations(size))
    return engine


def probes_by_kind(per_kind: int, seed: int = 2) -> dict[str, list[Declaration]]:
    """``per_kind`` activities of each kind (flights, movements, fires, sites) to check."""
    theatre = Theatre(seed)
    probe = [theatre.declaration(f"q{i}") for i in range(per_kind * 40)]
    return {name: [a for a in probe if isinstance(a, t)][:per_kind]
            for name, t in (("flight", Flight), ("movement", Movement), ("fire", Fire), ("site", Site))}
