"""The log's routes: checkpoints, keys, proofs, cosignatures (``/v1/log/...``).

Any authenticated party may read them: a checkpoint and a proof reveal
hashes and sizes, nothing of any event's content. Every proof is O(log n)
stored hashes, bounded whatever the sizes asked.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, Query, Request
from fastapi.responses import PlainTextResponse

from deconflict.errors import InvalidInput, NotFound
from deconflict.service.auth import Principal
from deconflict.service.hotline import Hotline
from deconflict.service.witnesses import Witnesses


def _b64(hs: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode("ascii") for h in hs]


async def _principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    token = authorization[7:].strip() if authorization and authorization.lower().startswith("bearer ") else None
    hotline: Hotline = request.app.state.hotline
    return hotline.authenticate(token)


Who = Annotated[Principal, Depends(_principal)]


def add_log_routes(app: FastAPI, hotline: Hotline) -> None:
    store = hotline.service.store
    witnesses = Witnesses(store)

    def latest_size() -> int:
        cp = store.checkpoint()
        if cp is None:
            raise NotFound("checkpoint", "latest")
        return cp[0]

    @app.get("/v1/log/checkpoint", tags=["log"], response_class=PlainTextResponse)
    def checkpoint(_who: Who) -> PlainTextResponse:
        """The latest signed checkpoint (C2SP tlog-checkpoint), with the witnesses' cosignatures."""
        cp = store.checkpoint()
        if cp is None:
            raise NotFound("checkpoint", "latest")
        return PlainTextResponse(witnesses.cosigned(cp[1]), media_type="text/plain; charset=utf-8")

    @app.get("/v1/log/keys", tags=["log"])
    def keys(_who: Who) -> dict[str, Any]:
        """The log's public keys (current first) and the witnesses' keys."""
        return {"log": [v.encode() for v in store.verifiers()], "witnesses": witnesses.keys()}

    @app.get("/v1/log/proof/inclusion", tags=["log"])
    def inclusion(_who: Who, seq: Annotated[int, Query(ge=1)],
                  size: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
        """Event ``seq`` is leaf ``seq - 1`` of the tree of ``size`` leaves (default: the latest checkpoint)."""
        n = size or latest_size()
        if seq > n or n > latest_size():
            raise InvalidInput("size" if n > latest_size() else "seq",
                               f"must be at most the latest checkpoint's size, {latest_size()}")
        return {"seq": seq, "leaf_index": seq - 1, "tree_size": n, "inclusion": _b64(store.inclusion_proof(seq, n))}

    @app.get("/v1/log/proof/consistency", tags=["log"])
    def consistency(_who: Who, old: Annotated[int, Query(ge=0)],
                    new: Annotated[int | None, Query(ge=0)] = None) -> dict[str, Any]:
        """The tree of ``new`` leaves (default: the latest checkpoint) extends the one of ``old``."""
        n = new if new is not None else latest_size()
        if n > latest_size():
            raise InvalidInput("new", f"must be at most the latest checkpoint's size, {latest_size()}")
        if old > n:
            raise InvalidInput("old", f"must be at most {n}")
        return {"old": old, "new": n, "consistency": _b64(store.consistency_proof(old, n))}

    @app.post("/v1/log/cosignatures", tags=["log"], status_code=201)
    def cosign(who_: Who, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """A witness's cosignature of a checkpoint, or its report of two inconsistent ones."""
        return witnesses.receive(hotline, who_, body)
