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

from deconflict.errors import AlreadyDecided, InvalidInput, NotFound
from deconflict.model import Measure
from deconflict.model.measure import BindsMode
from deconflict.service import recheck
from deconflict.service.auth import Action, Forbidden, Principal
from deconflict.service.deconflict import ADMIN, Change
from deconflict.service.notifications import Notification, NotificationKind
from deconflict.store.documents import encode_measure, format_time
from deconflict.store.events import Event, EventDraft

if TYPE_CHECKING:
    from deconflict.service.hotline import Hotline
    from deconflict.service.hotline.core import Core

MAX_COMMENT = 4000




def absorb(h: Core, e: Event) -> None:
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
        bound = sorted(bound_parties(h, current) - {who.party})
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
        put_in_force(h, None, measure_id, actor, extra, "withdrawn")
        return {"id": measure_id, "withdrawn": "in force", "version": h.versions.get(measure_id),
                "told": bound}


def agreements(h: Core) -> dict[str, Any]:
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


# -- proposed, accepted, put in force ------------------------------------------------
def bound_parties(h: Hotline, m: Measure) -> frozenset[str]:
    parties = set(h.service.parties())
    if m.kind.is_line:
        return frozenset(p for p, _s in m.sides)
    if m.binds.mode is BindsMode.LISTED:
        return frozenset(m.binds.parties)
    return frozenset(p for p in parties if m.binds.includes(p, m.owner))


def propose(h: Hotline, who: Principal, measure: Measure) -> dict[str, Any]:
    """In force at once if it binds only its owner or an administrator imposes
    it; otherwise proposed, and in force when every bound party has accepted."""
    who.require(Action.PROPOSE_MEASURE)
    if not who.is_admin and measure.owner != who.party:
        raise Forbidden(f"{who.party} may only propose measures it owns")
    with h._writing():
        h.service.engine.validate_measure(measure)
        # A new version only from the owner of the one in force or proposed: russia
        # proposing "M2" (coalition's ROZ) as its own, binding only itself, replaced
        # coalition's M2 at once (201).
        current = [m for m in h.service.measures() if m.id == measure.id]
        pending = h.proposals.get(measure.id)
        for prior in [*current, *([pending.measure] if pending else [])]:
            if not who.is_admin and prior.owner != measure.owner:
                raise Forbidden(f"measure {measure.id} belongs to {prior.owner}")
        bound = bound_parties(h, measure)
        version = h.versions.get(measure.id, 0) + 1
        others = bound - {measure.owner}
        if who.is_admin or not others:
            in_force = EventDraft("agreement.in_force", who.party or ADMIN, measure.id,
                                  {"id": measure.id, "version": version, "imposed": who.is_admin})
            now = h.clock()
            # An imposed measure binds parties that never agreed to it: they
            # must hear of it, not discover it on the map.
            told = [
                Notification(secrets.token_hex(8), p, NotificationKind.MEASURE_PROPOSED, measure.id,
                             measure.owner,
                             f"{measure.kind.value.replace('_', ' ')} {measure.id} imposed by an administrator"
                             + (f" '{measure.label}'" if measure.label else "") + " is in force",
                             {"measure": encode_measure(measure), "version": version, "imposed": True},
                             now, now + h.ack_deadline)
                for p in sorted(others)
            ] if who.is_admin else []
            extra = [in_force, *(EventDraft("notification.sent", ADMIN, n.id, n.payload()) for n in told)]
            put_in_force(h, measure, measure.id, who.party or ADMIN, extra, "in force" if not current
                              else "changed")
            return {"id": measure.id, "version": version, "in_force": True, "waiting_for": []}
        now = h.clock()
        notes = [
            Notification(secrets.token_hex(8), p, NotificationKind.MEASURE_PROPOSED, measure.id, who.party,
                         f"{who.party} proposes {measure.kind.value.replace('_', ' ')} {measure.id}"
                         + (f" '{measure.label}'" if measure.label else "") + f" (version {version})",
                         {"measure": encode_measure(measure), "version": version}, now, now + h.ack_deadline)
            for p in sorted(others)
        ]
        drafts = [EventDraft("agreement.proposed", who.party, measure.id,
                             {"measure": encode_measure(measure), "version": version, "bound": sorted(bound)}),
                  EventDraft("agreement.accepted", who.party, measure.id,
                             {"id": measure.id, "version": version, "party": measure.owner}),
                  *(EventDraft("notification.sent", who.party, n.id, n.payload()) for n in notes)]
        h._append(drafts)
        return {"id": measure.id, "version": version, "in_force": False, "waiting_for": sorted(others)}


