"""What each party may see of the log: the events that concern it, a page at a
time from the store (never the whole backlog), notifications marked delivered as
they are handed over, and whether a credential is still in force (a stream ends
when it is not). The asynchronous streams (service/streams.py) and the tests'
blocking follower both read through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from deconflict.service.auth import Action, Principal
from deconflict.store.events import Event, EventDraft

if TYPE_CHECKING:
    from deconflict.service.hotline import Hotline


def concerns(h: Hotline, party: str, e: Event) -> dict[str, Any] | None:
    """What ``party`` may see of an event, or None."""
    p = e.payload
    t = e.type
    if t.startswith("notification."):
        n = h.inbox.get(p["id"]) if t != "notification.sent" else None
        owner = p["party"] if t == "notification.sent" else (n.party if n else "")
        return p if owner == party else None
    if t == "declaration.declared":
        share = p.get("share_with", "all")
        ok = share == "all" or p.get("owner") == party or party in share
        return p if ok else None
    if t == "declaration.withdrawn":
        # Not yet absorbed (read straight from the store): then the id's sharing is still that of this one.
        owner, everyone, parties = h._withdrawn_sharing.get(
            e.seq, h._sharing.get(e.subject, ("", False, frozenset())))
        return p if everyone or owner == party or party in parties else None
    if t.startswith(("measure.", "agreement.", "party.")):
        return p
    if t.startswith("log."):  # a witness's report of tampering concerns every party
        return p
    if t == "activity.accepted":
        return p["response"] if e.actor == party else None
    if t.startswith("alert."):  # live tracks: one view per party concerned (deconflict.tracks.alerts)
        view = p.get("views", {}).get(party)
        return view if isinstance(view, dict) else None
    if t.startswith("asset."):
        return p if p.get("party") == party else None
    return None


def page(h: Hotline, who: Principal, after_seq: int, limit: int,
                events: list[Event] | None = None) -> tuple[list[tuple[int, str, dict[str, Any]]], int, bool]:
    """One page of the stream: what ``who`` may see of at most ``limit``
    events after ``after_seq`` (``events`` if given, else read from the
    store: never the whole backlog); the last seq read; whether the page
    was full (more may follow). Notifications it hands over are marked
    delivered (use :func:`mark_delivered` for the ids when ``events`` is given)."""
    who.require(Action.READ)
    if events is None:
        read = h.service.store.events_page(after_seq, limit)
        # Only what this process has folded in: the store may hold another
        # worker's newer events, which this process's state (the inbox, what
        # each party may see) does not know yet. A notification.sent from there
        # was looked up in the inbox, not found, and ended the stream. The rest
        # comes on the next page, once the follower has folded it in.
        head = h.head
        page = [e for e in read if e.seq <= head]
        full = len(read) == limit and len(page) == len(read)
    else:
        page, full = events, len(events) == limit
    out = []
    last = after_seq
    for e in page:
        last = e.seq
        data = concerns(h, who.party, e) if not who.is_admin else e.payload
        if data is None:
            continue
        out.append((e.seq, e.type, data))
    if events is None:
        mark_delivered(h, who, [seq for seq, etype, _d in out if etype == "notification.sent"], page)
    return out, last, full


def mark_delivered(h: Hotline, who: Principal, seqs: list[int], page: list[Event]) -> None:
    """Record that the stream handed over these notification.sent events."""
    if who.is_admin or not seqs:
        return
    wanted = set(seqs)
    for e in page:
        if e.seq in wanted:
            with h._writing():
                n = h.inbox.get(e.subject)
                if n.delivered_at is None:
                    h._append([EventDraft("notification.delivered", who.party, n.id, {"id": n.id})])


def credential_in_force(h: Hotline, who: Principal) -> bool:
    """Whether ``who``'s credential is neither revoked nor expired now."""
    cred = h.keyring.get(who.credential_id)
    if cred is None or cred.revoked_at is not None:
        return False
    return cred.expires_at is None or h.clock() < cred.expires_at


def follow(h: Hotline, who: Principal, after_seq: int, *, wait: float = 15.0,
           stop: Callable[[], bool] = lambda: False) -> Iterator[tuple[int, str, dict[str, Any]] | None]:
    """Events for ``who``'s party after ``after_seq``, then live ones as they
    come; yields None as a heartbeat when nothing came for ``wait`` seconds."""
    who.require(Action.READ)
    last = after_seq
    while not stop():
        batch = list(h.service.store.events(after_seq=last))
        for e in batch:
            last = e.seq
            data = concerns(h, who.party, e) if not who.is_admin else e.payload
            if data is None:
                continue
            if e.type == "notification.sent" and not who.is_admin:
                with h._writing():
                    n = h.inbox.get(e.subject)
                    if n.delivered_at is None:
                        h._append([EventDraft("notification.delivered", who.party, n.id, {"id": n.id})])
            yield e.seq, e.type, data
        if batch:
            continue
        with h._changed:
            if h.head <= last:
                h._changed.wait(wait)
        if h.head <= last:
            yield None
