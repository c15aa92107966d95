"""Escalation reaches people, in two steps.

At its first deadline an unanswered notification reminds the recipient
party's liaisons (``notification.reminded``, on that party's stream and
marked in its inbox). At its second deadline it is escalated
(``notification.escalated``): the administrators see it (their inbox and
stream hold every notification) and the originator is sent a notification
saying who has not answered what. Each step happens once. The deadlines are
the recipient's settings, by the kind of what the notification is about
(:mod:`deconflict.service.settings`).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from deconflict.service.notifications import Notification, NotificationKind
from deconflict.store.documents import format_time
from deconflict.store.events import EventDraft

SYSTEM = "system"


def due(notes: list[Notification], now: datetime) -> tuple[list[Notification], list[Notification]]:
    """(to remind, to escalate) at ``now``."""
    remind = [n for n in notes if n.open() and now >= n.deadline and n.reminded_at is None]
    escalate = [n for n in notes if n.open() and now >= (n.escalate_at or n.deadline) and n.escalated_at is None]
    return remind, escalate


def drafts(remind: list[Notification], escalate: list[Notification], parties: set[str],
           now: datetime) -> list[EventDraft]:
    out: list[EventDraft] = [
        EventDraft("notification.reminded", SYSTEM, n.id, {"id": n.id, "party": n.party, "to": ["liaison"]})
        for n in remind
    ]
    for n in escalate:
        told = n.from_party if n.from_party in parties and n.from_party != n.party else None
        out.append(EventDraft("notification.escalated", SYSTEM, n.id,
                              {"id": n.id, "party": n.party, "to": ["admin", *([told] if told else [])]}))
        if told is not None:
            note = _to_originator(n, told, now)
            out.append(EventDraft("notification.sent", SYSTEM, note.id, note.payload()))
    return out


def _to_originator(n: Notification, party: str, now: datetime) -> Notification:
    about = n.detail.get("about") if isinstance(n.detail.get("about"), dict) else None
    ref = about.get("reference") if about else None
    what = n.subject + (f" ({ref})" if ref else "")
    text = (f"{n.party} has not answered {n.reference or n.id} about {what}, sent {n.sent_at:%Y-%m-%d %H:%M}Z: "
            f"due {n.deadline:%H:%M}Z, escalated to the administrators")
    detail: dict[str, Any] = {"in_reply_to": n.id, "in_reply_to_reference": n.reference, "about": about,
                              "recipient": n.party, "deadline": format_time(n.deadline)}
    return Notification(id=secrets.token_hex(8), party=party, kind=NotificationKind.ESCALATION, subject=n.subject,
                        from_party=n.party, summary=text, detail=detail, sent_at=now, deadline=now,
                        needs_answer=False, urgent=True)


def summary(notes: list[Notification], now: datetime) -> dict[str, Any]:
    """Counts for an inbox badge."""
    return {
        "total": len(notes),
        "unanswered": sum(n.open() for n in notes),
        "overdue": sum(n.overdue(now) for n in notes),
        "urgent": sum(n.open() and n.urgent for n in notes),
        "reminded": sum(n.open() and n.reminded_at is not None for n in notes),
        "escalated": sum(n.open() and n.escalated_at is not None for n in notes),
        "undelivered": sum(n.delivered_at is None for n in notes),
    }
