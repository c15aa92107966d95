"""The map's read of the past: the picture as the service knew it at an instant.

``GET /v1/picture?as_of=...`` rebuilds the state from the event log up to that
instant (:meth:`SQLiteStore.state_as_of`) and returns what the caller's party
may see of it, exactly as the live reads do: every measure in force and every
proposal then pending, and the declarations shared with the caller (all of
them for an administrator). Mounted by :func:`deconflict.web.mount`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request

from deconflict.errors import InvalidInput
from deconflict.service.auth import Action
from deconflict.service.disclosure import visible
from deconflict.service.hotline import Hotline, Proposal
from deconflict.service.http import Who
from deconflict.service.replay import Replay
from deconflict.store.documents import decode_measure, encode_declaration, encode_measure, format_time, parse_time
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


def proposals_as_of(hotline: Hotline, state: State) -> list[Proposal]:
    """The proposals pending after the events ``state`` was built from (seq <= state.seq),
    folded as the hotline folds them at start."""
    pending: dict[str, Proposal] = {}
    if state.seq == 0:
        return []
    for e in hotline.service.store.events():
        if e.seq > state.seq:
            break
        p = e.payload
        if e.type == "agreement.proposed":
            m = decode_measure(p["measure"], "measure")
            pending[m.id] = Proposal(m, p["version"], e.actor, frozenset(p["bound"]))
        elif e.type == "agreement.accepted":
            prop = pending.get(p["id"])
            if prop is not None and prop.version == p["version"]:
                prop.accepted.add(p["party"])
        elif e.type == "agreement.in_force":
            prop = pending.get(p["id"])
            if prop is not None and prop.version <= p["version"]:
                del pending[p["id"]]
        elif e.type in ("agreement.declined", "agreement.withdrawn"):  # ended (service/measure_life.py)
            prop = pending.get(p["id"])
            if prop is not None and prop.version == p["version"]:
                del pending[p["id"]]
    return list(pending.values())


def picture(request: Request, who: Who,
            as_of: Annotated[str | None, Query(description="An ISO 8601 instant with a timezone, e.g. "
                                                           "2018-02-07T20:05:00Z; now when left out.")] = None,
            ) -> dict[str, Any]:
    """The picture as the service knew it at ``as_of``: measures in force and proposed,
    and the declarations the caller may see, rebuilt from the event log."""
    who.require(Action.READ)
    hotline: Hotline = request.app.state.hotline
    instant = parse_as_of(as_of, hotline.clock())
    state = hotline.service.store.state_as_of(instant)
    decls = [d for _id, d in sorted(state.declarations.items())
             if who.is_admin or visible(d, who.party)]
    first, last = hotline.service.store.log_span()
    seen = Replay(instant, None, state, first, last)
    return {
        "as_of": format_time(instant),
        "seq": state.seq,
        # Recording time, not the scenario's: say where the log starts rather
        # than show an empty picture of a time before it as the truth.
        "log_starts": first,
        "log_ends": last,
        "caveat": seen.caveat() or None,
        "measures": {"in_force": [encode_measure(m) for _id, m in sorted(state.measures.items())],
                     "proposed": [p.to_json() for p in proposals_as_of(hotline, state)]},
        "declarations": [encode_declaration(d) for d in decls],
    }


def add_routes(app: FastAPI) -> None:
    # A route of the app itself (not an included router), so it is listed in app.routes.
    app.add_api_route("/v1/picture", picture, methods=["GET"], tags=["picture"])


__all__ = ["add_routes", "parse_as_of", "picture", "proposals_as_of"]
