"""An activity's decision: a dry run, one submit decided, a withdrawal, who is told.

A check writes nothing; a submit is decided here, one at a time, against
everything in force and the batch so far (the group commit,
service/hotline/group_commit.py, calls :meth:`Activities._decide` under the
store's lock rows); a refusal shows only what the party may see. Separate
because it is the hotline's one judgement: what is refused, what is
accepted, and whom the acceptance or withdrawal notifies.
"""

from __future__ import annotations

import secrets
from typing import Any

from deconflict.errors import InvalidInput
from deconflict.model import CheckResult, Declaration, FindingKind, PartyKind
from deconflict.service import answers, optimistic
from deconflict.service.auth import Action, Forbidden, Principal
from deconflict.service.deconflict import ADMIN, Change
from deconflict.service.disclosure import hidden_owners, redact, visible
from deconflict.service.hotline.probes import Probes
from deconflict.service.hotline.reads import Reads
from deconflict.service.hotline.submission import Render, Submission
from deconflict.service.notifications import Notification, NotificationKind
from deconflict.service.notify import activity_head, activity_notices, is_presence, shared_with, targets_of, what
from deconflict.service.references import reference
from deconflict.service.wire import encode_result
from deconflict.store.events import EventDraft

BLOCKING = frozenset({FindingKind.VIOLATION, FindingKind.CONFLICT})
NOTIFYING = frozenset({FindingKind.VIOLATION, FindingKind.CONFLICT, FindingKind.COORDINATION_REQUIRED})


