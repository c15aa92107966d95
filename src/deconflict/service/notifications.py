"""Notifications: messages to a party that must act on them.

Lifecycle: sent -> delivered (its stream or a poll handed it over) ->
acknowledged or objected (with a comment). Each step is an event with its
time. An unanswered notification past its deadline is overdue and escalates
once. Acknowledging is not approving: it records that the party knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from deconflict.errors import InvalidInput, NotFound
from deconflict.service.references import reference
from deconflict.store.documents import format_time


class NotificationKind(StrEnum):
    CONFLICT = "conflict"  # an activity conflicts with your declaration
    MEASURE_TOUCHED = "measure_touched"  # an activity violates or needs coordination under your measure
    OVERRIDE = "override"  # an activity was accepted over its findings
    MEASURE_PROPOSED = "measure_proposed"  # a measure that would bind you was proposed
    WITHDRAWAL = "withdrawal"  # an activity you were told about was withdrawn
    PRESENCE = "presence"  # a site or protected movement was declared where your accepted activity is (urgent)
    DECLARATION = "declaration"  # a party that asks you to acknowledge its declarations declared one
    ANSWER = "answer"  # a party acknowledged or objected to your notification (an objection waits for you)
    RECHECK = "recheck"  # something came into force or changed, and an accepted activity's findings with it
    MEASURE_DECLINED = "measure_declined"  # a bound party declined your proposal
    MEASURE_WITHDRAWN = "measure_withdrawn"  # a measure that bound you was withdrawn
    ESCALATION = "escalation"  # a party has not answered your notification past its second deadline
    TRACK_ALERT = "track_alert"  # a live track breaches a measure or a declaration, or comes too close
    PROBING = "probing"  # a party used its budget of checks touching your hidden declarations


class Answer(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    OBJECTED = "objected"


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    party: str
    kind: NotificationKind
    subject: str  # the activity or measure concerned
    from_party: str
    summary: str
    detail: dict[str, Any]
    sent_at: datetime
    deadline: datetime
    seq: int = 0
    delivered_at: datetime | None = None
    answer: Answer | None = None
    answered_at: datetime | None = None
    answered_by: str = ""
    comment: str = ""
    escalated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False
    needs_answer: bool = True  # informational ones (answers to acknowledgements, escalations) do not
    escalate_at: datetime | None = None  # the second deadline: administrators and the originator are told
    reminded_at: datetime | None = None
    resolved: str = ""  # an objection answered by its originator: acknowledged, amended or withdrawn
    resolved_at: datetime | None = None

    @property
    def reference(self) -> str:
        return reference(self.seq) if self.seq else ""

    def status(self) -> str:
        if self.answer is not None:
            return self.answer.value
        return "delivered" if self.delivered_at is not None else "sent"

    def open(self) -> bool:
        """Waiting for its recipient's answer."""
        return self.needs_answer and self.answer is None and not self.resolved

    def overdue(self, now: datetime) -> bool:
        return self.open() and now >= self.deadline

    def objection_open(self) -> bool:
        """An objection waits until the originator acknowledges it, amends or withdraws."""
        return self.answer is Answer.OBJECTED and not self.resolved

    def payload(self) -> dict[str, Any]:
        """The notification.sent event payload."""
        return {
            "id": self.id, "party": self.party, "kind": self.kind.value, "subject": self.subject,
            "from_party": self.from_party, "summary": self.summary, "detail": self.detail,
            "deadline": format_time(self.deadline), "urgent": self.urgent, "needs_answer": self.needs_answer,
            "escalate_at": None if self.escalate_at is None else format_time(self.escalate_at),
        }

    def to_json(self, now: datetime) -> dict[str, Any]:
        def t(x: datetime | None) -> str | None:
            return None if x is None else format_time(x)

        return {
            **self.payload(), "status": self.status(), "overdue": self.overdue(now),
            "sent_at": t(self.sent_at), "delivered_at": t(self.delivered_at),
            "answered_at": t(self.answered_at), "answered_by": self.answered_by or None,
            "comment": self.comment or None, "escalated_at": t(self.escalated_at),
            "reference": self.reference, "reminded_at": t(self.reminded_at),
            "objection": None if self.answer is not Answer.OBJECTED else {
                "open": self.objection_open(), "resolved": self.resolved or None,
                "resolved_at": t(self.resolved_at)},
        }


class Inbox:
    """All notifications, by id, rebuilt from the log."""

    def __init__(self) -> None:
        self._by_id: dict[str, Notification] = {}
        self._by_subject: dict[str, list[str]] = {}

    def sent(self, payload: dict[str, Any], at: datetime, seq: int) -> None:
        from deconflict.store.documents import parse_time

        n = Notification(
            id=payload["id"], party=payload["party"], kind=NotificationKind(payload["kind"]),
            subject=payload["subject"], from_party=payload["from_party"], summary=payload["summary"],
            detail=payload["detail"], sent_at=at, deadline=parse_time(payload["deadline"], "deadline"), seq=seq,
            urgent=bool(payload.get("urgent", False)), needs_answer=bool(payload.get("needs_answer", True)),
            escalate_at=None if payload.get("escalate_at") is None else parse_time(payload["escalate_at"],
                                                                                   "escalate_at"),
        )
        self._by_id[n.id] = n
        self._by_subject.setdefault(n.subject, []).append(n.id)

    def get(self, nid: str, party: str | None = None) -> Notification:
        n = self._by_id.get(nid)
        if n is None or (party is not None and n.party != party):
            raise NotFound("notification", nid)
        return n

    def delivered(self, nid: str, at: datetime) -> None:
        n = self._by_id[nid]
        if n.delivered_at is None:
            self._by_id[nid] = replace(n, delivered_at=at)

    def answered(self, nid: str, answer: Answer, member: str, comment: str, at: datetime) -> None:
        n = self._by_id[nid]
        self._by_id[nid] = replace(n, answer=answer, answered_by=member, comment=comment, answered_at=at,
                                   delivered_at=n.delivered_at or at)

    def escalated(self, nid: str, at: datetime) -> None:
        self._by_id[nid] = replace(self._by_id[nid], escalated_at=at)

    def reminded(self, nid: str, at: datetime) -> None:
        self._by_id[nid] = replace(self._by_id[nid], reminded_at=at)

    def resolve(self, nid: str, how: str, at: datetime) -> None:
        n = self._by_id.get(nid)
        if n is not None and not n.resolved:
            self._by_id[nid] = replace(n, resolved=how, resolved_at=at)

    def about(self, subject: str) -> list[Notification]:
        return [self._by_id[i] for i in self._by_subject.get(subject, ())]

    def for_party(self, party: str) -> list[Notification]:
        return [n for n in self._by_id.values() if n.party == party]

    def all(self) -> list[Notification]:
        return list(self._by_id.values())

    @staticmethod
    def check_answer(n: Notification, answer: Answer, comment: str) -> None:
        if n.answer is not None:
            raise InvalidInput("answer", f"notification {n.id} was already {n.answer.value}")
        if answer is Answer.OBJECTED and not comment.strip():
            raise InvalidInput("comment", "an objection needs a comment saying why")
        if len(comment) > 4000:
            raise InvalidInput("comment", "must be at most 4,000 characters")
