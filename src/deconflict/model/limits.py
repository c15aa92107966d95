"""Limits on what one request may ask of the server (see docs/threat-model.md).

The parties sharing a server may be adversaries: every document is bounded so
that deciding it takes a bounded amount of work, and one party's request never
stalls another's. Documents over a limit are refused (naming the field) before
any geodesy is done.
"""

from __future__ import annotations

#: Positions in one shape, every ring of a polygon together. Validation is
#: O(n log n); 5,000 keep a check of the largest shape within a few hundred
#: milliseconds (bench/README.md) while a coastline or a district outline fits.
MAX_VERTICES_PER_SHAPE = 5_000

#: Waypoints of one 4D trajectory (a movement or a flight): each leg is a part
#: the engine indexes and compares, so a trajectory costs as much as that many
#: declarations.
MAX_WAYPOINTS = 1_000
