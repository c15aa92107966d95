"""Short references a person can read out on a radio: ``DC-000123``.

A reference is the sequence number of the event that created the thing: the
first ``declaration.declared`` of an activity (kept while it is amended, a new
one once it was withdrawn and declared again) or the ``notification.sent`` of
a notification. Sequence numbers are unique in the store, so references are,
whichever worker or command appended the event, and they need no counter of
their own. A submit knows its references before its events are appended,
because the log refuses an append that does not follow the last event seen
(``after=seq``): the events get the next numbers in order.
"""

from __future__ import annotations

import re

from deconflict.errors import InvalidInput

PREFIX = "DC-"
_REF = re.compile(r"^DC-?(\d{1,19})$", re.IGNORECASE)


def reference(seq: int) -> str:
    return f"{PREFIX}{seq:06d}"


def parse_reference(text: str) -> int:
    """The sequence number of a reference; ``DC-000123``, ``dc-123`` and ``DC123`` read alike."""
    m = _REF.match(text.strip())
    if m is None:
        raise InvalidInput("reference", "a reference reads like DC-000123")
    return int(m.group(1))


class References:
    """Activity id -> its reference, and reference -> what it names, from the log."""

    def __init__(self) -> None:
        self._activity: dict[str, int] = {}
        # seq -> id, apart by kind rather than a ("activity", id) tuple per
        # reference: one per declaration ever made, 56 bytes each at a million.
        self._named: dict[int, str] = {}  # activities
        self._notifications: dict[int, str] = {}
        self._withdrawn: set[str] = set()

    def declared(self, decl_id: str, seq: int) -> None:
        if decl_id not in self._activity or decl_id in self._withdrawn:
            self._activity[decl_id] = seq
            self._withdrawn.discard(decl_id)
            self._named[seq] = decl_id

    def withdrawn(self, decl_id: str) -> None:
        if decl_id in self._activity:
            self._withdrawn.add(decl_id)

    def notification(self, nid: str, seq: int) -> None:
        self._notifications[seq] = nid

    def of_activity(self, decl_id: str) -> str | None:
        seq = self._activity.get(decl_id)
        return None if seq is None else reference(seq)

    def next_for(self, decl_id: str, seq: int) -> str:
        """The reference ``decl_id`` has once declared at ``seq`` (kept if it is in force)."""
        current = self._activity.get(decl_id)
        if current is not None and decl_id not in self._withdrawn:
            return reference(current)
        return reference(seq)

    def named(self, seq: int) -> tuple[str, str] | None:
        """("activity" | "notification", id) of the reference ``seq`` (a seq is one event: one or the other)."""
        decl_id = self._named.get(seq)
        if decl_id is not None:
            return ("activity", decl_id)
        nid = self._notifications.get(seq)
        return None if nid is None else ("notification", nid)
