"""A measure's whole life: proposed, accepted, declined, in force, changed, withdrawn.

- A bound party may decline a proposal, with a comment; the proposer is told,
  and the proposal ends (a measure that binds a party is in force only with
  its agreement). The other bound parties' requests to accept it are closed.
- Its owner (or an administrator) withdraws a measure in force: the parties it
  bound are told, and so are the owners of the accepted activities it had
  findings with (service/recheck.py). A pending proposal can be withdrawn too.
- Every step is kept as the measure's agreement history, listed with the
  measures in force (``GET /v1/measures``, ``GET /v1/measures/{id}``).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from deconflict.errors import InvalidInput, NotFound
from deconflict.service.auth import Action, Forbidden, Principal
from deconflict.service.notifications import Notification, NotificationKind
from deconflict.store.documents import encode_measure, format_time
from deconflict.store.events import Event, EventDraft

if TYPE_CHECKING:
    from deconflict.service.hotline import Hotline

MAX_COMMENT = 4000


def absorb(h: Hotline, e: Event) -> None:
    """The history of each measure; a declined or withdrawn proposal ends."""
    p = e.payload
    mid = p.get("id") or e.subject
    step: dict[str, Any] = {"event": e.type, "actor": e.actor, "at": format_time(e.recorded_at),
                            "reference": f"DC-{e.seq:06d}"}
    for k in ("version", "party", "comment", "imposed", "completed_by"):
        if k in p:
            step[k] = p[k]
    if e.type == "agreement.proposed":
        step["version"] = p.get("version")
    h.measure_history.setdefault(mid, []).append(step)
    if e.type in ("agreement.accepted", "agreement.in_force"):
        # Accepting answers the request to accept; in force, none is waiting any more.
        for n in h.inbox.about(mid):
            if n.kind is NotificationKind.MEASURE_PROPOSED and n.open() and (
                    e.type == "agreement.in_force" or n.party == p.get("party")):
                h.inbox.resolve(n.id, "accepted" if e.type == "agreement.accepted" else "in force",
                                e.recorded_at)
    if e.type in ("agreement.declined", "agreement.withdrawn"):
        prop = h.proposals.get(mid)
        if prop is not None and prop.version == p.get("version"):
            del h.proposals[mid]
        for n in h.inbox.about(mid):
            if n.kind is NotificationKind.MEASURE_PROPOSED and n.open():
                h.inbox.resolve(n.id, e.type.split(".")[1], e.recorded_at)


def decline(h: Hotline, who: Principal, measure_id: str, comment: str, version: int | None) -> dict[str, Any]:
    who.require(Action.ACCEPT_MEASURE)
    if not comment.strip():
        raise InvalidInput("comment", "a decline needs a comment saying why")
    if len(comment) > MAX_COMMENT:
        raise InvalidInput("comment", f"must be at most {MAX_COMMENT:,} characters")
    with h._writing():
        prop = h.proposals.get(measure_id)
        if prop is None:
            raise NotFound("measure proposal", measure_id)
        if version is not None and version != prop.version:
            raise InvalidInput("version", f"the proposal is at version {prop.version}, not {version}")
        if who.party not in prop.bound or who.party == prop.measure.owner:
            raise Forbidden(f"{who.party} is not asked to accept {measure_id}")
        now = h.clock()
        m = prop.measure
        remind, escalate = h.deadlines.stamp(prop.proposer, "measure", now)
        note = Notification(
            secrets.token_hex(8), prop.proposer, NotificationKind.MEASURE_DECLINED, measure_id, who.party,
            f"{who.party} declined {m.kind.value.replace('_', ' ')} {measure_id} (version {prop.version}): {comment}",
            {"measure": encode_measure(m), "version": prop.version, "comment": comment,
             "by": {"party": who.party, "member": who.member}},
            now, remind, escalate_at=escalate, needs_answer=False)
        h._append([
            EventDraft("agreement.declined", who.party, measure_id,
                       {"id": measure_id, "version": prop.version, "party": who.party, "comment": comment}),
            EventDraft("notification.sent", who.party, note.id, note.payload()),
        ])
        return {"id": measure_id, "version": prop.version, "declined": True, "proposer_told": prop.proposer}


def withdraw(h: Hotline, who: Principal, measure_id: str) -> dict[str, Any]:
    who.require(Action.PROPOSE_MEASURE)
    with h._writing():
        current = next((m for m in h.service.measures() if m.id == measure_id), None)
        prop = h.proposals.get(measure_id)
        owner = current.owner if current is not None else prop.measure.owner if prop is not None else None
        if owner is None:
            raise NotFound("measure", measure_id)
        if not who.is_admin and owner != who.party:
            raise Forbidden(f"measure {measure_id} belongs to {owner}")
        actor = who.party or "admin"
        now = h.clock()
        if current is None:
            assert prop is not None
            h._append([EventDraft("agreement.withdrawn", actor, measure_id,
                                  {"id": measure_id, "version": prop.version})])
            return {"id": measure_id, "withdrawn": "proposal", "version": prop.version}
        bound = sorted(h._bound(current) - {who.party})
        name = f"{current.kind.value.replace('_', ' ')} {measure_id}" + (f" '{current.label}'" if current.label else "")
        notes = []
        for p in bound:
            remind, escalate = h.deadlines.stamp(p, "measure", now)
            notes.append(Notification(
                secrets.token_hex(8), p, NotificationKind.MEASURE_WITHDRAWN, measure_id, owner,
                f"{actor} withdrew {name}; it no longer binds you", {"measure": encode_measure(current),
                                                                      "version": h.versions.get(measure_id)},
                now, remind, escalate_at=escalate, needs_answer=False))
        extra = [EventDraft("notification.sent", actor, n.id, n.payload()) for n in notes]
        if prop is not None:
            extra.insert(0, EventDraft("agreement.withdrawn", actor, measure_id,
                                       {"id": measure_id, "version": prop.version}))
        h._put_measure(None, measure_id, actor, extra, "withdrawn")
        return {"id": measure_id, "withdrawn": "in force", "version": h.versions.get(measure_id),
                "told": bound}


def agreements(h: Hotline) -> dict[str, Any]:
    """For each measure in force: its version, who proposed it, who agreed, and its history."""
    out: dict[str, Any] = {}
    for m in h.service.measures():
        steps = h.measure_history.get(m.id, [])
        version = h.versions.get(m.id, 1)
        forced = [s for s in steps if s["event"] == "agreement.in_force" and s.get("version") == version]
        accepted = sorted({s["party"] for s in steps if s["event"] == "agreement.accepted"
                           and s.get("version") == version})
        out[m.id] = {"version": version, "in_force_since": forced[-1]["at"] if forced else
                     next((s["at"] for s in reversed(steps) if s["event"] == "measure.added"), None),
                     "put_in_force_by": forced[-1]["actor"] if forced else m.owner,
                     "imposed": bool(forced and forced[-1].get("imposed")),
                     "accepted_by": accepted, "history": steps}
    return out


def one(h: Hotline, who: Principal, measure_id: str) -> dict[str, Any]:
    who.require(Action.READ)
    with h._reading():
        current = next((m for m in h.service.measures() if m.id == measure_id), None)
        prop = h.proposals.get(measure_id)
        if current is None and prop is None and measure_id not in h.measure_history:
            raise NotFound("measure", measure_id)
        return {"id": measure_id, "in_force": None if current is None else encode_measure(current),
                "version": h.versions.get(measure_id) if current is not None else None,
                "proposed": None if prop is None else prop.to_json(),
                "history": h.measure_history.get(measure_id, [])}
