"""The costly lane: requests that may take long run in a process of their own.

Every request of a worker shares one interpreter, so a party that sends
4,000-vertex polygons or asks for the whole picture again and again held the
interpreter for tens of milliseconds at a time, and a small submit of another
party waited behind it (issue 9: the canary's p99 went from 6 to 185 ms).
Bounding each request's work (service/bounded.py) limits how long; it cannot
make a long request share the interpreter fairly. So ``serve`` starts one more
process on the same store, the lane (cli/lane.py), and the workers pass it the
requests that can be costly (:func:`costly`), whole, over a private Unix socket.
The lane is a full server: it authenticates, decides under the store's lock and
answers exactly as a worker would; the worker relays its answer.

What is costly is decided from what the request says before any work is done:
the route (the picture, the lists, the exports, OGC items) or the size of the
body of a check, a submit or a proposal (the positions it carries are what makes
building and checking it costly). Authentication and the role are checked
before, by the worker (service/gate.py), so an unauthenticated request never
reaches the lane.

A costly read (and a stream, whose every event would cost the worker a send)
is not relayed but handed over: the worker passes the client's connection
itself to the lane, which answers it directly (service/handover.py). The lane
takes each party's costly reads in turn (:class:`LaneTurns`), as the workers
take their relays in turn.

If the lane cannot be reached (it is restarting), the worker answers the request
itself: slower for everyone for a moment, never refused for that. A request the
lane took but did not answer (it died) is answered 503, retryable: a submit may
then have been accepted or not, and a retry with the same Idempotency-Key answers
which.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import h11
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deconflict.errors import DeconflictError, InvalidInput, Unavailable
from deconflict.service.bounded import INLINE_BODY_BYTES
from deconflict.service.gate import PARTY_KEY
from deconflict.service.handover import HANDOVER_KEY, handover_path

log = logging.getLogger(__name__)

#: Reads that walk every object a party may see, whatever their size.
COSTLY_READS: Final = frozenset({
    "/v1/picture", "/v1/declarations", "/v1/export.geojson", "/v1/export.kml", "/v1/exports/notifications",
})
#: A stream is not costly to open, but each event costs the process holding it a
#: send per stream: streams are handed over to the lane too, when it is there.
STREAM_PATH: Final = "/v1/stream"
#: Writes whose cost grows with the body: a check, a submit, a measure proposed.
SIZED_WRITES: Final = frozenset({"/v1/checks", "/v1/activities", "/v1/measures"})
#: A body above this many bytes is costly (the size a worker parses off its event
#: loop: about 600 positions, ten times what is built on the loop).
COSTLY_BODY_BYTES: Final = INLINE_BODY_BYTES
#: The longest a worker waits for the lane's answer: longer than any request's own
#: budget (a check's is seconds), short of a client's patience.
LANE_TIMEOUT_S: Final = 120.0
#: A lane that does not take a connection within this is away.
CONNECT_TIMEOUT_S: Final = 1.0
#: Reads from the lane, at most this many bytes at a time.
_READ: Final = 1 << 18
#: A party's costly requests in the lane at once, from one worker: the others
#: wait their turn (the lane is shared; a party sending many at once would
#: hold it for everyone else's costly requests, and keep the worker relaying).
COSTLY_PER_PARTY: Final = 1
#: A party's costly requests waiting for their turn on one worker; past them, 429.
COSTLY_WAITING_PER_PARTY: Final = 8
#: The most of the lane's time one party's costly reads may take: after each, the
#: party's next waits as long again (times 1 / share - 1). A party reading back to
#: back then leaves the lane idle half the time, and with it the cores the workers
#: share with the lane (on two cores a flood of pictures otherwise slowed every
#: other party's small requests: issue 9). An operator may change it with
#: DECONFLICT_COSTLY_SHARE (a fraction, 0.05 to 1).
COSTLY_SHARE: Final = 0.5
#: The longest such a rest lasts, in seconds.
COSTLY_REST_MAX_S: Final = 10.0
#: What a refused costly request is told to wait, in seconds.
RETRY_AFTER_S: Final = 1
#: Marks an answer the lane gave (for operators and tests).
LANE_HEADER: Final = b"x-deconflict-lane"
#: Headers a relay must not pass on (RFC 9110 section 7.6.1).
_HOP: Final = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
                         b"proxy-authorization", b"proxy-authenticate"})
#: Of a request, also these: the relay's client sets them for the body it sends.
_REQUEST_ONLY: Final = frozenset({b"host", b"content-length"})


def costly_share() -> float:
    """:data:`COSTLY_SHARE`, or the operator's (InvalidInput naming the variable)."""
    text = os.environ.get("DECONFLICT_COSTLY_SHARE")
    if text is None:
        return COSTLY_SHARE
    try:
        share = float(text)
    except ValueError:
        share = math.nan
    if not 0.05 <= share <= 1.0:
        raise InvalidInput("DECONFLICT_COSTLY_SHARE", f"must be a fraction from 0.05 to 1, not {text!r}")
    return share


