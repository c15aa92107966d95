"""Read your writes across workers.

Several server processes share one store; each folds in the others' appends
at least every tenth of a second, so a read that reaches another worker just
after a write could miss it (a party's own acknowledged declaration answered
404). Every /v1/ response carries the log sequence number the answering
worker had reached (``X-Deconflict-Seq``); a client that sends it back on a
later request is answered only once the worker has caught up to it (it folds
in the log at once, waiting at most ``CATCH_UP_WAIT_S``, then 503).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deconflict.errors import DeconflictError, InvalidInput, Unavailable
from deconflict.service.hotline import Hotline

HEADER = "x-deconflict-seq"
#: The longest a request waits for its worker to catch up with the log.
CATCH_UP_WAIT_S = 5.0
#: The largest sequence number (SQLite's INTEGER).
MAX_SEQ = 2**63 - 1


class ReadYourWrites:
    def __init__(self, app: ASGIApp, hotline: Hotline, answer: Callable[[Exception], Response]) -> None:
        self.app = app
        self.hotline = hotline
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        wanted = None
        for name, value in scope.get("headers", []):
            if name == HEADER.encode():
                wanted = value.decode("latin-1").strip()
        try:
            if wanted is not None:
                await self._catch_up(wanted)
        except DeconflictError as exc:
            await self.answer(exc)(scope, receive, send)
            return
        hotline = self.hotline

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (HEADER.encode(), str(hotline.head).encode())]}
            await send(message)

        await self.app(scope, receive, stamped)

    async def _catch_up(self, wanted: str) -> None:
        if not (wanted.isascii() and wanted.isdigit()) or int(wanted) > MAX_SEQ:
            raise InvalidInput("X-Deconflict-Seq", f"must be a log sequence number from 0 to {MAX_SEQ}")
        seq = int(wanted)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CATCH_UP_WAIT_S
        while self.hotline.head < seq:
            await asyncio.to_thread(self.hotline.catch_up)
            if self.hotline.head >= seq:
                return
            if loop.time() >= deadline:
                raise Unavailable(f"this worker has not yet caught up to event {seq} of the log "
                                  f"(it is at {self.hotline.head}); retry")
            await asyncio.sleep(0.02)
