"""The hotline's conversation, as its parties read it.

- an activity as its originator sees it: its reference, with whom it is
  shared, its current findings (computed now, not those it had at submit),
  what it had at submit, and for each party told of it when the notification
  was sent, delivered and answered, with comments and open objections;
- the inbox badge: how many notifications are unanswered, overdue, urgent;
- a party's settings (service/settings.py), read and changed;
- a reference (``DC-000123``) looked up;
- a party's notifications and acknowledgements as CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from deconflict.errors import NotFound
from deconflict.service import answers, escalation
from deconflict.service.auth import Action, Forbidden, Principal
from deconflict.service.disclosure import redact, visible
from deconflict.service.notify import shared_with
from deconflict.service.references import parse_reference
from deconflict.service.settings import EVENT, Versioned, decode_settings
from deconflict.service.wire import encode_result
from deconflict.store.documents import encode_declaration, format_time
from deconflict.store.events import EventDraft

if TYPE_CHECKING:
    from deconflict.service.hotline import Hotline


def activity(h: Hotline, who: Principal, decl_id: str) -> dict[str, Any]:
    """One activity: the declaration, its reference and sharing, its current
    findings as the caller may see them; to its owner (and an administrator),
    each recipient party's status."""
    with h._reading():
        decl = h.declaration(who, decl_id)
        result = h.service.check(decl)
        shown = encode_result(redact(result, who.party, h._lookup(result)))
        own = who.is_admin or decl.owner == who.party
        out: dict[str, Any] = {
            "id": decl.id, "reference": h.refs.of_activity(decl.id), "declaration": encode_declaration(decl),
            "owner": decl.owner, "shared_with": shared_with(decl), "current": shown,
        }
        if own:
            at_submit = h.accepted.get(decl.id)
            notes = h.inbox.about(decl.id)
            now = h.clock()
            recipients = answers.recipients(notes, decl.owner, now)
            out["at_submit"] = at_submit
            out["recipients"] = recipients
            out["acknowledgements"] = [r["summary"] for r in recipients]
            out["open_objections"] = [
                {"party": n.party, "reference": n.reference, "notification": n.id, "comment": n.comment,
                 "answered_at": None if n.answered_at is None else format_time(n.answered_at)}
                for n in notes if n.objection_open()]
        return out


def summary(h: Hotline, who: Principal) -> dict[str, Any]:
    """The inbox badge; an administrator's covers every party, and by party."""
    who.require(Action.READ)
    with h._reading():
        now = h.clock()
        if not who.is_admin:
            return {"party": who.party, **escalation.summary(h.inbox.for_party(who.party), now)}
        every = h.inbox.all()
        parties = sorted({n.party for n in every})
        return {"party": None, **escalation.summary(every, now),
                "by_party": {p: escalation.summary([n for n in every if n.party == p], now) for p in parties}}


def _settings_party(h: Hotline, who: Principal, party: str) -> None:
    if party not in h.service.parties():
        raise NotFound("party", party)
    if not who.is_admin and who.party != party:
        raise Forbidden(f"{who.party} may not read or change {party}'s settings")


def get_settings(h: Hotline, who: Principal, party: str) -> dict[str, Any]:
    who.require(Action.READ)
    with h._reading():
        _settings_party(h, who, party)
        return h.settings.get(party).to_json(party)


def put_settings(h: Hotline, who: Principal, party: str, doc: object) -> dict[str, Any]:
    """A liaison changes its own party's settings; an administrator any party's."""
    if not who.is_admin:
        who.require(Action.ACCEPT_MEASURE)  # the liaison's: it speaks for the party
    with h._writing():
        _settings_party(h, who, party)
        s = decode_settings(doc, party, set(h.service.parties()))
        version = h.settings.get(party).version + 1
        h._append([EventDraft(EVENT, who.party or "admin", party,
                              {"party": party, "version": version, "settings": s.to_json(),
                               "member": who.member})])
        current: Versioned = h.settings.get(party)
        return current.to_json(party)


def lookup(h: Hotline, who: Principal, text: str) -> dict[str, Any]:
    """What a reference names, if the caller may see it."""
    who.require(Action.READ)
    seq = parse_reference(text)
    with h._reading():
        named = h.refs.named(seq)
        if named is None:
            raise NotFound("reference", text)
        kind, ident = named
        if kind == "notification":
            n = h.inbox.get(ident)
            if not (who.is_admin or who.party in (n.party, n.from_party)):
                raise NotFound("reference", text)
            out = {"reference": n.reference, "type": "notification", "id": n.id, "subject": n.subject,
                   "party": n.party, "from_party": n.from_party, "kind": n.kind.value, "status": n.status()}
            # The summary is written from the recipient's side (its own objects, which
            # the sender may not be allowed to see): the recipient's to read.
            if who.is_admin or who.party == n.party:
                out["summary"] = n.summary
            return out
        if not h.service.engine.has_declaration(ident):
            raise NotFound("reference", text)
        decl = h.service.engine.get_declaration(ident)
        if h.refs.of_activity(ident) != f"DC-{seq:06d}" or not (who.is_admin or visible(decl, who.party)):
            raise NotFound("reference", text)
        return {"reference": h.refs.of_activity(ident), "type": "activity", "id": ident, "owner": decl.owner,
                "kind": decl.kind.value}


CSV_COLUMNS = ("reference", "direction", "kind", "urgent", "party", "from_party", "subject", "subject_reference",
               "summary", "sent_at", "deadline", "delivered_at", "status", "answered_at", "answered_by", "comment",
               "reminded_at", "escalated_at", "objection_open", "resolved")


def export_rows(h: Hotline, who: Principal, party: str | None) -> Iterator[dict[str, Any]]:
    """A party's notifications, received and sent, with their answers."""
    who.require(Action.READ)
    if not who.is_admin:
        party = who.party
    with h._reading():
        every = sorted(h.inbox.all(), key=lambda n: n.seq)
        now = h.clock()
        rows = []
        for n in every:
            if party is not None and party not in (n.party, n.from_party):
                continue
            data = n.to_json(now)
            about = n.detail.get("about") if isinstance(n.detail.get("about"), dict) else {}
            rows.append({
                "reference": n.reference, "direction": "received" if n.party == party else "sent" if party else "",
                "kind": n.kind.value, "urgent": n.urgent, "party": n.party, "from_party": n.from_party,
                "subject": n.subject, "subject_reference": (about or {}).get("reference") or "",
                # Written from the recipient's side (its own objects): not the sender's to read.
                "summary": n.summary if who.is_admin or n.party == party else "",
                "sent_at": data["sent_at"], "deadline": data["deadline"],
                "delivered_at": data["delivered_at"] or "", "status": n.status(),
                "answered_at": data["answered_at"] or "", "answered_by": n.answered_by, "comment": n.comment,
                "reminded_at": data["reminded_at"] or "", "escalated_at": data["escalated_at"] or "",
                "objection_open": n.objection_open(), "resolved": n.resolved,
            })
    yield from rows


def export_csv(h: Hotline, who: Principal, party: str | None = None) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in export_rows(h, who, party):
        # A cell starting with = + - @ is a formula to a spreadsheet: a comment is not.
        w.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v)
                    for k, v in row.items()})
    return out.getvalue()
