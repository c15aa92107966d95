"""Chord bounds ruling an activity part's candidates out together, before any
exact comparison (docs/geometry.md, "Chords rule candidates out"): for built
candidates from their shapes' capsules, for line candidates not built yet from
their positions, so those ruled out are never built."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from deconflict.engine.parts import Part
from deconflict.geo import chord
from deconflict.geo.bounds import FloatArray
from deconflict.geo.chord import PRUNE_SLACK_M, capsule_gaps
from deconflict.geo.shape import inv_arrays
from deconflict.model.geometry import Position

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
#: A candidate: (its declaration, its part, the rules between them), as the checker holds it.
C = TypeVar("C", bound=tuple[object, Part, object])


def balls(caps: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Balls holding capsules: the chord's midpoint, half the chord plus the pad."""
    centre = (caps[:, 0:3] + caps[:, 3:6]) / 2.0
    return centre, np.linalg.norm(caps[:, 3:6] - caps[:, 0:3], axis=1) / 2.0 + caps[:, 6]


def in_reach(mine: FloatArray, caps: FloatArray, counts: IntArray, reach: FloatArray) -> BoolArray:
    """For candidates of ``counts[i]`` capsules each (``caps``, in order), whether
    the chord bound of their distance to ``mine`` is not past ``reach`` by more
    than PRUNE_SLACK_M. The balls holding the capsules first (a point of a
    capsule is within its ball's radius of its centre, so the centres' distance
    less both radii is a lower bound too, and never above the capsules' gap),
    then the capsules' gaps of the candidates the balls leave."""
    starts = np.cumsum(counts) - counts
    mc, mr = balls(mine)
    tc, tr = balls(caps)
    ball = (np.linalg.norm(mc[:, None, :] - tc[None, :, :], axis=2) - mr[:, None] - tr[None, :]).min(axis=0)
    keep = ~(np.minimum.reduceat(ball, starts) > reach + PRUNE_SLACK_M)
    if not keep.any():
        return keep
    rows = np.repeat(keep, counts)
    gaps = capsule_gaps(mine, caps[rows]).min(axis=0)
    lower = np.minimum.reduceat(gaps, (np.cumsum(counts[keep]) - counts[keep]))
    keep[keep] = ~(lower > reach[keep] + PRUNE_SLACK_M)
    return keep


def unbuilt_within_reach(ap: Part, lines: list[tuple[Sequence[Position], float]],
                          margin_m: float) -> list[bool]:
    """:func:`within_reach` for line candidates not built yet, from their
    positions and radii (parts.part_line): the same capsules their shapes
    would give (chord.line_capsules of the same positions and geodesic
    lengths), for all of them in one array computation, so those ruled out
    are never built (a part costs tens of microseconds to build)."""
    counts = np.fromiter((len(c) for c, _r in lines), np.intp, len(lines))
    lons = np.fromiter((p[0] for c, _r in lines for p in c), np.float64, int(counts.sum()))
    lats = np.fromiter((p[1] for c, _r in lines for p in c), np.float64, int(counts.sum()))
    # Every consecutive pair of positions; those across two candidates are dropped.
    inside = np.ones(lons.shape[0] - 1, dtype=np.bool_)
    inside[np.cumsum(counts)[:-1] - 1] = False
    _az, lengths = inv_arrays(lons[:-1], lats[:-1], lons[1:], lats[1:])
    caps = chord.line_capsules(lons, lats, lengths)[inside]
    reach = np.fromiter((ap.radius_m + r for _c, r in lines), np.float64, len(lines)) + margin_m
    keep: list[bool] = in_reach(ap.shape.capsules(), caps, counts - 1, reach).tolist()
    return keep

def within_reach(ap: Part, near: list[C], margin_m: float) -> list[C]:
    """The candidates not certainly farther from ``ap`` than every rule of the
    pair reaches (their radii plus the horizontal margin): a lower bound of
    each distance from chords in space (:mod:`deconflict.geo.chord`), for all
    of them in one array computation. Those dropped would each have cost an
    exact comparison answering "farther than the reach" (every pair rule is
    evaluate_volumes on these shapes and radii, so all answer None)."""
    caps = [op.shape.capsules() for _d, op, _r in near]
    counts = np.fromiter((len(c) for c in caps), np.intp, len(caps))
    reach = np.array([ap.radius_m + op.radius_m for _d, op, _r in near]) + margin_m
    keep = in_reach(ap.shape.capsules(), np.concatenate(caps), counts, reach)
    return [c for c, k in zip(near, keep.tolist(), strict=True) if k]
