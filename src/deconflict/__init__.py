"""Deconflict: an open deconfliction service.

The small public API for integrators::

    from deconflict import Engine, Party, decode_declaration, decode_measure

Build an :class:`Engine` (in memory) or open a :class:`Deconflict` service
(engine plus durable, hash-chained store), add parties, measures and
declarations, and ``check`` planned activities. See README.md and docs/.
"""

from deconflict.engine import Engine
from deconflict.errors import (
    DeconflictError,
    InvalidInput,
    NotFound,
    StoreError,
    TamperedLog,
    UnsupportedGeometry,
)
from deconflict.model import (
    CautionMargins,
    CheckResult,
    Declaration,
    Finding,
    FindingKind,
    Measure,
    Party,
)
from deconflict.store.documents import decode_declaration, decode_measure, decode_party

__version__ = "0.1.0"

__all__ = [
    "CautionMargins",
    "CheckResult",
    "Declaration",
    "DeconflictError",
    "Engine",
    "Finding",
    "FindingKind",
    "InvalidInput",
    "Measure",
    "NotFound",
    "Party",
    "StoreError",
    "TamperedLog",
    "UnsupportedGeometry",
    "__version__",
    "decode_declaration",
    "decode_measure",
    "decode_party",
]
