"""Notifications a person can act on: who, what, when, where, why, and a reference.

Each notification about an activity says who declared it, its kind, label and
window (the label only when the activity is shared with the recipient), the
findings that concern the recipient from the recipient's side (its own object,
the separation, the time overlap), the activity's geometry when it is shared
with the recipient, an override's reason verbatim, and the activity's
reference (``DC-000123``); the notification has its own reference too.

Presence is never refused: a site, or a movement of a humanitarian party,
is information, not a request. Declared where accepted activities already
are, it is accepted; their owners are told, as urgent, and must answer.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from deconflict.model import CheckResult, Declaration, Finding, FindingKind, Measure, PartyKind
from deconflict.model.declaration import DeclarationKind
from deconflict.service.disclosure import visible
from deconflict.service.notifications import Notification, NotificationKind
from deconflict.service.settings import Settings
from deconflict.service.wire import encode_finding
from deconflict.store.documents import encode_declaration, format_time

NOTIFYING = frozenset({FindingKind.VIOLATION, FindingKind.CONFLICT, FindingKind.COORDINATION_REQUIRED})


def is_presence(activity: Declaration, kinds: dict[str, PartyKind]) -> bool:
    """Whether declaring ``activity`` states a presence (never refused) rather than
    asks to act (refused on a violation or conflict unless overridden).

    Sites are presence: people are where they are. A movement is presence when
    its party is humanitarian (a convoy) or it says it is protected. Fires,
    flights and movements of forces are requests: refusing them is what stops
    a strike on a hospital or a column into a line."""
    if activity.kind is DeclarationKind.SITE:
        return True
    if activity.kind is DeclarationKind.MOVEMENT:
        if kinds.get(activity.owner) is PartyKind.HUMANITARIAN:
            return True
        return str(getattr(activity, "category", "")) == "protected"
    return False


def shared_with(activity: Declaration) -> str | list[str]:
    return "all" if activity.share_with.everyone else sorted(activity.share_with.parties)


def window_text(start: datetime, end: datetime) -> str:
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}Z"
    return f"{start:%Y-%m-%d %H:%M}Z-{end:%Y-%m-%d %H:%M}Z"


def what(activity: Declaration, party: str, reference: str | None) -> str:
    label = f" '{activity.label}'" if activity.label and visible(activity, party) else ""
    ref = f" ({reference})" if reference else ""
    return f"{activity.kind.value} {activity.id}{label}{ref}"


def finding_line(f: Finding) -> str:
    """One finding from the recipient's side: its object, how close, when."""
    label = f" '{f.object_label}'" if f.object_label else ""
    when = f", {window_text(f.overlap.start, f.overlap.end)}" if f.overlap is not None else ""
    sep = f" at {f.separation_m:.0f} m" if f.object_type == "declaration" else ""
    kind = f.kind.value.replace("_", " ")
    return f"{kind} with your {f.object_kind.replace('_', ' ')} {f.object_id}{label}{sep}{when}"


def activity_head(activity: Declaration, party: str, reference: str | None) -> dict[str, Any]:
    """What the recipient may know of the activity: always who, kind, window and
    reference; label and geometry only when it is shared with the recipient."""
    shared = visible(activity, party)
    return {
        "id": activity.id, "reference": reference, "owner": activity.owner, "kind": activity.kind.value,
        "label": activity.label if shared else None,
        "window": {"start": format_time(activity.window.start), "end": format_time(activity.window.end)},
        "shared_with_you": shared,
    }


@dataclass
class Deadlines:
    """Deadlines of notifications, from each recipient's settings."""

    settings: Settings
    default: Callable[[], timedelta]  # the service's (``--ack-deadline``), read when a notification is sent

    def stamp(self, party: str, kind: str, now: datetime) -> tuple[datetime, datetime]:
        d = self.settings.of(party).deadline(kind, self.default())
        return now + d.remind, now + d.escalate