def lane_limits(on: bool) -> dict[str, Any]:
    """The lane's limits, as GET /v1/limits shows them (None: no lane)."""
    return {"costly_body_bytes": COSTLY_BODY_BYTES if on else None,
            "costly_in_lane_per_party": COSTLY_PER_PARTY if on else None,
            "costly_waiting_per_party": COSTLY_WAITING_PER_PARTY if on else None,
            "costly_share_per_party": costly_share() if on else None}


class TooManyCostly(DeconflictError):
    """HTTP 429: the party already has as many costly requests waiting as it may."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.retry_after_s = RETRY_AFTER_S
        super().__init__(f"this party already has {limit} costly requests (pictures, lists, exports, large "
                         f"bodies) waiting on this server; retry in {RETRY_AFTER_S} s")


class Turns:
    """Each party's costly requests, one at a time (per worker), in order of arrival."""

    def __init__(self, at_once: int = COSTLY_PER_PARTY, waiting: int = COSTLY_WAITING_PER_PARTY) -> None:
        self.at_once, self.waiting = at_once, waiting
        self._gates: dict[str, asyncio.Semaphore] = {}
        self._queued: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, party: str) -> AsyncIterator[None]:
        """Wait for ``party``'s turn (TooManyCostly when too many already wait)."""
        await self.take(party)
        try:
            yield
        finally:
            self.give_back(party)

    async def take(self, party: str) -> None:
        """Wait for ``party``'s turn (TooManyCostly when too many already wait);
        :meth:`give_back` ends it."""
        queued = self._queued.get(party, 0)
        if queued >= self.at_once + self.waiting:
            raise TooManyCostly(self.waiting)
        gate = self._gates.get(party)
        if gate is None:
            gate = self._gates[party] = asyncio.Semaphore(self.at_once)
        self._queued[party] = queued + 1
        try:
            await gate.acquire()
        except BaseException:  # cancelled while waiting: no turn was taken
            self._leave(party)
            raise

    def give_back(self, party: str) -> None:
        self._gates[party].release()
        self._leave(party)

    def _leave(self, party: str) -> None:
        left = self._queued[party] - 1
        if left:
            self._queued[party] = left
        else:  # nothing kept for a party with nothing in flight
            del self._queued[party]
            self._gates.pop(party, None)


def party_of(scope: Scope) -> str:
    """Whose request it is (AuthFirst put it there: service/gate.py)."""
    return str(scope.get("state", {}).get(PARTY_KEY, ""))


def costly(method: str, path: str, body_bytes: int | None) -> bool:
    """Whether a request goes to the lane: ``body_bytes`` is the body's size
    when known (None while it is still being read)."""
    if method == "GET":
        return path in COSTLY_READS or (path.startswith("/ogc/collections/") and path.endswith("/items"))
    if method == "POST" and path in SIZED_WRITES:
        return body_bytes is not None and body_bytes > COSTLY_BODY_BYTES
    return False


