"""Live tracks behind several server workers: the workers forward to the one tracker.

With ``deconflict serve --workers N`` the tracker (assets, active alerts, the CoT,
TLS, UDP and SBS-1 listeners, the evaluator) runs in one dedicated process
(``deconflict.cli.tracker_process``), started and restarted by ``serve``, serving
the whole API on a unix socket in a private directory. Each worker mounts
:func:`mount`: every ``/v1/tracks`` route is forwarded to that socket as it came
(method, path, query, body, the caller's bearer token and ``X-Deconflict-Seq``),
and the answer is returned as it is. What the tracker writes (alerts,
notifications, links) is in the log, which every worker follows; a worker folds
the log in up to the tracker's answer before it answers, so a client reading
next from any worker sees what its request caused. Acknowledgements are log
events the tracker process follows like any worker.

When the tracker does not answer (dead, restarting), the tracks routes answer
503 and ``/health`` says ``"tracks": "down"``.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
from collections.abc import Callable

from fastapi import FastAPI, Request
from starlette.responses import Response

from deconflict.errors import Unavailable
from deconflict.service.consistency import HEADER
from deconflict.service.hotline import Hotline

#: The longest a forwarded request waits for the tracker (a batch of 10,000 reports is judged at once).
FORWARD_TIMEOUT_S = 60.0
#: The longest ``/health`` waits for the tracker's.
HEALTH_TIMEOUT_S = 2.0
#: Request headers passed on; the rest (host, connection, lengths) are the hop's own.
PASSED = ("authorization", "content-type", "accept", HEADER, "idempotency-key")


class UnixConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a unix socket (the standard library's client, no dependency)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(self.timeout)
            s.connect(self.path)
        except BaseException:
            s.close()
            raise
        self.sock = s


def call(path: str, method: str, target: str, headers: dict[str, str], body: bytes | None,
         timeout: float = FORWARD_TIMEOUT_S) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request to the tracker at ``path``: (status, headers, body). Raises
    :class:`Unavailable` when it does not answer."""
    conn = UnixConnection(path, timeout)
    try:
        conn.request(method, target, body=body, headers=headers)
        res = conn.getresponse()
        return res.status, res.getheaders(), res.read()
    except (OSError, http.client.HTTPException) as exc:
        raise Unavailable("live tracks are unavailable: the tracker process is not answering "
                          f"({type(exc).__name__}); it is restarted by the server, retry") from None
    finally:
        conn.close()


def alive(path: str) -> bool:
    try:
        status, _h, _b = call(path, "GET", "/health", {}, None, HEALTH_TIMEOUT_S)
    except Unavailable:
        return False
    return status == 200


def mount(app: FastAPI, hotline: Hotline, path: str,
          health: dict[str, Callable[[], str]] | None = None) -> None:
    """Forward the tracks routes to the tracker process listening on ``path``;
    ``health`` (the app's extra health checks) gets ``tracks``."""

    async def forward(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() in PASSED}
        body = await request.body()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        status, got, content = await asyncio.to_thread(call, path, request.method, target, headers,
                                                       body if body else None)
        out: dict[str, str] = {}
        seq = 0
        for k, v in got:
            lk = k.lower()
            if lk == HEADER:
                seq = int(v) if v.isdigit() else 0
            elif lk in ("content-type", "retry-after", "www-authenticate"):
                out[k] = v
        if seq > hotline.head:
            # The tracker wrote (alerts, links): fold the log in up to there, so this
            # worker's X-Deconflict-Seq, and what the client reads next here, include it.
            await asyncio.to_thread(hotline.catch_up)
        return Response(content, status, out)

    app.add_api_route("/v1/tracks", forward, methods=["GET"], include_in_schema=False)
    app.add_api_route("/v1/tracks/{rest:path}", forward, methods=["GET", "POST", "PUT"], include_in_schema=False)
    if health is not None:
        health["tracks"] = lambda: "up" if alive(path) else "down"