Targets = tuple[dict[str, list[Finding]], dict[str, NotificationKind], list[str]]


def targets_of(*, who: str, activity: Declaration, result: CheckResult, measures: dict[str, Measure],
               parties: set[str], presence: bool, must_acknowledge: tuple[str, ...]) -> Targets:
    """Who is told of an activity, with the findings that concern each, and what
    kind of notification each gets; then the parties asked only to acknowledge it.
    A dry run names these (``will_notify``) without building the notifications."""
    by_party: dict[str, list[Finding]] = {}
    kind_of: dict[str, NotificationKind] = {}
    for f in result.findings:
        if f.kind not in NOTIFYING:
            continue
        targets: set[str] = {f.owner}
        if f.object_type == "declaration":
            kind_of.setdefault(f.owner, NotificationKind.PRESENCE if presence else NotificationKind.CONFLICT)
        else:
            m = measures.get(f.object_id)
            if m is not None:
                # Other bound parties only if the activity is shared with them: a fire
                # shared with the coalition alone, violating M3 (binds all), told russia
                # and sdf when and roughly where it fell. The owner is always told.
                targets |= {p for p in parties if m.binds_party(p) and visible(activity, p)}
            for t in targets:
                kind_of.setdefault(t, NotificationKind.MEASURE_TOUCHED)
        for t in targets - {who}:
            by_party.setdefault(t, []).append(f)
    asked = [p for p in must_acknowledge if p not in by_party and p != who and p in parties
             and visible(activity, p)] if presence else []
    return by_party, kind_of, asked


def activity_notices(
    *, who: str, activity: Declaration, reference: str | None, result: CheckResult,
    measures: dict[str, Measure], parties: set[str], override: bool,
    override_reason: str, presence: bool, must_acknowledge: tuple[str, ...], deadlines: Deadlines,
    now: datetime,
) -> list[Notification]:
    """Owners of objects it conflicts with; parties bound by measures it touches
    (if it is shared with them; the measure's owner always); on a declaration
    by a party that asks for it, the parties that must acknowledge it."""
    by_party, kind_of, asked = targets_of(who=who, activity=activity, result=result, measures=measures,
                                          parties=parties, presence=presence, must_acknowledge=must_acknowledge)
    out = []
    doc = encode_declaration(activity)
    for party in sorted({*by_party, *asked}):
        findings = by_party.get(party, [])
        kind = kind_of.get(party, NotificationKind.DECLARATION)
        if override:
            kind = NotificationKind.OVERRIDE
        urgent = kind is NotificationKind.PRESENCE or (override and bool(findings))
        shared = visible(activity, party)
        head = activity_head(activity, party, reference)
        verb = "overrode findings and declared" if override else "declared"
        span = window_text(activity.window.start, activity.window.end)
        text = f"{who} {verb} {what(activity, party, reference)}, {span}"
        if findings:
            text += ": " + "; ".join(finding_line(f) for f in findings[:3])
            if len(findings) > 3:
                text += f"; and {len(findings) - 3} more"
        else:
            text += ": please acknowledge"
        if kind is NotificationKind.PRESENCE:
            text += ". Presence is not refused: answer, and change or withdraw your activity if it must"
        if override and override_reason:
            text += f". Reason given: {override_reason}"
        remind, escalate = deadlines.stamp(party, activity.kind.value, now)
        detail: dict[str, Any] = {
            "findings": [encode_finding(f) for f in findings], "verdict": result.verdict.value,
            "activity": doc if shared else None, "about": head,
            "override_reason": override_reason if override else None,
            "your_objects": sorted({f.object_id for f in findings}),
        }
        out.append(Notification(
            id=secrets.token_hex(8), party=party, kind=kind, subject=activity.id, from_party=who,
            summary=text, detail=detail, sent_at=now, deadline=remind, urgent=urgent, escalate_at=escalate,
        ))
    return out
