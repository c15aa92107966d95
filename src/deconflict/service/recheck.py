"""Nothing in force changes unnoticed: re-checking accepted activities.

When a measure is agreed, imposed, changed or withdrawn, every accepted
activity it can concern is checked again, and both sides are told what
changed: the activity's owner ("your accepted fire F7 now violates NFA X1, in
force since 20:05Z") and the measure's owner. The candidates are the
declarations whose parts meet the measure's box (grown by the caution
margins) during its window, old and new version alike
(:meth:`Engine.declarations_meeting`), so the work is bounded by what is
near, not by the whole store; a line governs without a box, so for a line the
window alone bounds it.

A site or movement declared, changed or withdrawn needs nothing more: the
rules are symmetric, so its own check lists every accepted activity it now
conflicts with, and their owners are told by the submit (or the withdrawal).
A settings change (the caution margins) changes only cautions, which notify
nobody: margins grow footprints for cautions, never for a violation or a
conflict. Current findings, cautions included, are computed when read
(``GET /v1/activities/{id}``).

:func:`findings_about` is the one place the re-check calls the engine
(:meth:`Engine.check_measure`: the findings a full check gives about that one
measure, without the rest of the check), so a vectorised ``Engine.recheck``
can replace it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deconflict.engine import Engine
from deconflict.engine.recheck import reach_box
from deconflict.engine.rules import horizontal_reach
from deconflict.model import Declaration, Finding, FindingKind, Measure
from deconflict.service.disclosure import visible
from deconflict.service.notifications import Notification, NotificationKind
from deconflict.service.notify import NOTIFYING, Deadlines, activity_head, what
from deconflict.service.wire import encode_finding
from deconflict.store.documents import encode_declaration, encode_measure, format_time

VERB = {FindingKind.VIOLATION: "now violates", FindingKind.CONFLICT: "now conflicts with",
        FindingKind.COORDINATION_REQUIRED: "now needs coordination under"}


def candidates(engine: Engine, measures: list[Measure]) -> list[Declaration]:
    """Accepted activities the measures (versions of one) can give a finding to."""
    margins = engine.margins
    seen: dict[str, Declaration] = {}
    for m in measures:
        # The engine's own bound for what the measure can reach (a line's area of
        # application, not the globe): a re-check then costs what is near the measure.
        box = reach_box(engine.measure_entry(m), horizontal_reach(margins))
        for d in engine.declarations_meeting(box, m.window.start - margins.time, m.window.end + margins.time):
            if m.binds_party(d.owner) and m.applies_to_kind(d.kind):
                seen.setdefault(d.id, d)
    return [seen[k] for k in sorted(seen)]


def findings_about(engine: Engine, decls: list[Declaration], measure_id: str) -> dict[str, list[Finding]]:
    """Each declaration's notifying findings about the measure, as the engine stands."""
    out: dict[str, list[Finding]] = {}
    for d in decls:
        found = [f for f in engine.check_measure(d, measure_id) if f.kind in NOTIFYING]
        if found:
            out[d.id] = found
    return out


@dataclass
class Change:
    """What a measure change did to the accepted activities near it."""

    measure: Measure
    event: str  # "in force", "changed", "withdrawn"
    before: dict[str, list[Finding]]
    after: dict[str, list[Finding]]


def notices(change: Change, decls: dict[str, Declaration], refs: dict[str, str | None], deadlines: Deadlines,
            now: datetime) -> list[Notification]:
    """Both sides of each activity whose findings about the measure changed."""
    m = change.measure
    mname = f"{m.kind.value.replace('_', ' ')} {m.id}" + (f" '{m.label}'" if m.label else "")
    since = f"{change.event} since {now:%Y-%m-%d %H:%M}Z"
    out: list[Notification] = []
    for did in sorted(set(change.before) | set(change.after)):
        before, after = change.before.get(did, []), change.after.get(did, [])
        if _key(before) == _key(after):
            continue
        d = decls[did]
        now_violates = bool(after)
        verb = VERB[max(after, key=lambda f: f.kind.severity).kind] if after else "no longer has a finding under"
        for party, own in ((d.owner, True), (m.owner, False)):
            if not own and party == d.owner:
                continue
            head = activity_head(d, party, refs.get(did))
            subject = (f"your accepted {what(d, party, refs.get(did))}" if own
                       else f"{d.owner}'s accepted {what(d, party, refs.get(did))}")
            text = f"{subject} {verb} {mname}, {since}"
            if after:
                text += ": " + "; ".join(_measure_line(f) for f in after[:3])
            needs = own and now_violates
            remind, escalate = deadlines.stamp(party, d.kind.value, now)
            detail: dict[str, Any] = {
                "about": head, "measure": encode_measure(m), "measure_event": change.event,
                "findings": [encode_finding(f) for f in after],
                "before": [encode_finding(f) for f in before],
                "activity": encode_declaration(d) if visible(d, party) else None,
                "since": format_time(now),
            }
            out.append(Notification(
                id=secrets.token_hex(8), party=party, kind=NotificationKind.RECHECK, subject=did,
                from_party=m.owner if own else d.owner, summary=text, detail=detail, sent_at=now,
                deadline=remind, escalate_at=escalate, urgent=needs, needs_answer=needs,
            ))
    return out


def _measure_line(f: Finding) -> str:
    when = f" {f.overlap.start:%H:%M}-{f.overlap.end:%H:%M}Z" if f.overlap is not None else ""
    return f"{f.kind.value.replace('_', ' ')} ({f.rule}){when}"


def _key(fs: list[Finding]) -> set[tuple[str, str]]:
    return {(f.rule, f.kind.value) for f in fs}


def measure_change(engine: Engine, measure: Measure, event: str) -> tuple[Change, list[Declaration]]:
    """What putting ``measure`` in force (a new version replacing its old one, if any)
    changes in the findings of the accepted activities it can concern. The engine is
    left as it was: the caller applies the measure once its events are durable."""
    old = next((m for m in engine.measures() if m.id == measure.id), None)
    near = candidates(engine, [m for m in (old, measure) if m is not None])
    before = findings_about(engine, near, measure.id) if old is not None else {}
    engine.add_measure(measure, replace=True)
    try:
        after = findings_about(engine, near, measure.id)
    finally:
        if old is not None:
            engine.add_measure(old, replace=True)
        else:
            engine.remove_measure(measure.id)
    return Change(measure, event, before, after), near
