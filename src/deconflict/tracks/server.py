"""The TAK-facing servers: CoT over TCP, TLS and UDP, SBS-1 in; alerts and the picture out.

Everything network runs on one asyncio loop in its own thread; the judging runs
on the evaluator thread (:class:`~deconflict.tracks.tracker.Evaluator`), fed by
the fair queue. A TCP connection is a conversation: what a client sends is
judged, and the same connection carries back its party's alerts (``b-a-g``,
repeated until acknowledged or cancelled; ``b-a-o-can``) and the picture
(measures and the declarations the party may see).

Binding: on TLS, the client certificate (issued by ``deconflict cert issue``)
names the credential; on plain TCP, the first message must carry a token
(``<detail><__deconflict token="dcf_..."/></detail>``); on UDP, every datagram
must. The credential is checked again on every read: revoked or expired, the
connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deconflict.codecs import cot
from deconflict.errors import DeconflictError, InvalidInput
from deconflict.model import Declaration, Measure
from deconflict.service.auth import Principal
from deconflict.service.deconflict import Deconflict
from deconflict.tracks import picture as pic
from deconflict.tracks.alerts import Alert
from deconflict.tracks.certs import credential_of
from deconflict.tracks.feeds import FairQueue, Feed
from deconflict.tracks.report import Report
from deconflict.tracks.sbs import MAX_LINE, SbsDecoder
from deconflict.tracks.tracker import Evaluator, Tracker

#: TAK's usual ports.
DEFAULT_TCP = 8087
DEFAULT_UDP = 8087
DEFAULT_TLS = 8089
#: Messages waiting to be written to one client; beyond, the oldest are dropped.
OUT_QUEUE = 2_000
READ_CHUNK = 65_536
MAX_CONNECTIONS = 1_000
#: A connection that has not bound itself to a credential within this is closed.
AUTH_TIMEOUT_S = 10.0


@dataclass(eq=False)
class Conn:
    writer: asyncio.StreamWriter
    name: str
    principal: Principal | None = None
    feed: Feed | None = None
    proto: bool = False
    out: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(OUT_QUEUE))
    shapes: set[str] = field(default_factory=set)
    dropped_out: int = 0

    def send(self, ev: cot.CotEvent, detail: str) -> None:
        data = cot.to_wire(ev, detail, self.proto)
        if self.out.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.out.get_nowait()
            self.dropped_out += 1
        self.out.put_nowait(data)


def report_of(ev: cot.CotEvent, party: str, feed: str, now: datetime) -> Report:
    """A CoT position report as a :class:`Report` (aircraft: third atom of the type is ``A``)."""
    if not ev.uid:
        raise InvalidInput("event.uid", "a report needs a uid")
    parts = ev.type.split("-")
    air = len(parts) >= 3 and parts[0] == "a" and parts[2] == "A"
    hae = ev.hae if math.isfinite(ev.hae) and ev.hae < cot.UNKNOWN_HAE else math.nan
    return Report(party, ev.uid, ev.lon, ev.lat, ev.time or now, air, hae, ev.course, ev.speed, feed,
                  link=ev.link, cot_type=ev.type)


class TakServer:
    def __init__(self, tracker: Tracker, *, host: str = "127.0.0.1", tcp: int | None = None,
                 udp: int | None = None, tls: int | None = None, tls_context: ssl.SSLContext | None = None,
                 sbs: tuple[str, int] | None = None, queue: FairQueue | None = None) -> None:
        self.tracker = tracker
        self.hotline = tracker.hotline
        self.host = host
        self.want = {"tcp": tcp, "udp": udp, "tls": tls}
        self.tls_context = tls_context
        self.sbs = sbs
        self.queue = queue or FairQueue()
        self.ports: dict[str, int] = {}
        self.conns: set[Conn] = set()
        self.counters: dict[str, int] = {"unauthenticated": 0, "malformed": 0, "oversized": 0, "refused": 0,
                                         "sbs_lines": 0, "sbs_malformed": 0, "udp_datagrams": 0}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._picture_head = -1
        self.evaluator = Evaluator(tracker, self.queue.take)
        tracker.listeners.append(self._on_alert)

    # -- life ---------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tak-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        self.evaluator.start()

    def stop(self) -> None:
        # A stopped server hears no more alerts (its loop is closed: telling it
        # raised in the tracker, and a batch's answer was a 500).
        with contextlib.suppress(ValueError):
            self.tracker.listeners.remove(self._on_alert)
        if self.loop is not None and self._stopping is not None:
            self.loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)
        self.evaluator.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        servers: list[asyncio.Server] = []
        transports: list[asyncio.DatagramTransport] = []
        tasks: list[asyncio.Task[None]] = []
        if self.want["tcp"] is not None:
            tcp = await asyncio.start_server(lambda r, w: self._client(r, w, False), self.host, self.want["tcp"],
                                             limit=READ_CHUNK)
            servers.append(tcp)
            self.ports["tcp"] = tcp.sockets[0].getsockname()[1]
        if self.want["tls"] is not None:
            if self.tls_context is None:
                raise InvalidInput("--cot-tls", "TLS needs the certificate authority (deconflict cert)")
            tls = await asyncio.start_server(lambda r, w: self._client(r, w, True), self.host, self.want["tls"],
                                             ssl=self.tls_context, ssl_handshake_timeout=10, limit=READ_CHUNK)
            servers.append(tls)
            self.ports["tls"] = tls.sockets[0].getsockname()[1]
        if self.want["udp"] is not None:
            tr, _p = await self.loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=(self.host,
                                                                                               self.want["udp"]))
            transports.append(tr)
            self.ports["udp"] = tr.get_extra_info("sockname")[1]
        if self.sbs is not None:
            tasks.append(asyncio.create_task(self._sbs_client(*self.sbs)))
        tasks.append(asyncio.create_task(self._repeat()))
        self._ready.set()
        await self._stopping.wait()
        for t in tasks:
            t.cancel()
        for s in servers:
            s.close()
        for c in list(self.conns):
            c.writer.close()
        for tr in transports:
            tr.close()
        for s in servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.wait_closed(), 2)

    # -- binding ---------------------------------------------------------------------
    def _principal(self, token: str) -> Principal:
        who = self.hotline.authenticate(token)
        if who.is_admin or not who.party:
            raise InvalidInput("token", "a feed is a party's: an administrator's credential cannot send tracks")
        return who

    def _still_valid(self, who: Principal) -> bool:
        cred = self.hotline.keyring.get(who.credential_id)
        if cred is None or cred.revoked_at is not None:
            return False
        return cred.expires_at is None or datetime.now(UTC) < cred.expires_at

    def _cert_principal(self, writer: asyncio.StreamWriter) -> Principal:
        sslobj = writer.get_extra_info("ssl_object")
        cid, party = credential_of(sslobj.getpeercert() if sslobj is not None else None)
        cred = self.hotline.keyring.get(cid)
        if cred is None or cred.party != party or not self._still_valid(cred.principal()):
            raise InvalidInput("certificate", "the certificate's credential is unknown, revoked or expired")
        return cred.principal()

    # -- a TCP or TLS client ----------------------------------------------------------------
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tls: bool) -> None:
        peer = writer.get_extra_info("peername")
        conn = Conn(writer, f"{'tls' if tls else 'tcp'}:{peer[0]}:{peer[1]}" if peer else "tcp")
        if len(self.conns) >= MAX_CONNECTIONS:
            writer.close()
            return
        self.conns.add(conn)
        sender = asyncio.create_task(self._sender(conn))
        xml = cot.XmlFramer()
        stream = cot.StreamFramer()
        try:
            if tls:
                try:
                    self._bind(conn, self._cert_principal(writer))
                except DeconflictError:
                    self.counters["unauthenticated"] += 1
                    return
            deadline = time.monotonic() + AUTH_TIMEOUT_S
            while True:
                timeout = None if conn.principal is not None else max(0.1, deadline - time.monotonic())
                try:
                    data = await asyncio.wait_for(reader.read(READ_CHUNK), timeout)
                except TimeoutError:
                    self.counters["unauthenticated"] += 1
                    return
                if not data:
                    return
                if conn.principal is not None and not self._still_valid(conn.principal):
                    return  # revoked or expired mid-stream
                # The reports of one read go to the evaluator together (one lock, one wake-up).
                got: list[Report] = []
                if conn.proto:
                    try:
                        payloads = stream.feed(data)
                    except cot.CotError:
                        self._count(conn, "malformed")
                        return  # no delimiter to resynchronise on
                    for p in payloads:
                        self._message(conn, p, True, got)
                else:
                    before = xml.oversized
                    msgs = xml.feed(data)
                    if xml.oversized != before:
                        self._count(conn, "oversized", xml.oversized - before)
                    for k, m in enumerate(msgs):
                        if not self._message(conn, m, False, got):
                            self._flush(conn, got)
                            return
                        if conn.proto:
                            # Switched to TAK protocol: the rest is framed anew.
                            rest = b"".join(msgs[k + 1:]) + xml.take_rest()
                            if rest.strip():
                                try:
                                    for p in stream.feed(rest.lstrip()):
                                        self._message(conn, p, True, got)
                                except cot.CotError:
                                    self._count(conn, "malformed")
                                    self._flush(conn, got)
                                    return
                            break
                self._flush(conn, got)
        except (ConnectionError, ssl.SSLError, OSError):
            return
        finally:
            self.conns.discard(conn)
            if conn.feed is not None:
                self.queue.close(conn.feed)
            sender.cancel()
            with contextlib.suppress(Exception):
                writer.close()

    def _count(self, conn: Conn, what: str, n: int = 1) -> None:
        self.counters[what] += n
        if conn.feed is not None and hasattr(conn.feed, what):
            setattr(conn.feed, what, getattr(conn.feed, what) + n)

    def _bind(self, conn: Conn, who: Principal) -> None:
        conn.principal = who
        conn.feed = self.queue.open(conn.name, who.party, who.credential_id)
        # Offer TAK protocol v1, then the picture and the alerts owed.
        conn.out.put_nowait(cot.takp_offer())
        self._send_picture(conn)
        for alert in self.tracker.due(who.party, time.monotonic()):
            self._send_alert(conn, alert)

    def _flush(self, conn: Conn, got: list[Report]) -> None:
        if got and conn.feed is not None:
            self.queue.put_many(conn.feed, got)
            got.clear()

    def _message(self, conn: Conn, data: bytes, proto: bool, sink: list[Report] | None = None) -> bool:
        """Handle one message; False closes the connection (unauthenticated).
        Reports go to ``sink`` when given, else straight to the queue."""
        try:
            ev = cot.parse_proto(data) if proto else cot.parse_xml(data)
        except cot.CotError:
            self._count(conn, "malformed")
            return True
        if conn.principal is None:
            try:
                self._bind(conn, self._principal(ev.token))
            except DeconflictError:
                self.counters["unauthenticated"] += 1
                return False
        who = conn.principal
        assert who is not None and conn.feed is not None
        t = ev.type
        if t == cot.TAKP_REQUEST:
            ok = ev.takp == "1"
            conn.out.put_nowait(cot.takp_response(ok))
            conn.proto = conn.proto or ok
            return True
        if t == cot.PING:
            conn.send(cot.pong(datetime.now(UTC)), "")
            return True
        if not t.startswith("a-") or math.isnan(ev.lat):
            return True  # not a position report: relayed by TAK servers, ignored here
        try:
            r = report_of(ev, who.party, conn.feed.name, datetime.now(UTC))
            r.check()
        except InvalidInput:
            self._count(conn, "refused")
            conn.feed.malformed += 1
            return True
        if sink is not None:
            sink.append(r)
        else:
            self.queue.put(conn.feed, r)
        return True

    async def _sender(self, conn: Conn) -> None:
        w = conn.writer
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while True:
                data = await conn.out.get()
                w.write(data)
                while not conn.out.empty() and w.transport.get_write_buffer_size() < 1 << 20:
                    w.write(conn.out.get_nowait())
                await w.drain()

    # -- out: alerts and the picture --------------------------------------------------------
    def _on_alert(self, party: str, alert: Alert, what: str) -> None:
        """On the evaluator's thread."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closing meanwhile
                loop.call_soon_threadsafe(self._dispatch, party, alert, what)

    def _dispatch(self, party: str, alert: Alert, what: str) -> None:
        mine = [c for c in self.conns if c.principal is not None and c.principal.party == party]
        if not mine:
            return
        if what == "raise":
            alert.sent[party] = time.monotonic()
            for c in mine:
                self._send_alert(c, alert)
        else:
            lon, lat = alert.point_for(party)
            ev, detail = cot.cancel_event(f"dcf.alert.{alert.id}", lon, lat, datetime.now(UTC))
            for c in mine:
                c.send(ev, detail)

    def _send_alert(self, conn: Conn, alert: Alert) -> None:
        assert conn.principal is not None
        party = conn.principal.party
        view = alert.view(party, "active")
        lon, lat = alert.point_for(party)
        now = datetime.now(UTC)
        from datetime import timedelta

        ev, detail = cot.alert_event(f"dcf.alert.{alert.id}", lat, lon, now, now + timedelta(minutes=5),
                                     alert.rule, view["text"])
        conn.send(ev, detail)

    def _shapes(self, party: str) -> dict[str, pic.Shape]:
        def copy(s: Deconflict) -> tuple[list[Measure], list[Declaration]]:
            return s.measures(), list(s.engine.declarations())

        measures, decls = self.hotline.read_service(copy)
        return pic.picture(party, measures, decls)

    def _send_picture(self, conn: Conn) -> None:
        assert conn.principal is not None
        shapes = self._shapes(conn.principal.party)
        now = datetime.now(UTC)
        for uid in sorted(conn.shapes - shapes.keys()):
            ev, detail = cot.delete_event(uid, now)
            conn.send(ev, detail)
        for uid in sorted(shapes.keys() - conn.shapes):
            conn.send(*shapes[uid])
        conn.shapes = set(shapes)

    async def _repeat(self) -> None:
        """b-a-g again until acknowledged; the picture again when the log moved."""
        while True:
            await asyncio.sleep(1.0)
            try:
                head = self.hotline.head
                if head != self._picture_head:
                    self._picture_head = head
                    by_party: dict[str, list[Conn]] = {}
                    for c in self.conns:
                        if c.principal is not None:
                            by_party.setdefault(c.principal.party, []).append(c)
                    for conns in by_party.values():
                        for c in conns:
                            self._send_picture(c)
                mono = time.monotonic()
                parties = {c.principal.party for c in self.conns if c.principal is not None}
                for party in parties:
                    due = self.tracker.due(party, mono)
                    if due:
                        for c in self.conns:
                            if c.principal is not None and c.principal.party == party:
                                for alert in due:
                                    self._send_alert(c, alert)
            except DeconflictError:
                continue

    # -- SBS-1 --------------------------------------------------------------------------------
    async def _sbs_client(self, host: str, port: int) -> None:
        feed = self.queue.open(f"sbs:{host}:{port}", "")
        dec = SbsDecoder(feed.name)
        backoff = 0.5
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE * 4)
            except OSError:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 0.5
            try:
                while True:
                    try:
                        raw = await reader.readuntil(b"\n")
                    except asyncio.LimitOverrunError:
                        self.counters["sbs_malformed"] += 1
                        await reader.read(MAX_LINE * 4)
                        continue
                    except asyncio.IncompleteReadError:
                        break
                    self.counters["sbs_lines"] += 1
                    before = dec.malformed
                    r = dec.line(raw.decode("ascii", "replace"), datetime.now(UTC))
                    if dec.malformed != before:
                        self.counters["sbs_malformed"] += 1
                        feed.malformed += 1
                    if r is not None:
                        self.queue.put(feed, r)
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()
            await asyncio.sleep(backoff)

    def stats(self) -> dict[str, Any]:
        return {"ports": self.ports, "connections": len(self.conns), **self.counters,
                "feeds": self.queue.feeds(), "totals": self.queue.totals(), "tracker": self.tracker.counters(),
                "evaluator_errors": self.evaluator.errors}


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: TakServer) -> None:
        self.server = server
        self.feeds: dict[str, Feed] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        s = self.server
        s.counters["udp_datagrams"] += 1
        try:
            ev = cot.parse_mesh(data) if data.startswith(cot.MESH_HEADER) else cot.parse_xml(data)
        except cot.CotError:
            s.counters["malformed"] += 1
            return
        try:
            who = s._principal(ev.token)
        except DeconflictError:
            s.counters["unauthenticated"] += 1
            return
        feed = self.feeds.get(who.credential_id)
        if feed is None:
            if len(self.feeds) > MAX_CONNECTIONS:
                self.feeds.clear()
            feed = self.feeds[who.credential_id] = s.queue.open(f"udp:{who.credential_id}", who.party,
                                                                who.credential_id)
        if not ev.type.startswith("a-") or math.isnan(ev.lat):
            return
        try:
            r = report_of(ev, who.party, feed.name, datetime.now(UTC))
            r.check()
        except InvalidInput:
            s.counters["refused"] += 1
            feed.malformed += 1
            return
        s.queue.put(feed, r)


Factory = Callable[[], TakServer]
