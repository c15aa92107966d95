"""Submits checked before the store's lock, re-checked under it against the delta (issue 9).

Comparing a submit with everything in force is the costly part of deciding it,
and it ran while the store's cross-worker lock was held: every submit on every
worker waited for the slowest comparison. Now a submit is checked first under
the process's own lock only, at a known log sequence number; then, under the
store's lock, after folding in what other workers appended, it is checked again
against what changed since that number alone (:class:`Journal`), and the two
are merged. Exactly as safe as checking everything under the lock:

- a check's findings are one per declaration in its reach plus the measures';
  those about a declaration unchanged since the first check are still true, and
  every declaration declared, amended or withdrawn since is dropped from the
  first and checked afresh (submits accepted earlier in the same batch too);
- a change to a measure, a party or the margins since, or a delta the journal
  no longer reaches back to, means a full check under the lock, as before.

So two conflicting submits racing on two workers are never both accepted: the
second to take the lock sees the first in its delta (tests/service/test_race.py,
tests/service/test_optimistic.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from deconflict.engine import Engine
from deconflict.model import CheckResult, Declaration
from deconflict.store.events import Event

#: Events the journal remembers: a first check older than that is done again in full.
JOURNAL_EVENTS = 4096

_DECLARATIONS = frozenset({"declaration.declared", "declaration.withdrawn"})
#: What else changes a check's outcome: then the delta is not enough.
_IN_FORCE = frozenset({"party.added", "settings.changed", "measure.added", "measure.withdrawn"})


@dataclass(frozen=True, slots=True)
class Prechecked:
    """A submit's check against everything in force after event ``seq``."""

    seq: int
    result: CheckResult


class Journal:
    """The last events the service saw, in order (a follower of ``Deconflict``)."""

    def __init__(self, size: int = JOURNAL_EVENTS) -> None:
        self._events: deque[tuple[int, str, str]] = deque(maxlen=size)

    def __call__(self, e: Event) -> None:
        self._events.append((e.seq, e.type, e.subject))

    def changed_since(self, seq: int, now: int) -> set[str] | None:
        """The declarations declared, amended or withdrawn after event ``seq`` up
        to ``now``; None when a measure, a party or the margins changed too, or
        the journal does not reach back to ``seq``."""
        if seq == now:
            return set()
        if not self._events or self._events[0][0] > seq + 1 or self._events[-1][0] < now:
            return None
        changed = set()
        for s, kind, subject in reversed(self._events):
            if s <= seq:
                break
            if s > now:
                continue
            if kind in _IN_FORCE:
                return None
            if kind in _DECLARATIONS:
                changed.add(subject)
        return changed


def recheck(engine: Engine, activity: Declaration, first: CheckResult, changed: AbstractSet[str]) -> CheckResult:
    """``first`` brought up to date: its findings about ``changed`` declarations
    replaced by a check against those alone (as they are now in ``engine``)."""
    if not changed:
        return first
    kept = [f for f in first.findings if not (f.object_type == "declaration" and f.object_id in changed)]
    present = {i for i in changed if engine.has_declaration(i)}
    fresh = engine.check(activity, only=present).findings if present else ()
    return CheckResult.of([*kept, *fresh])
