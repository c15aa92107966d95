"""Replay: the picture as a party knew it at a past *recording* instant.

Recording time (when the service wrote an event: ``recorded_at``) is not
the scenario's own time (the windows of declarations and measures): a store
loaded today with the 2018 Euphrates scenario has no event recorded in 2018,
so its picture "as of 2018-02-07T20:05Z" is empty, and a replay says so
instead of showing that emptiness as the truth: it names where the log
starts and ends.

What a party knew at ``t``: the measures in force, the declarations it may
see (its own and those shared with it: service/disclosure.py), the
notifications sent to it with when each was delivered, acknowledged or
objected to, all from events recorded at or before ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deconflict.service.disclosure import visible
from deconflict.store.events import format_instant
from deconflict.store.protocol import Store
from deconflict.store.state import State


@dataclass
class Replay:
    instant: datetime
    party: str | None  # None: the administrator's view (everything)
    state: State
    log_starts: str | None
    log_ends: str | None
    notifications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def before_log(self) -> bool:
        return self.log_starts is None or format_instant(self.instant) < self.log_starts

    @property
    def after_log(self) -> bool:
        return self.log_ends is not None and format_instant(self.instant) > self.log_ends

    def declarations(self) -> list[Any]:
        return [d for _i, d in sorted(self.state.declarations.items())
                if self.party is None or visible(d, self.party)]

    def measures(self) -> list[Any]:
        return [m for _i, m in sorted(self.state.measures.items())]

    def caveat(self) -> str:
        """What a reader must be told beside the picture, or ''."""
        at = format_instant(self.instant)
        if self.log_starts is None:
            return "the log is empty: nothing has been recorded yet"
        if self.before_log:
            return (f"{at} is before the log starts ({self.log_starts}): nothing was recorded then, so this "
                    "empty picture says nothing of that time. Times here are recording times, when the "
                    "service learnt of things, not the times of the scenario's own activities.")
        if self.after_log:
            return f"the log ends at {self.log_ends}: this is the picture as of then"
        return ""


def replay(store: Store, instant: datetime, party: str | None = None) -> Replay:
    first, last = store.log_span()
    state = store.state_as_of(instant)
    r = Replay(instant, party, state, first, last)
    r.notifications = _notifications(store, state.seq, party)
    return r


def _notifications(store: Store, upto: int, party: str | None) -> list[dict[str, Any]]:
    """Notifications to ``party`` (all of them for None) as of event ``upto``."""
    out: dict[str, dict[str, Any]] = {}
    for e in store.events():
        if e.seq > upto:
            break
        if not e.type.startswith("notification."):
            continue
        p = e.payload
        when = format_instant(e.recorded_at)
        if e.type == "notification.sent":
            if party is None or p.get("party") == party:
                out[str(p.get("id"))] = {"id": p.get("id"), "party": p.get("party"), "kind": p.get("kind"),
                                         "subject": p.get("subject"), "sent_at": when, "seq": e.seq,
                                         "by": e.actor}
            continue
        n = out.get(str(p.get("id")))
        if n is None:
            continue
        what = e.type.split(".", 1)[1]
        n.setdefault(f"{what}_at", when)
        if what in ("acknowledged", "objected"):
            n["answer"] = what
            n["comment"] = p.get("comment", "")
    return list(out.values())
