"""Handing a client's connection over to the costly lane, socket and all.

Relaying a costly read through the worker (service/lane.py) still cost the
worker about 0.9 ms of CPU per picture, and an open stream cost it about 8 µs
per event per stream: with 1,000 streams or a flood of pictures, a small
submit of another party waited behind that work (issue 9: the canary's p99
at 2.2-2.6 times its idle p99). So a worker hands the connection itself to the
lane: it duplicates the socket's descriptor, passes it over a private Unix
socket (SCM_RIGHTS) with the request's head, and forgets the connection; the
lane answers the client directly, and the worker does no more for it.

A connection handed over stays with the lane, when the lane serves every route
a worker does, so a client fetching pictures back to back costs the worker
nothing after its first. When it does not (``serve`` with one worker and live
tracks, whose tracker runs inside the worker), the lane answers with
``Connection: close``, and the client's next request comes back to a worker.

Who answers is decided in three steps, so that a request is never answered
twice nor left unanswered by a lane that is slow or restarting:

1. the worker sends the descriptor; 2. the lane, holding its copy, answers
``KEEP`` or ``CLOSE`` (whether it keeps connections); 3. the worker sends the
request's head, and once the whole of it is sent it drops its own copy; the
lane starts only once it has read the whole head. A worker that is not
answered in time, or cannot send the whole head at once, answers the request
itself; a lane that does not get the whole head drops its copy unanswered.
Closing a duplicated descriptor does not end the connection (no ``shutdown``):
the connection lives as long as one copy does.

Only a request whose head is all there is hands over: a GET with no body, not
pipelined behind or ahead of another, on a plain TCP connection (TLS state
cannot be passed on).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from collections.abc import Callable
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

#: The key in an ASGI scope's ``extensions`` under which a worker's connection
#: offers to be handed over: ``await scope["extensions"][HANDOVER_KEY](path)``.
HANDOVER_KEY: Final = "deconflict.handover"
#: The worker offers a descriptor; the lane holds it and keeps connections, or
#: closes them after the request.
OFFER: Final = b"H"
KEEP: Final = b"K"
CLOSE: Final = b"C"
#: The longest either side waits for the other's step, in seconds: past it the
#: worker answers the request itself (a lane that slow is as good as away). Only
#: the request being handed over waits (asynchronously): generous enough that a
#: lane busy for a moment on a loaded machine still takes it.
STEP_TIMEOUT_S: Final = 3.0
#: A request head passed over is at most this long (a worker's parser refuses
#: longer heads before this point is reached).
HEAD_MAX: Final = 1 << 17
#: Handovers the lane takes at once; more wait in the socket's backlog.
BACKLOG: Final = 256
_LEN: Final = struct.Struct("!I")
#: Headers of the client's request not passed on: the lane's answer closes the
#: connection, whatever the client asked.
_DROPPED: Final = frozenset({b"connection", b"keep-alive"})


def handover_path(lane_socket: str) -> str:
    """Where the lane takes handed-over connections, beside its own socket
    (in a directory only this user may enter: cli/child.py)."""
    return lane_socket + ".handover"


def request_head(scope: dict[str, Any], close: bool) -> bytes:
    """The request line and headers of a bodiless request, as the lane is to
    read them (with ``close``, asking it to close the connection after it)."""
    target = bytes(scope.get("raw_path") or str(scope.get("path", "")).encode())
    if query := scope.get("query_string", b""):
        target += b"?" + query
    version = str(scope.get("http_version", "1.1")).encode()
    lines = [b"%s %s HTTP/%s" % (str(scope["method"]).encode(), target, version)]
    headers = scope.get("headers", [])
    lines += [k + b": " + v for k, v in headers if not close or k.lower() not in _DROPPED]
    if close:
        lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


class HandingOver(HttpToolsProtocol):
    """uvicorn's HTTP protocol, offering each request's connection to be
    handed over (``serve`` runs its workers with it)."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        scope = self.scope

        async def hand_over(path: str) -> bool:
            return await self._hand_over(scope, path)

        scope["extensions"] = {HANDOVER_KEY: hand_over}  # type: ignore[dict-item]

    async def _hand_over(self, scope: Any, path: str) -> bool:
        """Pass the connection to the lane at ``path``; False (the connection
        untouched, reading again) when it cannot be, and the caller answers."""
        cycle, transport = self.cycle, self.transport
        if not self._alone(scope) or transport.get_extra_info("sslcontext") is not None:
            return False
        sock = transport.get_extra_info("socket")
        if sock is None:
            return False
        # Nothing more of the client's is read here: whatever it sends next is
        # the lane's to read (or ours again, if the lane does not take it).
        self.flow.pause_reading()
        if not self._alone(scope):  # bytes of another request came in before the pause
            self.flow.resume_reading()
            return False
        taken = False
        fd = os.dup(sock.fileno())
        try:
            taken = await _offer(path, scope, fd)
        finally:
            os.close(fd)
            if not taken:
                self.flow.resume_reading()
        if not taken:
            return False
        # The lane answers; this worker lets go without a word (uvicorn must not
        # answer 500 for a response it never started).
        cycle.disconnected = True
        transport.abort()
        return True

    def _alone(self, scope: Any) -> bool:
        """Whether this request is the connection's only one, read whole."""
        cycle = self.cycle
        return (cycle is not None and cycle.scope is scope and self.scope is scope and not self.pipeline
                and not cycle.more_body and not cycle.body and not cycle.response_started
                and not self.transport.is_closing())