def accept(h: Hotline, who: Principal, measure_id: str, version: int | None = None) -> dict[str, Any]:
    who.require(Action.ACCEPT_MEASURE)
    with h._writing():
        prop = h.proposals.get(measure_id)
        in_force = h.versions.get(measure_id) if any(
            m.id == measure_id for m in h.service.measures()) else None
        if prop is None or (version is not None and version != prop.version and version == in_force):
            if in_force is not None and (version is None or version == in_force):
                raise AlreadyDecided(f"measure {measure_id} version {in_force} is already in force")
            raise NotFound("measure proposal", measure_id)
        if version is not None and version != prop.version:
            raise InvalidInput("version", f"the proposal is at version {prop.version}, not {version}")
        if who.party not in prop.bound:
            raise Forbidden(f"{who.party} is not bound by {measure_id}")
        if who.party in prop.accepted:
            raise AlreadyDecided(f"{who.party} already accepted version {prop.version} of {measure_id}")
        drafts = [EventDraft("agreement.accepted", who.party, measure_id,
                             {"id": measure_id, "version": prop.version, "party": who.party})]
        if prop.accepted | {who.party} >= prop.bound:
            # The proposer put it in force: the log names it, and who completed the agreement.
            drafts.append(EventDraft("agreement.in_force", prop.proposer, measure_id,
                                     {"id": measure_id, "version": prop.version, "imposed": False,
                                      "completed_by": who.party}))
            put_in_force(h, prop.measure, measure_id, prop.proposer, drafts,
                              "changed" if in_force is not None else "in force")
            return {"id": measure_id, "version": prop.version, "in_force": True, "waiting_for": []}
        h._append(drafts)
        return {"id": measure_id, "version": prop.version, "in_force": False,
                "waiting_for": sorted(prop.bound - prop.accepted)}


def put_in_force(h: Hotline, measure: Measure | None, measure_id: str, actor: str, extra: list[EventDraft],
                 event: str) -> list[Event]:
    """Put a measure in force (None: withdraw it), re-check the accepted activities
    it concerns (service/recheck.py) and append it all in one transaction, so
    nothing comes into force unnoticed. Under ``h._writing()``."""
    engine = h.service.engine
    old = next((m for m in engine.measures() if m.id == measure_id), None)
    near = recheck.candidates(engine, [m for m in (old, measure) if m is not None])
    before = recheck.findings_about(engine, near, measure_id) if old is not None else {}
    if measure is not None:
        drafts = h.service.prepare([Change(measure=measure)], actor)
        engine.add_measure(measure, replace=True)
    else:
        drafts = [EventDraft("measure.withdrawn", actor, measure_id, {"id": measure_id})]
        engine.remove_measure(measure_id)
    try:
        after = recheck.findings_about(engine, near, measure_id) if measure is not None else {}
        subject = measure if measure is not None else old
        assert subject is not None
        notes = recheck.notices(recheck.Change(subject, event, before, after), {d.id: d for d in near},
                                {d.id: h.refs.of_activity(d.id) for d in near}, h.deadlines, h.clock())
        told = [EventDraft("notification.sent", actor, n.id, n.payload()) for n in notes]
        events = h.service.append([*drafts, *extra, *told])
    except BaseException:
        if old is not None:
            engine.add_measure(old, replace=True)
        elif measure is not None:
            engine.remove_measure(measure_id)
        raise
    h._after(events)
    return events


def import_objects(h: Hotline, changes: list[Change], actor: str = ADMIN) -> list[Event]:
    """An administrator's import (all or nothing, in one transaction). Declarations
    are the baseline picture, recorded unchecked; each measure coming into force
    re-checks the accepted activities it can concern, as an agreement does, and both
    sides are told, so nothing comes into force unnoticed."""
    with h._writing():
        now = h.clock()
        told: list[EventDraft] = []
        for i, ch in enumerate(changes):
            if ch.measure is None:
                continue
            try:
                h.service.engine.validate_measure(ch.measure)
            except InvalidInput as exc:
                raise (exc.within(f"[{i}]") if len(changes) > 1 else exc) from None
            change, near = recheck.measure_change(h.service.engine, ch.measure, "in force")
            notes = recheck.notices(change, {d.id: d for d in near},
                                    {d.id: h.refs.of_activity(d.id) for d in near}, h.deadlines, now)
            told += [EventDraft("notification.sent", actor, n.id, n.payload()) for n in notes]
        events = h.service.apply(changes, actor, extra=told)
        h._after(events)
    return events
