"""Answers reach the sender, and an objection stays open until it is answered.

Acknowledging or objecting to a notification sends a notification back to
the party it came from (``answer``), on its inbox and its stream. An
objection's answer must itself be answered: the originator acknowledges it
(or objects back), amends the activity, or withdraws it; until then the
objection is open, and the answer waits in the originator's inbox with a
deadline like any other. The objector is told how it was answered. An
answer to an answer that needs none (an acknowledgement's) notifies nobody,
so a conversation never loops.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any

from deconflict.service.notifications import Answer, Notification, NotificationKind
from deconflict.service.notify import Deadlines

#: Notification kinds whose answer is news to nobody.
SILENT = frozenset({NotificationKind.ESCALATION})


def reply_to(n: Notification, answer: Answer, comment: str, party: str, member: str, now: datetime,
             deadlines: Deadlines, subject_kind: str) -> Notification | None:
    """The notification that carries an answer to ``n`` back to its sender, or None."""
    sender = n.from_party
    if not sender or sender == party or n.kind in SILENT:
        return None
    if n.kind is NotificationKind.ANSWER and not n.needs_answer:
        return None
    objection = answer is Answer.OBJECTED and n.kind is not NotificationKind.ANSWER
    closing = n.kind is NotificationKind.ANSWER  # the originator answers an objection
    about = n.detail.get("about") or {}
    ref = about.get("reference") if isinstance(about, dict) else None
    target = f"{n.subject}" + (f" ({ref})" if ref else "")
    if closing:
        text = f"{party} {answer.value} your objection about {target} ({n.reference})"
    else:
        text = f"{party} {answer.value} {n.reference or n.id} about {target}"
    if comment:
        text += f": {comment}"
    if objection:
        text += ". The objection stays open until you acknowledge it, amend or withdraw"
    remind, escalate = deadlines.stamp(sender, subject_kind, now)
    detail: dict[str, Any] = {
        "in_reply_to": n.id, "in_reply_to_reference": n.reference, "answer": answer.value, "comment": comment,
        "by": {"party": party, "member": member}, "about": about or None,
        "closes_objection": n.detail.get("in_reply_to") if closing else None,
    }
    return Notification(
        id=secrets.token_hex(8), party=sender, kind=NotificationKind.ANSWER, subject=n.subject, from_party=party,
        summary=text, detail=detail, sent_at=now, deadline=remind, escalate_at=escalate,
        urgent=objection, needs_answer=objection,
    )


def mark_amendments(notes: list[Notification], open_objections: list[Notification]) -> list[Notification]:
    """The amended activity's own notices, to a party whose objection the amendment
    answers, say so: the objector reads one message, not a new override that seems
    to ignore its objection."""
    by_party = {n.party: n for n in open_objections}
    out = []
    for note in notes:
        objection = by_party.get(note.party)
        if objection is None:
            out.append(note)
            continue
        out.append(replace(
            note, summary=f"{note.summary} (amended in answer to your objection {objection.reference})",
            detail={**note.detail, "in_reply_to": objection.id, "in_reply_to_reference": objection.reference,
                    "answer": "amended", "closes_objection": objection.id}))
    return out


def amended_notices(open_objections: list[Notification], owner: str, activity_id: str, reference: str | None,
                    verdict: str, now: datetime, deadlines: Deadlines, kind: str,
                    already: set[str]) -> list[Notification]:
    """Tell each party whose objection an amendment answers (unless the amended
    activity's own check tells it anyway)."""
    out = []
    for n in open_objections:
        if n.party in already or n.party == owner:
            continue
        already.add(n.party)
        remind, escalate = deadlines.stamp(n.party, kind, now)
        ref = f" ({reference})" if reference else ""
        out.append(Notification(
            id=secrets.token_hex(8), party=n.party, kind=NotificationKind.ANSWER, subject=activity_id,
            from_party=owner,
            summary=f"{owner} amended {activity_id}{ref} in answer to your objection {n.reference}; "
                    f"its verdict is now {verdict}",
            detail={"in_reply_to": n.id, "in_reply_to_reference": n.reference, "answer": "amended",
                    "comment": "", "by": {"party": owner, "member": ""}, "about": n.detail.get("about"),
                    "closes_objection": n.id},
            sent_at=now, deadline=remind, escalate_at=escalate, needs_answer=False,
        ))
    return out


def recipients(notes: list[Notification], owner: str, now: datetime) -> list[dict[str, Any]]:
    """The originator's view: for each recipient party, each notification about
    the activity with when it was sent, delivered, answered, and the comment."""
    from deconflict.store.documents import format_time

    def t(x: datetime | None) -> str | None:
        return None if x is None else format_time(x)

    by_party: dict[str, list[dict[str, Any]]] = {}
    for n in sorted(notes, key=lambda n: n.seq):
        if n.party == owner or n.kind in (NotificationKind.ANSWER, NotificationKind.ESCALATION):
            continue
        late = now - n.deadline if n.overdue(now) else None
        by_party.setdefault(n.party, []).append({
            "notification": n.id, "reference": n.reference, "kind": n.kind.value, "status": n.status(),
            "sent_at": t(n.sent_at), "delivered_at": t(n.delivered_at), "answered_at": t(n.answered_at),
            "answered_by": n.answered_by or None, "comment": n.comment or None, "deadline": t(n.deadline),
            "overdue": n.overdue(now), "overdue_s": None if late is None else int(late.total_seconds()),
            "objection_open": n.objection_open(), "resolved": n.resolved or None,
        })
    out = []
    for party, items in sorted(by_party.items()):
        last = items[-1]
        out.append({"party": party, "status": last["status"], "answered_at": last["answered_at"],
                    "overdue": last["overdue"], "reference": last["reference"],
                    "summary": status_line(party, last), "notifications": items})
    return out


def status_line(party: str, item: dict[str, Any]) -> str:
    """'coalition acknowledged 14:02Z', 'russia pending (overdue 2 h)'."""
    if item["status"] in ("acknowledged", "objected"):
        return f"{party} {item['status']} {item['answered_at'][11:16]}Z ({item['reference']})"
    text = f"{party} pending ({item['status']})"
    if item["overdue"]:
        s = item["overdue_s"] or 0
        text = f"{party} pending (overdue {s // 3600} h {s % 3600 // 60} min)" if s >= 3600 else \
            f"{party} pending (overdue {max(1, s // 60)} min)"
    return text
