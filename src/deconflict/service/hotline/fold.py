"""What the hotline folds from the event log, beyond the store's state.

Credentials, notifications and their answers, references, the sharing of
every declaration ever made, measure proposals and versions, probes,
idempotent submits: each event is folded in once, whether this process
appended it or another did, at start (from the log or a start-up snapshot,
service/startup.py) or as it comes. Separate because it is the one place that
knows what each event means to the hotline, and the only one that changes
this state: the operations append events and leave the folding to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from deconflict.model import Measure
from deconflict.service import measure_life
from deconflict.service.auth import Credential, Role
from deconflict.service.notifications import Answer, NotificationKind
from deconflict.service.probing import Budget
from deconflict.service.settings import EVENT as SETTINGS_EVENT
from deconflict.store.documents import decode_measure, encode_measure, format_time
from deconflict.store.events import Event

if TYPE_CHECKING:
    from deconflict.service.hotline.core import Core


@dataclass
class Proposal:
    """A measure version waiting for the parties it binds."""

    measure: Measure
    version: int
    proposer: str
    bound: frozenset[str]
    accepted: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {"measure": encode_measure(self.measure), "version": self.version, "proposed_by": self.proposer,
                "bound": sorted(self.bound), "accepted_by": sorted(self.accepted),
                "waiting_for": sorted(self.bound - self.accepted)}


def absorb(h: Core, e: Event) -> None:
    """Fold one event into what the hotline remembers beyond the store's state."""
    if e.seq <= h.head:
        return  # seen in the replay at start
    p = e.payload
    h.head = e.seq
    if e.type == "credential.issued":
        h.keyring.add(Credential(
            p["id"], p["party"], p["member"], Role(p["role"]), p["secret_sha256"], e.recorded_at,
            None if p.get("expires_at") is None else datetime.fromisoformat(p["expires_at"]),
        ))
    elif e.type == "credential.revoked":
        h.keyring.revoke(p["id"], e.recorded_at)
    elif e.type == "notification.sent":
        h.inbox.sent(p, e.recorded_at, e.seq)
        h.refs.notification(p["id"], e.seq)
        h._notified.setdefault(p["subject"], set()).add(p["party"])
    elif e.type == "notification.delivered":
        h.inbox.delivered(p["id"], e.recorded_at)
    elif e.type in ("notification.acknowledged", "notification.objected"):
        answer = Answer.ACKNOWLEDGED if e.type.endswith("acknowledged") else Answer.OBJECTED
        h.inbox.answered(p["id"], answer, p.get("member", ""), p.get("comment", ""), e.recorded_at)
        answered = h.inbox.get(p["id"])
        closes = answered.detail.get("in_reply_to") if answered.kind is NotificationKind.ANSWER else None
        if isinstance(closes, str) and answered.needs_answer:
            h.inbox.resolve(closes, answer.value, e.recorded_at)  # the originator answered the objection
    elif e.type == "notification.escalated":
        h.inbox.escalated(p["id"], e.recorded_at)
    elif e.type == "notification.reminded":
        h.inbox.reminded(p["id"], e.recorded_at)
    elif e.type == SETTINGS_EVENT:
        h.settings.absorb(p, e.actor, e.recorded_at)
    elif e.type == "agreement.proposed":
        m = decode_measure(p["measure"], "measure")
        h.proposals[m.id] = Proposal(m, p["version"], e.actor, frozenset(p["bound"]))
        h.versions[m.id] = p["version"]
    elif e.type == "agreement.accepted":
        prop = h.proposals.get(p["id"])
        if prop is not None and prop.version == p["version"]:
            prop.accepted.add(p["party"])
    elif e.type == "declaration.withdrawn" and e.subject in h._sharing:
        h._withdrawn_sharing[e.seq] = h._sharing[e.subject]
        h.refs.withdrawn(e.subject)
        close_objections(h, e.subject, "withdrawn", e.recorded_at)
    elif e.type == "declaration.declared":
        h.refs.declared(e.subject, e.seq)
        share = p.get("share_with", "all")
        h._sharing[e.subject] = (p.get("owner", ""), share == "all", frozenset(share if share != "all" else ()))
    elif e.type == "agreement.in_force":
        h.versions[p["id"]] = p["version"]
        prop = h.proposals.get(p["id"])
        if prop is not None and prop.version <= p["version"]:
            del h.proposals[p["id"]]
    elif e.type == "measure.added":
        h.versions.setdefault(p["id"], 1)
    elif e.type == "probe.recorded":
        h.probes.recorded(p["prober"], list(p["owners"]), e.recorded_at)
    elif e.type == "probe.budget_set":
        h.probes.set_budget(p["party"], Budget.decode(p))
    elif e.type == "activity.accepted":
        close_objections(h, e.subject, "amended", e.recorded_at)
        h.accepted[e.subject] = {"verdict": p.get("verdict"), "override_reason": p.get("override_reason"),
                                    "overridden": bool(p.get("response", {}).get("overridden")),
                                    "by": p.get("member"), "at": format_time(e.recorded_at)}
        if p.get("idempotency_key"):
            h._idempotent[(e.actor, p["idempotency_key"])] = (p["request_sha256"], p["response"])
            h._accepted_seq[(e.actor, p["idempotency_key"])] = e.seq
    if e.type.startswith(("agreement.", "measure.")):
        measure_life.absorb(h, e)


def close_objections(h: Core, subject: str, how: str, at: datetime) -> None:
    """An amendment or a withdrawal answers every open objection about it (and
    the originator's answers waiting on them)."""
    for n in h.inbox.about(subject):
        if n.objection_open() or (n.kind is NotificationKind.ANSWER and n.open()):
            h.inbox.resolve(n.id, how, at)

