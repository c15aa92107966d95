"""The map's read of the past: the picture as the service knew it at an instant.

``GET /v1/picture?as_of=...`` gives the state after the events recorded up to that
instant (the engine's state after the last event, else service/history.py) and returns what the caller's party
may see of it, exactly as the live reads do: every measure in force and every
proposal then pending, and the declarations shared with the caller (all of
them for an administrator). Mounted by :func:`deconflict.web.mount`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

from deconflict.errors import InvalidInput
from deconflict.model import Declaration, Measure, ShareWith
from deconflict.service.auth import Action
from deconflict.service.deconflict import Deconflict
from deconflict.service.disclosure import visible
from deconflict.service.history import History
from deconflict.service.hotline import Hotline, Proposal
from deconflict.service.http import Json, Who
from deconflict.service.replay import Replay
from deconflict.store.documents import encode_declaration, encode_measure, format_time, parse_time
from deconflict.store.protocol import Store
from deconflict.store.state import State

AS_OF = "as_of"


def parse_as_of(text: str | None, now: datetime) -> datetime:
    """The instant asked for, in UTC; ``now`` when not given. Raises InvalidInput naming ``as_of``."""
    if text is None:
        return now.astimezone(UTC)
    if len(text) > 64:
        raise InvalidInput(AS_OF, "is not an ISO 8601 time such as 2018-02-07T20:05:00Z")
    t = parse_time(text, AS_OF)
    try:
        return t.astimezone(UTC)
    except (OverflowError, ValueError):
        # 0001-01-01T00:00:00+14:00 is before the first representable UTC instant.
        raise InvalidInput(AS_OF, f"{text!r} is out of range") from None


Documents = Callable[[Callable[[str, ShareWith], bool], Callable[[Declaration], bool]], list[bytes | Declaration]]


@dataclass(frozen=True, slots=True)
class _Now:
    """The engine's state: what the picture at any instant after the last event is.
    ``documents(sees, visible)``: the declarations a caller may see, in id order
    (Engine.documents_later): stored documents, or objects."""

    seq: int
    documents: Documents
    measures: list[Measure]
    proposals: list[Proposal]


def _now(hotline: Hotline) -> _Now:
    def copy(service: Deconflict) -> tuple[int, Documents, list[Measure], list[Proposal]]:
        # Under the hotline's lock: a quick copy, nothing more. The declarations
        # are read after the lock is let go, and those of the start-up snapshot
        # are never decoded: their stored documents are the picture's (at 1M,
        # decoding every one took 23 s of CPU).
        return (service.seq, service.engine.documents_later(), service.measures(),
                [replace(p, accepted=set(p.accepted)) for p in hotline.proposals.values()])
    seq, documents, measures, proposals = hotline.read_service(copy)
    return _Now(seq, documents, measures, proposals)


def _recorded_at(app: Any, store: Store, seq: int) -> datetime | None:
    """When event ``seq`` was recorded (one read per new seq, then remembered)."""
    kept: tuple[int, datetime | None] | None = getattr(app.state, "picture_head", None)
    if kept is None or kept[0] != seq:
        page = store.events_page(seq - 1, 1) if seq > 0 else []
        kept = (seq, page[0].recorded_at if page else None)
        app.state.picture_head = kept
    return kept[1]


def _history(app: Any, store: Store) -> History:
    with _HISTORY_LOCK:
        history: History | None = getattr(app.state, "history", None)
        if history is None:
            history = app.state.history = History(store)
        return history


_HISTORY_LOCK = threading.Lock()


def _encoded(app: Any, decls: list[Declaration] | list[bytes | Declaration]) -> list[dict[str, Any] | orjson.Fragment]:
    """Each declaration's document, encoded once per version (declarations are
    immutable); a stored document (canonical JSON of the same encoding) as it is."""
    cache: dict[str, tuple[Declaration, dict[str, Any]]] | None = getattr(app.state, "picture_docs", None)
    objects = sum(1 for d in decls if not isinstance(d, bytes))
    if cache is None or len(cache) > 2 * objects + 1024:  # withdrawn ones linger until then
        cache = app.state.picture_docs = {}
    out: list[dict[str, Any] | orjson.Fragment] = []
    for d in decls:
        if isinstance(d, bytes):
            out.append(orjson.Fragment(d))
            continue
        hit = cache.get(d.id)
        if hit is None or hit[0] is not d:
            hit = cache[d.id] = (d, encode_declaration(d))
        out.append(hit[1])
    return out


def picture(request: Request, who: Who,
            as_of: Annotated[str | None, Query(description="An ISO 8601 instant with a timezone, e.g. "
                                                           "2018-02-07T20:05:00Z; now when left out.")] = None,
            ) -> Response:
    """The picture as the service knew it at ``as_of``: measures in force and proposed,
    and the declarations the caller may see. After the last event it is the engine's
    state (no read of the log); before, a checkpoint plus a bounded replay (service/history.py)."""
    who.require(Action.READ)
    hotline: Hotline = request.app.state.hotline
    store = hotline.service.store
    instant = parse_as_of(as_of, hotline.clock())
    now = _now(hotline)
    last = _recorded_at(request.app, store, now.seq)
    decls: list[Declaration] | list[bytes | Declaration]
    if last is None or last <= instant:
        seq, measures, proposals = now.seq, now.measures, now.proposals
        party = who.party
        decls = now.documents(lambda owner, share: who.is_admin or share.allows(party, owner),
                              lambda d: who.is_admin or visible(d, party))
    else:
        past = _history(request.app, store).at(instant)
        seq = past.state.seq
        measures, proposals = list(past.state.measures.values()), past.proposals
        decls = sorted((d for d in past.state.declarations.values() if who.is_admin or visible(d, who.party)),
                       key=lambda d: d.id)
    first, last_text = store.log_span()
    seen = Replay(instant, None, State(seq=seq), first, last_text)
    return Json({
        "as_of": format_time(instant),
        "seq": seq,
        # Recording time, not the scenario's: say where the log starts rather
        # than show an empty picture of a time before it as the truth.
        "log_starts": first,
        "log_ends": last_text,
        "caveat": seen.caveat() or None,
        "measures": {"in_force": [encode_measure(m) for m in sorted(measures, key=lambda m: m.id)],
                     "proposed": [p.to_json() for p in proposals]},
        "declarations": _encoded(request.app, decls),
    })


def add_routes(app: FastAPI) -> None:
    # A route of the app itself (not an included router), so it is listed in app.routes.
    app.add_api_route("/v1/picture", picture, methods=["GET"], tags=["picture"], response_model=dict[str, Any])


__all__ = ["add_routes", "parse_as_of", "picture"]
