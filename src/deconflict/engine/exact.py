"""The exact distances of the pair comparisons a check (or a batch of checks)
still has to make once time, bands and the conservative bounds are past.

The comparisons are gathered first and their distances taken together: on
arrays (:func:`deconflict.geo.batch.pair_distances`, the Python work growing
with the solver's steps, not with the pairs), or one by one with
:meth:`Shape.distance_within` where that is the better choice: a handful of
pairs, two points, or two shapes with so many edges that the scalar path's
edge-box pairing (and its cost guard, ``ComparisonTooCostly``) is needed.
Both answer the same distances (docs/geometry.md, "Vectorised exact distances").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from deconflict.geo import batch
from deconflict.geo.shape import Shape, ShapeType

#: Exact distances on arrays; False: one by one, as before (bench/batch_ab.py's B).
VECTORISE = True
#: Fewer comparisons than this are made one by one: the arrays' fixed cost
#: (tens of numpy calls per solver step) is more than a few scalar searches.
BATCH_MIN: Final = 3
#: Two shapes with more edge pairs than this are compared one by one (the
#: scalar path pairs edges by boxes rather than all with all, and refuses a
#: comparison past MAX_EDGE_PAIRS).
BATCH_MAX_EDGE_PAIRS: Final = 4_096
#: A batch is cut into calls of at most this many edge pairs (bounds its memory).
BATCH_CHUNK_EDGE_PAIRS: Final = 65_536


def _edges(shape: Shape) -> int:
    return sum(max(1, len(r.edges)) for r in shape.rings)


def distances(mines: Sequence[Shape], others: Sequence[Shape], uptos: Sequence[float]) -> list[float]:
    """``[m.distance_within(o, u) for m, o, u in zip(mines, others, uptos)]``:
    each pair's exact distance if at most its ``upto``, else ``inf``."""
    vectorise = VECTORISE
    n = len(mines)
    if not vectorise:
        return [m.distance_within(o, u) for m, o, u in zip(mines, others, uptos, strict=True)]
    out = [0.0] * n
    todo: list[int] = []
    sizes: list[int] = []
    point = ShapeType.POINT
    for c in range(n):
        m, o = mines[c], others[c]
        if m.type is point or o.type is point:
            out[c] = m.distance_within(o, uptos[c])
            continue
        size = _edges(m) * _edges(o)
        if size > BATCH_MAX_EDGE_PAIRS:
            out[c] = m.distance_within(o, uptos[c])
        else:
            todo.append(c)
            sizes.append(size)
    if len(todo) < BATCH_MIN:
        for c in todo:
            out[c] = mines[c].distance_within(others[c], uptos[c])
        return out
    start = 0
    while start < len(todo):
        end, total = start, 0
        while end < len(todo) and (end == start or total + sizes[end] <= BATCH_CHUNK_EDGE_PAIRS):
            total += sizes[end]
            end += 1
        chunk = todo[start:end]
        got = batch.pair_distances([mines[c] for c in chunk], [others[c] for c in chunk],
                                   np.array([uptos[c] for c in chunk], dtype=np.float64))
        for c, d in zip(chunk, got.tolist(), strict=True):
            out[c] = d
        start = end
    return out
