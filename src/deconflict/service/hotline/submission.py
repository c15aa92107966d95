"""A submit as it waits in the group commit's queue, and its idempotency.

Separate because both the decision of one submit (service/hotline/activities.py)
and the group commit that decides them in batches (service/hotline/group_commit.py)
speak of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deconflict.engine.parts import Part
from deconflict.errors import AlreadyExists
from deconflict.model import Declaration
from deconflict.service import optimistic
from deconflict.service.auth import Principal
from deconflict.store.events import EventDraft

MAX_OVERRIDE_REASON = 2000

#: An accepted submit's response and events, given the number its first event gets.
Render = Callable[[int], tuple[dict[str, Any], list[EventDraft]]]


class IdempotencyMismatch(AlreadyExists):
    def __init__(self, key: str) -> None:
        super().__init__("idempotency key", key)


@dataclass(eq=False)
class Submission:
    who: Principal
    activity: Declaration
    override_reason: str
    idempotency_key: str
    request_sha256: str
    done: bool = False
    result: tuple[bool, dict[str, Any]] | None = None
    error: Exception | None = None
    depends_on_batch: bool = False  # a replay of a submit in the same, not yet durable, batch
    on_done: Callable[[Submission], None] | None = None  # called on the committing thread once decided
    parts: list[Part] | None = None  # the activity's footprint, built before the lock (Engine.prebuild)
    probe: list[EventDraft] = field(default_factory=list)  # a refusal touching hidden declarations
    pre: optimistic.Prechecked | None = None  # checked before the store's lock (service/optimistic.py)


def request_digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

