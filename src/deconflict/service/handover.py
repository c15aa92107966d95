"""Handing a client's connection over to the costly lane, socket and all.

Relaying a costly read through the worker (service/lane.py) still cost the
worker about 0.9 ms of CPU per picture, and an open stream cost it about 8 µs
per event per stream: with 1,000 streams or a flood of pictures, a small
submit of another party waited behind that work (issue 9: the canary's p99
at 2.2-2.6 times its idle p99). So a worker hands the connection itself to the
lane: it duplicates the socket's descriptor, passes it over a private Unix
socket (SCM_RIGHTS) with the request's head, and forgets the connection; the
lane answers the client directly, and the worker does no more for it.

The lane serves exactly that one request: the head it is given says
``Connection: close``, so a client that keeps its connection alive comes back
through a worker for its next request (a connection handed over never leaves
behind the routes only a worker serves, such as live tracks).

Who answers is decided in three steps, so that a request is never answered
twice nor left unanswered by a lane that is slow or restarting:

1. the worker sends the head and the descriptor; 2. the lane, holding its copy,
answers ``ACK``; 3. the worker answers ``GO`` and drops its own copy, and the
lane starts only once it has read ``GO``. A worker that sees no ``ACK`` in time,
or cannot send ``GO``, answers the request itself; a lane that reads no ``GO``
drops its copy unanswered. Closing a duplicated descriptor does not end the
connection (no ``shutdown``): the connection lives as long as one copy does.

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
#: The lane has the descriptor and is ready / the worker lets go of it.
ACK: Final = b"A"
GO: Final = b"G"
#: The longest either side waits for the other's step, in seconds: past it the
#: worker answers the request itself (a lane that slow is as good as away).
STEP_TIMEOUT_S: Final = 1.0
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


def request_head(scope: dict[str, Any]) -> bytes:
    """The request line and headers of a bodiless request, as the lane is to
    read them, with ``Connection: close``."""
    target = bytes(scope.get("raw_path") or str(scope.get("path", "")).encode())
    if query := scope.get("query_string", b""):
        target += b"?" + query
    version = str(scope.get("http_version", "1.1")).encode()
    lines = [b"%s %s HTTP/%s" % (str(scope["method"]).encode(), target, version)]
    lines += [k + b": " + v for k, v in scope.get("headers", []) if k.lower() not in _DROPPED]
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
        fd = os.dup(sock.fileno())
        try:
            taken = await _offer(path, request_head(scope), fd)
        finally:
            os.close(fd)
        if not taken:
            self.flow.resume_reading()
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


async def _offer(path: str, head: bytes, fd: int) -> bool:
    """Steps 1 and 3 on the worker's side: True once the lane may answer."""
    loop = asyncio.get_running_loop()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(conn, path), STEP_TIMEOUT_S)
        message = _LEN.pack(len(head)) + head
        # A fresh Unix socket's buffer takes a head this size at once: a send
        # that would block is a lane that is not keeping up, so answer here.
        if socket.send_fds(conn, [message], [fd]) != len(message):
            return False
        if await asyncio.wait_for(loop.sock_recv(conn, 1), STEP_TIMEOUT_S) != ACK:
            return False
        return conn.send(GO) == 1
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

    def __init__(self, path: str, protocol: ProtocolFactory) -> None:
        self.path, self.protocol = path, protocol
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
                head, taken = await asyncio.wait_for(_receive(conn), STEP_TIMEOUT_S)
                client = taken
                await asyncio.get_running_loop().sock_sendall(conn, ACK)
                if await asyncio.wait_for(asyncio.get_running_loop().sock_recv(conn, 1), STEP_TIMEOUT_S) != GO:
                    return  # the worker answers it
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


async def _receive(conn: socket.socket) -> tuple[bytes, socket.socket]:
    """The head and the client's socket a worker sent (ValueError if malformed)."""
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
    data, fds, _flags, _addr = socket.recv_fds(conn, HEAD_MAX + _LEN.size, 1)
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise ValueError("a handover carries exactly one descriptor")
    client = socket.socket(fileno=fds[0])
    try:
        client.setblocking(False)
        if len(data) < _LEN.size:
            data += await _exactly(conn, _LEN.size - len(data))
        (size,) = _LEN.unpack_from(data)
        if size > HEAD_MAX:
            raise ValueError(f"a handed-over head of {size} bytes (at most {HEAD_MAX})")
        head = data[_LEN.size:]
        if len(head) < size:
            head += await _exactly(conn, size - len(head))
        if len(head) != size:
            raise ValueError("a handed-over head longer than it said")
        return head, client
    except BaseException:
        client.close()
        raise


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