async def _offer(path: str, scope: Any, fd: int) -> bool:
    """Steps 1 and 3 on the worker's side: True once the lane may answer."""
    loop = asyncio.get_running_loop()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(conn, path), STEP_TIMEOUT_S)
        if socket.send_fds(conn, [OFFER], [fd]) != 1:
            return False
        keeps = await asyncio.wait_for(loop.sock_recv(conn, 1), STEP_TIMEOUT_S)
        if keeps not in (KEEP, CLOSE):
            return False
        head = request_head(scope, close=keeps == CLOSE)
        message = _LEN.pack(len(head)) + head
        # Sent whole at once, or not at all: a fresh Unix socket's buffer takes a
        # head this size, and a send that would block is a lane not keeping up.
        return conn.send(message) == len(message)
    except (OSError, TimeoutError) as exc:
        log.info("the costly lane did not take a connection (%r); answering here", exc)
        return False
    finally:
        conn.close()


#: Makes the lane's HTTP protocol for a connection it was handed (uvicorn's).
ProtocolFactory = Callable[[], asyncio.Protocol]


class Receiver:
    """The lane's side: takes connections handed over at ``path`` and serves
    each with a protocol from ``protocol``, as if it had accepted it."""

    def __init__(self, path: str, protocol: ProtocolFactory, keeps: bool) -> None:
        self.path, self.protocol, self.keeps = path, protocol, keeps
        self._listener: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        listener = self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        os.chmod(self.path, 0o600)
        listener.listen(BACKLOG)
        listener.setblocking(False)
        self._task = asyncio.get_running_loop().create_task(self._accept(listener))

    async def stop(self) -> None:
        for task in [self._task, *self._pending]:
            if task is not None:
                task.cancel()
        if self._listener is not None:
            self._listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(listener)
            task = loop.create_task(self._take(conn))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _take(self, conn: socket.socket) -> None:
        client: socket.socket | None = None
        try:
            with conn:
                taken = client = await asyncio.wait_for(_descriptor(conn), STEP_TIMEOUT_S)
                await asyncio.get_running_loop().sock_sendall(conn, KEEP if self.keeps else CLOSE)
                head = await asyncio.wait_for(_head(conn), STEP_TIMEOUT_S)  # else the worker answers it
                await self._serve(taken, head)
                client = None  # the protocol's now
        except (OSError, TimeoutError, ValueError) as exc:
            log.info("a handed-over connection was not taken: %r", exc)
        finally:
            if client is not None:
                client.close()  # our copy only: no shutdown, the worker's copy may answer

    async def _serve(self, client: socket.socket, head: bytes) -> None:
        protocol = self.protocol()
        await asyncio.get_running_loop().connect_accepted_socket(lambda: protocol, client)
        protocol.data_received(head)


async def _descriptor(conn: socket.socket) -> socket.socket:
    """The client's socket a worker offers (ValueError if it offers otherwise)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(conn.fileno(), readable)
    try:
        await ready
    finally:
        loop.remove_reader(conn.fileno())
    data, fds, _flags, _addr = socket.recv_fds(conn, len(OFFER), 1)
    if data != OFFER or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise ValueError("a handover offers exactly one descriptor")
    client = socket.socket(fileno=fds[0])
    client.setblocking(False)
    return client


async def _head(conn: socket.socket) -> bytes:
    """The request's head, whole (ValueError if cut short or too long)."""
    (size,) = _LEN.unpack(await _exactly(conn, _LEN.size))
    if size > HEAD_MAX:
        raise ValueError(f"a handed-over head of {size} bytes (at most {HEAD_MAX})")
    return await _exactly(conn, size)


async def _exactly(conn: socket.socket, n: int) -> bytes:
    loop = asyncio.get_running_loop()
    parts: list[bytes] = []
    while n > 0:
        part = await loop.sock_recv(conn, n)
        if not part:
            raise ValueError("the worker closed a handover midway")
        parts.append(part)
        n -= len(part)
    return b"".join(parts)

