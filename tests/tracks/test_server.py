"""The TAK-facing servers with real sockets on loopback: TCP (XML and TAK protocol after
negotiation), UDP, TLS with a client certificate, SBS-1, hostile input beside a canary,
and alerts on the party's stream (a real HTTP server)."""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from deconflict.codecs import cot
from deconflict.service.auth import Role
from deconflict.service.client import Client
from deconflict.service.http import create_app
from deconflict.tracks import sbs
from deconflict.tracks.certs import Authority
from deconflict.tracks.feeds import FairQueue
from deconflict.tracks.http import mount
from deconflict.tracks.report import Report
from deconflict.tracks.server import TakServer
from tests.codecs.test_cot import BILLION_LAUGHS, XXE
from tests.service.conftest import free_port
from tests.tracks.conftest import World, world

T = datetime(2018, 2, 7, 20, 0, tzinfo=UTC)
IN_S1 = (40.321, 35.361)  # regime ground: inside S1's zone, across M1
IN_ROZ = (40.30, 35.35)  # an aircraft at 3,000 m here is in M2 (the coalition's ROZ)
WAIT_S = 20.0


@dataclass
class Live:
    w: World
    server: TakServer
    url: str
    tokens: dict[str, str]
    authority: Authority


def wait_for(pred: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("tracks-live")
    gen = world(folder / "live.sqlite3")
    w = next(gen)
    authority = Authority(folder / "tak")
    server = TakServer(w.tracker, tcp=0, udp=0, tls=0, tls_context=authority.server_context("127.0.0.1"),
                       queue=FairQueue(per_feed=200))
    server.start()
    tokens = {p: w.hotline.issue_credential(None, p, "feed", Role.PLANNER)[1]
              for p in ("coalition", "regime", "russia", "sdf")}
    app = create_app(w.hotline)
    mount(app, w.tracker, stats=server.stats)
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    wait_for(lambda: uv.started, "the HTTP server")
    try:
        yield Live(w, server, f"http://127.0.0.1:{port}", tokens, authority)
    finally:
        w.hotline.close_streams()
        uv.should_exit = True
        thread.join(10)
        server.stop()
        gen.close()


class Reader:
    """Collects what a socket receives, on a thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.data = bytearray()
        self.closed = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                self.data += chunk
        except OSError:
            pass
        self.closed = True

    def has(self, needle: bytes) -> bool:
        return needle in self.data


def connect(live: Live, party: str) -> tuple[socket.socket, Reader]:
    s = socket.create_connection(("127.0.0.1", live.server.ports["tcp"]))
    return s, Reader(s)


def report(uid: str, type_: str, lon: float, lat: float, token: str = "", hae: float = float("nan")) -> bytes:
    return cot.event_xml(cot.position(uid, type_, lon, lat, T, hae=hae, token=token))


def test_cot_over_tcp_split_across_reads_alerts_on_the_socket_and_the_stream(live: Live) -> None:
    """A regime report split in three reads enters S1's zone: the regime's client gets
    b-a-g, and the coalition (S1's owner) gets the alert on its live stream."""
    events: list[str] = []
    client = Client(live.url, live.tokens["coalition"])
    after = live.w.hotline.head

    def follow() -> None:
        with contextlib.closing(client.stream(after, wait=0.2, timeout=WAIT_S)) as stream:
            for e in stream:
                events.append(f"{e.type} {e.data.get('rule', '')} {e.data.get('object', {}).get('id', '')}")
                if e.type == "alert.raised" and e.data.get("rule") == "track-in-forces-site":
                    return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    s, r = connect(live, "regime")
    msg = report("tcp-col", "a-h-G", *IN_S1, token=live.tokens["regime"])
    for part in (msg[:40], msg[40:len(msg) - 3], msg[len(msg) - 3:]):  # "</event>" split too
        s.sendall(part)
        time.sleep(0.05)
    wait_for(lambda: r.has(b'type="b-a-g"') and r.has(b"dcf.alert."), "b-a-g on the regime's socket")
    reader.join(WAIT_S)
    assert "alert.raised track-in-forces-site S1" in events
    assert r.has(b"t-x-takp-v") and r.has(b'type="u-d-f"') and r.has(b'type="u-d-c-c"')  # offer and picture
    s.close()
    client.close()


def _frames(r: Reader) -> list[cot.CotEvent]:
    raw = bytes(r.data)
    start = raw.find(b"\xbf")
    out = []
    f = cot.StreamFramer()
    try:
        for p in f.feed(raw[start:]) if start >= 0 else []:
            out.append(cot.parse_proto(p))
    except cot.CotError:
        pass
    return out


def test_tak_protocol_after_negotiation(live: Live) -> None:
    s, r = connect(live, "russia")
    s.sendall(report("proto-hello", "a-f-G", 39.0, 34.0, token=live.tokens["russia"]))
    wait_for(lambda: r.has(b"t-x-takp-v"), "the protocol offer")
    s.sendall(cot.takp_request())
    wait_for(lambda: r.has(b"t-x-takp-r") and r.has(b'status="true"'), "the protocol response")
    r.data.clear()
    ev = cot.position("proto-jet", "a-h-A", *IN_ROZ, T, hae=3000.0)
    s.sendall(cot.stream_frame(cot.encode_proto(ev)))
    wait_for(lambda: any(e.type == "b-a-g" for e in _frames(r)), "b-a-g as a TAK protocol frame")
    assert "proto-jet" in {a.subject.uid for a in live.w.tracker.alerts.values()}
    s.close()


def test_udp_xml_and_mesh(live: Live) -> None:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addr = ("127.0.0.1", live.server.ports["udp"])
    u.sendto(report("udp-x", "a-h-G", *IN_S1, token=live.tokens["regime"]), addr)
    u.sendto(cot.mesh_datagram(cot.position("udp-m", "a-h-A", *IN_ROZ, T, hae=3000.0,
                                            token=live.tokens["sdf"])), addr)
    u.sendto(report("udp-nobody", "a-h-G", *IN_S1), addr)  # no token: dropped
    wait_for(lambda: {"udp-x", "udp-m"} <= {a.subject.uid for a in live.w.tracker.alerts.values()},
             "alerts from both datagrams")
    assert "udp-nobody" not in live.w.tracker.assets
    u.close()


def _tls_client(live: Live, folder: Path) -> tuple[ssl.SSLContext, str]:
    cred_id = live.w.hotline.issue_credential(None, "regime", "tls-member", Role.PLANNER)[0].id
    package, password = live.authority.data_package("regime", "tls-member", cred_id, "127.0.0.1",
                                                    live.server.ports["tls"])
    z = zipfile.ZipFile(io.BytesIO(package))
    assert set(z.namelist()) == {"cert/server.pref", "cert/truststore.p12", "cert/tls-member.p12",
                                 "MANIFEST/manifest.xml"}
    key, cert, extra = pkcs12.load_key_and_certificates(z.read("cert/tls-member.p12"), password.encode())
    assert key is not None and cert is not None and extra
    (folder / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                     serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ctx = ssl.create_default_context(cadata=live.authority.ca_pem().decode())
    ctx.load_cert_chain(folder / "c.pem", folder / "k.pem")
    return ctx, cred_id


def test_tls_with_a_client_certificate_and_revocation(live: Live, tmp_path: Path) -> None:
    ctx, cred_id = _tls_client(live, tmp_path)
    raw = socket.create_connection(("127.0.0.1", live.server.ports["tls"]))
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    r = Reader(s)
    s.sendall(report("tls-col", "a-h-G", *IN_S1))  # no token: the certificate binds the feed
    wait_for(lambda: r.has(b'type="b-a-g"'), "b-a-g over TLS")
    live.w.hotline.revoke_credential(None, cred_id)
    s.sendall(report("tls-col", "a-h-G", 40.0, 35.0))
    wait_for(lambda: r.closed, "the connection closed after revocation")
    # A client without a certificate is refused at the handshake.
    s.close()
    bare = ssl.create_default_context(cadata=live.authority.ca_pem().decode())
    got = b"?"
    with socket.create_connection(("127.0.0.1", live.server.ports["tls"])) as raw2:
        try:
            with bare.wrap_socket(raw2, server_hostname="127.0.0.1") as t:
                t.sendall(report("tls-anon", "a-h-G", *IN_S1))
                got = t.recv(10)
        except (ssl.SSLError, OSError):
            got = b""
    assert got == b""
    assert "tls-anon" not in live.w.tracker.assets


def test_hostile_input_beside_a_canary(live: Live) -> None:
    """Billion laughs, XXE, an oversized message, garbage and a flood on one connection;
    the canary's reports are judged all along and the hostile connection survives."""
    canary, _cr = connect(live, "sdf")
    canary.sendall(report("canary-0", "a-f-G", 40.0, 36.0, token=live.tokens["sdf"]))
    wait_for(lambda: "canary-0" in live.w.tracker.assets, "the canary")
    bad, br = connect(live, "russia")
    bad.sendall(report("hostile-hello", "a-h-G", 39.0, 36.0, token=live.tokens["russia"]))
    before = dict(live.server.counters)
    big = b"<event uid='big' type='a-h-G'><detail><remarks>" + b"A" * (3 * cot.MAX_MESSAGE_BYTES) + \
        b"</remarks></detail></event>"
    for junk in (BILLION_LAUGHS, XXE, b"<event uid='x'><point lat='nan'/></event>", b"\x00\x01garbage</event>",
                 big):
        bad.sendall(junk)
    flood = report("flood", "a-h-G", 39.1, 36.1) * 3000
    bad.sendall(flood)
    for k in range(1, 20):
        canary.sendall(report(f"canary-{k}", "a-f-G", 40.0, 36.0 + k / 1000))
    # The flood filled its own queue (new reports dropped, counted); once it has
    # drained, the same connection is served again.
    wait_for(lambda: live.server.queue.totals()["accepted"] >= 200 and all(
        f["queued"] == 0 for f in live.server.queue.feeds()), "the flood drained")
    bad.sendall(report("hostile-after", "a-h-G", 39.2, 36.2))
    wait_for(lambda: "canary-19" in live.w.tracker.assets, "every canary report")
    wait_for(lambda: "hostile-after" in live.w.tracker.assets, "the hostile connection still served")
    after = live.server.counters
    assert after["malformed"] - before["malformed"] >= 4
    assert after["oversized"] - before["oversized"] >= 1
    assert not br.closed
    # Every report of the flooding feed is accounted for: judged or dropped (its own
    # queue holds 200; how many overflow depends on the evaluator's pace), none of the canary's.
    [flooder] = [f for f in live.server.queue.feeds() if f["feed"].startswith("tcp") and f["party"] == "russia"
                 and f["accepted"] + f["dropped"] == 3002]
    assert flooder["malformed"] >= 4 and flooder["oversized"] >= 1
    assert [f for f in live.server.queue.feeds() if f["party"] == "sdf" and f["accepted"] == 20
            and f["dropped"] == 0]
    # A connection that never binds is closed; one with a malformed TAK frame too.
    stranger, sr = connect(live, "")
    stranger.sendall(report("stranger", "a-h-G", 40.0, 35.0, token="dcf_nope_nope"))
    wait_for(lambda: sr.closed, "the unauthenticated connection closed")
    stranger.close()
    canary.close()
    bad.close()


def test_sbs1_aircraft_entering_the_roz_alerts_the_coalition(live: Live) -> None:
    lines = [sbs.line("ABC123", 40.10, 35.35, 9800.0, T, msg=4, speed_kt=300, track=90),
             sbs.line("ABC123", 40.10, 35.35, 9800.0, T),  # outside the ROZ
             "garbage line\n",
             sbs.line("ABC123", *IN_ROZ, 9800.0, T)]  # 2,987 m: inside
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        conn.sendall("".join(lines).encode())
        time.sleep(WAIT_S)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    server = TakServer(live.w.tracker, sbs=listener.getsockname())
    server.start()
    try:
        wait_for(lambda: any(a.subject.uid == "icao-ABC123" and a.rule == "track-in-roz"
                             for a in live.w.tracker.alerts.values()), "the ROZ alert")
        alert = next(a for a in live.w.tracker.alerts.values() if a.subject.uid == "icao-ABC123"
                     and a.rule == "track-in-roz")
        assert alert.parties() == ["coalition"]
        assert server.counters["sbs_malformed"] == 1
    finally:
        server.stop()
        listener.close()
    # Regression: a stopped server was still told of alerts, on its closed loop, and
    # the tracker raised (the HTTP batch that came next answered 500).
    live.w.tracker.process([Report("regime", "after-stop", *IN_S1, T, False)])
    assert "after-stop" in {a.subject.uid for a in live.w.tracker.alerts.values()}


def test_http_batch_and_reads(live: Live) -> None:
    c = Client(live.url, live.tokens["regime"])
    body = {"reports": [{"uid": "http-col", "lon": IN_S1[0], "lat": IN_S1[1], "time": "2018-02-07T20:00:00Z"}]}
    r = c.http.post("/v1/tracks/reports", json=body)
    assert r.status_code == 202, r.text
    assert {a["rule"] for a in r.json()["alerts"]} >= {"track-in-forces-site"}
    assert "http-col" in {t["uid"] for t in c.http.get("/v1/tracks").json()}
    assert len(c.http.get("/v1/tracks/http-col/history").json()) == 1
    bad = c.http.post("/v1/tracks/reports", json={"reports": [{"uid": "x", "lon": 200, "lat": 0,
                                                               "time": "2018-02-07T20:00:00Z"}]})
    assert bad.status_code == 422 and bad.json()["field"].startswith("reports[0]")
    other = Client(live.url, live.tokens["russia"])
    assert other.http.get("/v1/tracks/http-col/history").status_code in (200, 404)
    anonymous = Client(live.url)
    assert anonymous.http.get("/v1/tracks").status_code == 401
    anonymous.close()
    c.close()
    other.close()


def test_the_picture_follows_disclosure(live: Live) -> None:
    """S4 (sdf's, shared with the coalition only) is drawn for the coalition, not for russia."""
    seen = {}
    for party in ("coalition", "russia"):
        s, r = connect(live, party)
        s.sendall(report(f"pic-{party}", "a-f-G", 38.0, 34.0, token=live.tokens[party]))
        wait_for(lambda r=r: r.data.count(b"</event>") >= 10, "the picture")
        time.sleep(0.2)
        seen[party] = bytes(r.data)
        s.close()
    assert b"dcf.declaration.S4." in seen["coalition"] and b"dcf.declaration.S4." not in seen["russia"]
    assert b"dcf.measure.M1." in seen["russia"] and b"Euphrates deconfliction line" in seen["russia"]