class CostlyLane:
    """ASGI middleware passing costly requests to the lane at ``socket_path``.

    The relay speaks HTTP/1.1 with h11 over a fresh Unix connection per request:
    httpx's client machinery cost the worker more CPU per relayed picture (2.3 ms)
    than building the picture itself (1.7 ms). A connection per request also
    means a request is never written onto a kept-alive connection to a lane that
    died meanwhile, where it could not be told apart from one the lane took and
    did not answer: a dead lane refuses the connect, and the request is answered
    here."""

    def __init__(self, app: ASGIApp, socket_path: str, answer: Callable[[Exception], Response]) -> None:
        self.app = app
        self.socket_path = socket_path
        self.handover = handover_path(socket_path)
        self.answer = answer  # http.problem_for
        self.turns = Turns()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = str(scope["method"]), str(scope.get("path", ""))
        if method == "GET":
            stream = path == STREAM_PATH
            if not stream and not costly(method, path, None):
                await self.app(scope, receive, send)
                return
            hand_over = scope.get("extensions", {}).get(HANDOVER_KEY)
            if hand_over is not None and await hand_over(self.handover):
                return  # the lane answers the client itself
            if stream:  # a stream is served where it can be: relaying it would cost as much
                await self.app(scope, receive, send)
                return
            body = b""
        elif method == "POST" and path in SIZED_WRITES:
            whole = await _whole_body(receive)
            if whole is None:
                return  # the client went away before its body ended: nothing to answer
            body = whole
            if not costly(method, path, len(body)):
                await self.app(scope, _replay(body, receive), send)
                return
        else:
            await self.app(scope, receive, send)
            return
        try:
            async with self.turns.turn(party_of(scope)):
                await self._pass_on(scope, body, receive, send)
        except TooManyCostly as exc:
            await self.answer(exc)(scope, _replay(body, receive), send)

    async def _pass_on(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.socket_path, limit=_READ), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            log.warning("the costly lane is away (%s); answering here", exc)
            await self.app(scope, _replay(body, receive), send)
            return
        relay = _Relay(send)
        try:
            await asyncio.wait_for(relay.run(_request(scope, body), reader, writer), LANE_TIMEOUT_S)
        except (OSError, TimeoutError, EOFError, h11.ProtocolError) as exc:
            if not relay.started:
                await self._unavailable(scope, receive, send, exc)
            # else: the client sees a truncated answer, as it would from the lane itself.
        finally:
            writer.close()

    async def _unavailable(self, scope: Scope, receive: Receive, send: Send, exc: BaseException) -> None:
        log.warning("the costly lane did not answer: %r", exc)
        problem = Unavailable("the request was taken by the service's costly lane, which did not answer; "
                              "retry (a submit with the same Idempotency-Key answers whether it was accepted)")
        with contextlib.suppress(OSError):  # the client may be the one that went away
            await self.answer(problem)(scope, receive, send)


class LaneTurns:
    """In the lane: each party's costly reads one at a time, the rest waiting
    their turn up to a bound (429 past it), whichever worker handed them over."""

    def __init__(self, app: ASGIApp, answer: Callable[[Exception], Response]) -> None:
        self.app = app
        self.answer = answer
        self.turns = Turns()
        self.rest_factor = 1.0 / costly_share() - 1.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":  # whether relayed or handed over
                message = {**message, "headers": [*message.get("headers", []), (LANE_HEADER, b"costly")]}
            await send(message)

        if not costly(str(scope["method"]), str(scope.get("path", "")), None):
            await self.app(scope, receive, marked)
            return
        party = party_of(scope)
        try:
            await self.turns.take(party)
        except TooManyCostly as exc:
            await self.answer(exc)(scope, receive, marked)
            return
        started = time.monotonic()
        try:
            await self.app(scope, receive, marked)
            # The answer is sent; the party's turn is held a while more (its share).
            await asyncio.sleep(min((time.monotonic() - started) * self.rest_factor, COSTLY_REST_MAX_S))
        finally:
            self.turns.give_back(party)


def _request(scope: Scope, body: bytes) -> list[h11.Request | h11.Data | h11.EndOfMessage]:
    target = bytes(scope.get("raw_path") or str(scope.get("path", "")).encode())
    if query := scope.get("query_string", b""):
        target += b"?" + query
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() not in _HOP | _REQUEST_ONLY]
    head = [(b"host", b"lane"), (b"connection", b"close"), (b"content-length", str(len(body)).encode()), *headers]
    out: list[h11.Request | h11.Data | h11.EndOfMessage] = [
        h11.Request(method=str(scope["method"]).encode(), target=target, headers=head)]
    if body:
        out.append(h11.Data(data=body))
    out.append(h11.EndOfMessage())
    return out


class _Relay:
    """One request to the lane, its answer passed on to ``send`` as it comes."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False  # once the answer has begun, a failure cannot become a problem

    async def run(self, request: list[h11.Request | h11.Data | h11.EndOfMessage], reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.CLIENT)
        for event in request:
            writer.write(conn.send(event) or b"")
        await writer.drain()
        while True:
            got = conn.next_event()
            if got is h11.NEED_DATA:
                data = await reader.read(_READ)
                if not data:
                    raise EOFError("the lane closed the connection before its answer ended")
                conn.receive_data(data)
            elif isinstance(got, h11.Response):
                out = [(k, v) for k, v in got.headers if k not in _HOP]
                await self.send({"type": "http.response.start", "status": got.status_code, "headers": out})
                self.started = True
            elif isinstance(got, h11.Data):
                await self.send({"type": "http.response.body", "body": bytes(got.data), "more_body": True})
            elif isinstance(got, h11.EndOfMessage):
                await self.send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            elif isinstance(got, h11.ConnectionClosed):
                raise EOFError("the lane closed the connection before its answer ended")
            # h11.InformationalResponse (a 100 Continue): nothing to pass on


async def _whole_body(receive: Receive) -> bytes | None:
    """The request's body (BodyLimit, outside, bounds it); None if the client
    went away before it ended (a truncated body is never passed on)."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, then the client's own messages (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