class Refused(InvalidInput):
    """A submit refused for its findings (HTTP 409); carries the visible result."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("activity", f"refused: verdict {result['verdict']}; override with a reason to accept")
        self.result = result


class Activities(Reads, Probes):
    def _owned(self, who: Principal, activity: Declaration) -> None:
        if who.is_admin:
            raise Forbidden("an administrator does not plan activities; use a party's credential")
        if activity.owner != who.party:
            raise Forbidden(f"{who.party} may only declare its own activities, not {activity.owner}'s")

    def check(self, who: Principal, activity: Declaration, *, chosen_id: bool = True) -> dict[str, Any]:
        """A dry run: writes nothing. ``chosen_id``: the id is the party's choice,
        so it goes into the party's namespace (False: the service chose it)."""
        who.require(Action.CHECK)
        self._owned(who, activity)
        activity = self.own_id(who, activity) if chosen_id else activity
        parts = self.service.engine.prebuild(activity)  # the costly geometry, before the lock
        with self._reading():
            # Past its budget, every dry run of the party is refused (service/probing.py).
            self.probes.require(who.party, self.clock())
            self.probes.count_check(who.party, self.clock())
            self.service.engine.adopt(activity, parts)
            result = self.service.check(activity)
            lookup = self._lookup(result)
            hidden = hidden_owners(result, who.party, lookup)
            shown = encode_result(redact(result, who.party, lookup))
            presence = self._presence(activity)
            blocking = result.verdict in BLOCKING and not presence
            # Who a submit would notify, as it stands now: a dry run tells nobody.
            by_party, _kinds, asked = targets_of(
                who=who.party, activity=activity, result=result,
                measures={m.id: m for m in self.service.measures()}, parties=set(self.service.parties()),
                presence=presence, must_acknowledge=self._must_acknowledge(who.party))
            objectors = {n.party for n in self.inbox.about(activity.id) if n.objection_open()} - {who.party}
            answer = {**shown, "presence": presence, "would_be_refused": blocking,
                      "shared_with": shared_with(activity),
                      "will_notify": sorted({*by_party, *asked, *objectors})}
        if hidden:
            with self._writing():
                self._append(self._probe_drafts(who, hidden, "check"))
        return answer

    def _checked(self, item: Submission, accepted: set[str]) -> CheckResult:
        """The submit's check against everything in force now (under the store's lock)."""
        changed = None if item.pre is None else self.journal.changed_since(item.pre.seq, self.service.seq)
        if item.pre is None or changed is None:
            self.checked_under_lock["full"] += 1
            return self.service.check(item.activity)
        self.checked_under_lock["delta"] += 1
        return optimistic.recheck(self.service.engine, item.activity, item.pre.result, changed | accepted)

    def _decide(self, item: Submission, in_batch: set[str]) -> Render:
        """Check one submit against everything in force (including the batch so
        far: ``in_batch``, the ids accepted earlier in it); accepted, what makes its
        response and events once numbered."""
        who, activity = item.who, item.activity
        if self.service.engine.has_declaration(activity.id):
            existing = self.service.engine.get_declaration(activity.id)
            if existing.owner != who.party:
                # Name the owner only to a party that may see the declaration: this
                # said "declaration S4 belongs to sdf" to russia, S4 not shared with it.
                whose = existing.owner if visible(existing, who.party) else "another party"
                raise Forbidden(f"declaration {activity.id} belongs to {whose}; choose another id")
        result = self._checked(item, in_batch)  # ``in_batch``: accepted earlier in this batch
        lookup = self._lookup(result)
        shown = encode_result(redact(result, who.party, lookup))
        presence = self._presence(activity)
        # Presence is never refused (service/notify.py): its conflicts are warnings.
        blocking = result.verdict in BLOCKING and not presence
        if blocking and not item.override_reason.strip():
            hidden = hidden_owners(result, who.party, lookup)
            if hidden:
                # A refusal is as much an oracle as a dry run: counted and
                # recorded the same; past the budget, refused the same.
                self.probes.require(who.party, self.clock())
                item.probe = self._probe_drafts(who, hidden, "submit")
            raise Refused({**shown, "shared_with": shared_with(activity)})
        declared = self.service.prepare([Change(declaration=activity)], who.party)

        def render(base_seq: int) -> tuple[dict[str, Any], list[EventDraft]]:
            ref = self.refs.next_for(activity.id, base_seq)
            notes = self._notices(who.party, activity, ref, result, override=blocking,
                                  override_reason=item.override_reason.strip(), presence=presence)
            # The first notification event follows the declaration and the acceptance.
            first = base_seq + 2
            response = {"id": activity.id, "reference": ref, "accepted": True, "overridden": blocking, **shown,
                        "presence": presence,
                        "warnings": [f for f in shown["findings"] if f["kind"] in ("violation", "conflict")]
                        if presence else [],
                        "shared_with": shared_with(activity),
                        "notified": sorted({n.party for n in notes}),
                        "notifications": [{"party": n.party, "reference": reference(first + i),
                                           "kind": n.kind.value, "urgent": n.urgent}
                                          for i, n in enumerate(notes)]}
            accepted = EventDraft("activity.accepted", who.party, activity.id, {
                "id": activity.id, "member": who.member, "verdict": result.verdict.value,
                "override_reason": item.override_reason.strip() or None,
                "idempotency_key": item.idempotency_key or None,
                "request_sha256": item.request_sha256 or None, "response": response,
            })
            return response, [*declared, accepted,
                              *(EventDraft("notification.sent", who.party, n.id, n.payload()) for n in notes)]

        return render

    def _presence(self, activity: Declaration) -> bool:
        return is_presence(activity, {pid: p.kind for pid, p in self.service.parties().items()})

    def _must_acknowledge(self, party: str) -> tuple[str, ...]:
        """The party's setting; a humanitarian party that never said: every armed force
        (humanitarian notification asks the parties to the conflict to confirm)."""
        kept = self.settings.get(party)
        if kept.version:
            return kept.settings.must_acknowledge
        parties = self.service.parties()
        if parties.get(party) is None or parties[party].kind is not PartyKind.HUMANITARIAN:
            return ()
        return tuple(sorted(p for p, v in parties.items() if v.kind is PartyKind.ARMED_FORCE))

    def _notices(self, party: str, activity: Declaration, ref: str | None, result: CheckResult, *,
                 override: bool, override_reason: str, presence: bool) -> list[Notification]:
        now = self.clock()
        notes = activity_notices(
            who=party, activity=activity, reference=ref, result=result,
            measures={m.id: m for m in self.service.measures()}, parties=set(self.service.parties()),
            override=override,
            override_reason=override_reason, presence=presence,
            must_acknowledge=self._must_acknowledge(party), deadlines=self.deadlines, now=now)
        objections = [n for n in self.inbox.about(activity.id) if n.objection_open()]
        if objections:  # an amendment answers them: tell the objectors
            notes = answers.mark_amendments(notes, objections)
            notes += answers.amended_notices(objections, party, activity.id, ref, result.verdict.value, now,
                                             self.deadlines, activity.kind.value, {n.party for n in notes})
        return notes

    def withdraw(self, who: Principal, decl_id: str) -> None:
        who.require(Action.WITHDRAW)
        with self._writing():
            decl = self.declaration(who, decl_id)
            decl_id = decl.id  # the caller's own under its namespace (service/namespace.py)
            if not who.is_admin and decl.owner != who.party:
                raise Forbidden(f"declaration {decl_id} belongs to {decl.owner}")
            now = self.clock()
            ref = self.refs.of_activity(decl_id)
            notes = [
                Notification(secrets.token_hex(8), p, NotificationKind.WITHDRAWAL, decl_id, decl.owner,
                             f"{decl.owner} withdrew {what(decl, p, ref)}",
                             {"id": decl_id, "about": activity_head(decl, p, ref)}, now,
                             *self.deadlines.stamp(p, decl.kind.value, now)[:1],
                             escalate_at=self.deadlines.stamp(p, decl.kind.value, now)[1])
                for p in sorted(self._notified.get(decl_id, set()) - {decl.owner})
            ]
            events = self.service.withdraw(
                decl_id, who.party or ADMIN,
                extra=[EventDraft("notification.sent", who.party or ADMIN, n.id, n.payload()) for n in notes])
            self._after(events)
