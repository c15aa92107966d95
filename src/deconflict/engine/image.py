"""An engine's declarations as arrays: what a snapshot keeps (store/startup.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from deconflict.engine.listing import Columns


@dataclass(frozen=True, slots=True)
class EngineImage:
    """Declarations ``0..n-1`` (dense, in force) and their parts ``0..p-1``.

    Declaration ``i`` has the ``i``-th id of ``ids`` (UTF-8, ``\n``-separated,
    in increasing order: the slot order is the id order), its document ``docs[offsets[i]:offsets[i+1]]``,
    and owns the next ``n_parts[i]`` parts. Part ``k`` is in force during
    ``[t0[k], t1[k])`` (microseconds since the epoch) with the index tag
    ``tags[k]``; the index entries are ``e_box[j]`` (lon_lo, lat_lo, lon_hi,
    lat_hi) for part ``e_part[j]``, as the index filed them; ``columns`` are what
    lists filter on (engine/listing.py)."""

    ids: bytes | memoryview
    docs: bytes | memoryview
    offsets: npt.NDArray[np.int64]
    n_parts: npt.NDArray[np.int32]
    t0: npt.NDArray[np.int64]
    t1: npt.NDArray[np.int64]
    tags: npt.NDArray[np.uint8]
    e_part: npt.NDArray[np.int32]
    e_box: npt.NDArray[np.float64]
    columns: Columns

    def __len__(self) -> int:
        return len(self.offsets) - 1
