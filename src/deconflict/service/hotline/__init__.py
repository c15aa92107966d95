"""The multi-party service: the deconfliction hotline as software.

Every operation takes the caller's :class:`Principal` and enforces what its
role and party may do. A submit is decided holding the store's lock rows of
the cells it reaches (engine/cells.py; every other write holds them all),
after folding in what other processes appended, so acceptance is
serialisable: two mutually conflicting activities submitted at once, through
one process or several, are never both accepted (docs/store.md, "Acceptance
by cells").

Everything the hotline knows beyond the store's current state (credentials,
notifications, measure agreements, idempotency keys) is rebuilt from the
event log at start, so nothing acknowledged is lost in a crash.

The hotline is one class, :class:`Hotline`, built from one module per
concept of this package:

- ``core``: its state and how it reads and writes the log (the lock discipline);
- ``fold``: what it folds from each event of the log;
- ``admin``: parties and credentials;
- ``reads``: what a party may read of what is in force;
- ``probes``: checks touching hidden declarations, counted and recorded;
- ``activities``: a dry run, one submit decided, a withdrawal, who is told;
- ``submission`` and ``group_commit``: submits queued and decided in batches;
- ``inbox``: a party's notifications, answered, reminded and escalated.

Everything the rest of the program imports from ``deconflict.service.hotline``
is imported here.
"""

from __future__ import annotations

from deconflict.service.hotline.activities import BLOCKING, NOTIFYING, Refused
from deconflict.service.hotline.admin import Administration
from deconflict.service.hotline.core import DEFAULT_ACK_DEADLINE, Clock
from deconflict.service.hotline.fold import Proposal
from deconflict.service.hotline.group_commit import CLAIM_ATTEMPTS, GroupCommit
from deconflict.service.hotline.inbox import Notifying
from deconflict.service.hotline.submission import (
    MAX_OVERRIDE_REASON,
    IdempotencyMismatch,
    Render,
    Submission,
    request_digest,
)

__all__ = [
    "BLOCKING",
    "CLAIM_ATTEMPTS",
    "DEFAULT_ACK_DEADLINE",
    "MAX_OVERRIDE_REASON",
    "NOTIFYING",
    "Clock",
    "Hotline",
    "IdempotencyMismatch",
    "Proposal",
    "Refused",
    "Render",
    "Submission",
    "request_digest",
]


class Hotline(GroupCommit, Notifying, Administration):
    """The deconfliction hotline: every operation of the multi-party service
    (see the package's docstring for the concepts it is built from)."""
