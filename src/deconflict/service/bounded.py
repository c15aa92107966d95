"""Bounded work per request: what runs where, so one request never stalls others.

The event loop answers every connection; the store's lock serialises every
decision. Neither may wait for one party's costly document: decoding a large
body and building (validating) a large footprint run on a worker thread
before the submit is queued for the committer, which then only decides
(docs/threat-model.md).
"""

from __future__ import annotations

from typing import Any

from deconflict.geo.shape import MAX_EDGE_PAIRS, MAX_NEAR_PAIRS_PER_EDGE
from deconflict.model import Declaration, LineString, Polygon
from deconflict.model.declaration import footprint_sources
from deconflict.model.geometry import Geometry
from deconflict.model.limits import MAX_VERTICES_PER_SHAPE, MAX_WAYPOINTS

#: Bodies up to this size are parsed on the event loop (a thread hop costs
#: more than parsing them); larger ones on a worker thread.
INLINE_BODY_BYTES = 16_384

#: Footprints of up to this many positions are built on the event loop.
INLINE_POSITIONS = 64


def _positions(g: Geometry | None) -> int:
    if isinstance(g, Polygon):
        return sum(len(r) for r in g.rings)
    if isinstance(g, LineString):
        return len(g.coords)
    return 0 if g is None else 1


def positions(decl: Declaration) -> int:
    """How many positions the declaration's footprint is built from."""
    geometries, extra = footprint_sources(decl)
    return sum(_positions(g) for g in geometries) + len(extra)


def light(decl: Declaration) -> bool:
    """Whether its footprint is cheap enough to build on the event loop."""
    return positions(decl) <= INLINE_POSITIONS


def request_limits() -> dict[str, Any]:
    """The documented limits, as the API shows them (GET /v1/limits)."""
    return {"max_vertices_per_shape": MAX_VERTICES_PER_SHAPE, "max_waypoints": MAX_WAYPOINTS,
            "max_near_edge_pairs_per_edge": MAX_NEAR_PAIRS_PER_EDGE, "max_edge_pairs_per_comparison": MAX_EDGE_PAIRS}

