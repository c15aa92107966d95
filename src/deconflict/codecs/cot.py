"""Cursor-on-Target: CoT XML and TAK protocol version 1, in and out.

Parsing is hostile-input first:

* **No DTD at all.** The standard library's expat parser is used with a
  forbidding policy: a document type declaration, an entity declaration or an
  external entity reference aborts the parse. With no DTD no entity can be
  declared, so billion-laughs (exponential expansion) and XXE (external
  entities, file or network reads) cannot happen; only the five predefined
  entities and character references remain. This needs no dependency
  (defusedxml does the same for ElementTree, with a parser object per call).
* **Bounded.** A message larger than ``MAX_MESSAGE_BYTES`` is refused before it
  is parsed, and the TCP framers never buffer more than that.
* **Malformed input raises :class:`CotError`** (an ``InvalidInput``): the caller
  counts it and drops the message, and the connection goes on.

TAK protocol v1 (https://github.com/deptofdefense/AndroidTacticalAssaultKit-CIV,
``takproto/README.md``): the payload is a ``TakMessage`` protobuf; on UDP a mesh
datagram is ``0xbf 0x01 0xbf`` then the payload; on a stream, after the
``t-x-takp-v/q/r`` negotiation, each message is ``0xbf``, a varint length and
the payload. The protobuf classes come from ``takproto``.
"""

from __future__ import annotations

import math
import xml.parsers.expat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from deconflict.errors import InvalidInput

#: The largest CoT message accepted (XML or protobuf). A position report is a
#: few hundred bytes; a shape with many vertices a few kilobytes.
MAX_MESSAGE_BYTES = 64 * 1024
#: Nesting deeper than this is refused (a CoT event is three levels deep).
MAX_DEPTH = 16
END_TAG = b"</event>"
MESH_HEADER = b"\xbf\x01\xbf"
STREAM_MAGIC = 0xBF

# Types of the control messages.
TAKP_VERSION = "t-x-takp-v"
TAKP_REQUEST = "t-x-takp-q"
TAKP_RESPONSE = "t-x-takp-r"
PING = "t-x-c-t"
PONG = "t-x-c-t-r"
ALERT = "b-a-g"
ALERT_CANCEL = "b-a-o-can"
DELETE = "t-x-d-d"
SHAPE = "u-d-f"
CIRCLE = "u-d-c-c"


class CotError(InvalidInput):
    """A CoT message that cannot be taken: malformed, too large, or hostile."""


@dataclass(slots=True)
class CotEvent:
    """The fields of a CoT event this service reads (everything else is ignored)."""

    uid: str = ""
    type: str = ""
    how: str = ""
    time: datetime | None = None
    start: datetime | None = None
    stale: datetime | None = None
    lat: float = math.nan
    lon: float = math.nan
    hae: float = math.nan  # metres above the ellipsoid; 9999999 in CoT means unknown
    ce: float = math.nan
    le: float = math.nan
    course: float = math.nan  # degrees true
    speed: float = math.nan  # metres per second
    callsign: str = ""
    token: str = ""  # <__deconflict token="..."/>: binds a plain TCP or UDP feed
    link: str = ""  # <__deconflict declaration="..."/>: the declaration this asset executes
    takp: str = ""  # version in a TakControl request/offer, "true"/"false" in a response
    extra: dict[str, str] = field(default_factory=dict)


UNKNOWN_HAE = 9_999_999.0


#: Recent times parsed (a stream's time and start are usually the same text, and
#: many reports share a second): bounded, emptied when full.
_TIMES: dict[str, datetime] = {}
_TIMES_MAX = 4096


def parse_time(text: str, name: str) -> datetime:
    """A CoT time (W3C XML dateTime, UTC)."""
    got = _TIMES.get(text)
    if got is not None:
        return got
    t = _parse_time(text, name)
    if len(_TIMES) >= _TIMES_MAX:
        _TIMES.clear()
    _TIMES[text] = t
    return t


def _parse_time(text: str, name: str) -> datetime:
    s = text.strip()
    if len(s) > 40:
        raise CotError(name, "time too long")
    try:
        if s.endswith(("Z", "z")):
            s = s[:-1] + "+00:00"
        # Python < 3.11 needed exactly 3 or 6 fraction digits; 3.11 takes any.
        t = datetime.fromisoformat(s)
    except ValueError:
        raise CotError(name, f"not a time: {text[:40]!r}") from None
    if t.tzinfo is None:
        raise CotError(name, "time without a timezone")
    return t.astimezone(UTC)


def format_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _float(attrs: dict[str, str], key: str, name: str) -> float:
    v = attrs.get(key)
    if v is None or v == "":
        return math.nan
    try:
        f = float(v)
    except ValueError:
        raise CotError(name, f"not a number: {v[:20]!r}") from None
    if not math.isfinite(f):
        raise CotError(name, "not a finite number")
    return f


class _Forbidden(Exception):
    pass


def _forbid(*_args: object) -> None:
    raise _Forbidden


def parse_xml(data: bytes) -> CotEvent:
    """One CoT ``<event>``, parsed without DTDs or entities, bounded in size."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise CotError("event", f"message larger than {MAX_MESSAGE_BYTES} bytes")
    ev = CotEvent()
    attrs_of: dict[str, dict[str, str]] = {}
    depth = 0
    stack: list[str] = []
    root_seen = False

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth, root_seen
        depth += 1
        if depth > MAX_DEPTH:
            raise _Forbidden
        if depth == 1:
            if tag != "event" or root_seen:
                raise CotError("event", f"the root element must be <event>, got <{tag[:20]}>")
            root_seen = True
        parent = stack[-1] if stack else ""
        stack.append(tag)
        if depth == 1 or (depth == 2 and tag == "point") or tag in (
                "track", "contact", "__deconflict", "TakRequest", "TakProtocolSupport", "TakResponse") or (
                parent == "detail" and tag == "link"):
            attrs_of.setdefault(tag, attrs)

    def end(_tag: str) -> None:
        nonlocal depth
        depth -= 1
        stack.pop()

    p = xml.parsers.expat.ParserCreate()
    p.StartDoctypeDeclHandler = _forbid
    p.EntityDeclHandler = _forbid
    p.UnparsedEntityDeclHandler = _forbid
    p.ExternalEntityRefHandler = _forbid  # type: ignore[assignment]
    p.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.StartElementHandler = start
    p.EndElementHandler = end
    try:
        p.Parse(data, True)
    except _Forbidden:
        raise CotError("event", "DTDs, entity declarations and deep nesting are refused") from None
    except xml.parsers.expat.ExpatError as exc:
        raise CotError("event", f"malformed XML: {xml.parsers.expat.ErrorString(exc.code)}") from None
    if not root_seen:
        raise CotError("event", "no <event> element")
    e = attrs_of["event"]
    ev.uid = e.get("uid", "")[:128]
    ev.type = e.get("type", "")[:64]
    ev.how = e.get("how", "")[:16]
    for key in ("time", "start", "stale"):
        if e.get(key):
            setattr(ev, key, parse_time(e[key], f"event.{key}"))
    pt = attrs_of.get("point")
    if pt is not None:
        ev.lat = _float(pt, "lat", "point.lat")
        ev.lon = _float(pt, "lon", "point.lon")
        ev.hae = _float(pt, "hae", "point.hae")
        ev.ce = _float(pt, "ce", "point.ce")
        ev.le = _float(pt, "le", "point.le")
    tr = attrs_of.get("track")
    if tr is not None:
        ev.course = _float(tr, "course", "track.course")
        ev.speed = _float(tr, "speed", "track.speed")
    ct = attrs_of.get("contact")
    if ct is not None:
        ev.callsign = ct.get("callsign", "")[:64]
    dc = attrs_of.get("__deconflict")
    if dc is not None:
        ev.token = dc.get("token", "")[:256]
        ev.link = dc.get("declaration", "")[:64]
    for tag in ("TakRequest", "TakProtocolSupport"):
        if tag in attrs_of:
            ev.takp = attrs_of[tag].get("version", "")[:8]
    if "TakResponse" in attrs_of:
        ev.takp = attrs_of["TakResponse"].get("status", "")[:8]
    if "link" in attrs_of:
        ev.extra["link_uid"] = attrs_of["link"].get("uid", "")[:128]
    return ev


# -- framing ----------------------------------------------------------------------
class XmlFramer:
    """Splits a TCP byte stream into ``<event>...</event>`` messages.

    A message split between reads waits in the buffer for its end; a stream
    without an end tag within ``MAX_MESSAGE_BYTES`` is dropped up to the next
    end tag (counted in ``oversized``), so memory stays bounded."""

    def __init__(self, limit: int = MAX_MESSAGE_BYTES) -> None:
        self.limit = limit
        self._buf = bytearray()
        self._skipping = False
        self.oversized = 0

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        buf = self._buf
        # Search from where an end tag could start that was not there before.
        start = max(0, len(buf) - len(END_TAG) + 1)
        buf += data
        pos = 0
        while True:
            i = buf.find(END_TAG, max(pos, start))
            if i < 0:
                break
            end = i + len(END_TAG)
            if self._skipping:
                self._skipping = False
            else:
                msg = bytes(buf[pos:end]).strip()
                if len(msg) > self.limit:
                    self.oversized += 1
                elif msg:
                    out.append(msg)
            pos = end
            start = end
        del buf[:pos]
        if len(buf) > self.limit:
            # Keep only what could be the start of an end tag.
            keep = len(END_TAG) - 1
            del buf[:-keep]
            if not self._skipping:
                self.oversized += 1
            self._skipping = True
        return out

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def take_rest(self) -> bytes:
        """What is buffered (after the switch to protobuf, it belongs to the new framing)."""
        rest = bytes(self._buf)
        self._buf.clear()
        return rest


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class StreamFramer:
    """TAK protocol v1 stream framing: ``0xbf``, a varint length, the payload.

    A frame without the magic byte, with a malformed length or longer than the
    limit cannot be resynchronised (there is no delimiter to look for): the
    framer raises and the connection is closed."""

    def __init__(self, limit: int = MAX_MESSAGE_BYTES) -> None:
        self.limit = limit
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        n = len(buf)
        while pos < n:
            if buf[pos] != STREAM_MAGIC:
                raise CotError("frame", "a TAK protocol frame starts with 0xbf")
            length = 0
            shift = 0
            j = pos + 1
            while True:
                if j >= n:
                    del buf[:pos]
                    return out
                b = buf[j]
                length |= (b & 0x7F) << shift
                j += 1
                if not b & 0x80:
                    break
                shift += 7
                if shift > 35:
                    raise CotError("frame", "malformed varint length")
            if length > self.limit:
                raise CotError("frame", f"frame longer than {self.limit} bytes")
            if j + length > n:
                break
            out.append(bytes(buf[j:j + length]))
            pos = j + length
        del buf[:pos]
        return out


def stream_frame(payload: bytes) -> bytes:
    return bytes([STREAM_MAGIC]) + encode_varint(len(payload)) + payload


# -- TAK protocol v1 payloads --------------------------------------------------------
def _ms(t: datetime) -> int:
    return round(t.timestamp() * 1000)


def _from_ms(ms: int) -> datetime | None:
    if ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        raise CotError("sendTime", "time out of range") from None


def parse_proto(payload: bytes) -> CotEvent:
    """A ``TakMessage`` payload (without its header) as a :class:`CotEvent`."""
    from google.protobuf.message import DecodeError
    from takproto.proto import TakMessage

    if len(payload) > MAX_MESSAGE_BYTES:
        raise CotError("event", f"message larger than {MAX_MESSAGE_BYTES} bytes")
    msg = TakMessage()
    try:
        msg.ParseFromString(payload)
    except (DecodeError, RuntimeError, ValueError):
        raise CotError("event", "malformed TAK protocol payload") from None
    c = msg.cotEvent
    ev = CotEvent(uid=c.uid[:128], type=c.type[:64], how=c.how[:16], time=_from_ms(c.sendTime),
                  start=_from_ms(c.startTime), stale=_from_ms(c.staleTime))
    for name in ("lat", "lon", "hae", "ce", "le"):
        v = float(getattr(c, name))
        if not math.isfinite(v):
            raise CotError(f"point.{name}", "not a finite number")
        setattr(ev, name, v)
    d = c.detail
    if d.HasField("track"):
        ev.course, ev.speed = float(d.track.course), float(d.track.speed)
        if not (math.isfinite(ev.course) and math.isfinite(ev.speed)):
            raise CotError("track", "not a finite number")
    ev.callsign = d.contact.callsign[:64]
    if d.xmlDetail:
        # Unknown detail elements travel as XML text: parsed with the same policy.
        raw = d.xmlDetail.encode()
        if len(raw) > MAX_MESSAGE_BYTES:
            raise CotError("detail", "detail too large")
        inner = parse_xml(b'<event uid="x" type="x"><detail>' + raw + b"</detail></event>")
        ev.token, ev.link = inner.token, inner.link
        ev.extra.update(inner.extra)
    return ev


def parse_mesh(datagram: bytes) -> CotEvent:
    if not datagram.startswith(MESH_HEADER):
        raise CotError("datagram", "a TAK protocol mesh datagram starts with 0xbf 0x01 0xbf")
    return parse_proto(datagram[len(MESH_HEADER):])


def encode_proto(ev: CotEvent, xml_detail: str = "") -> bytes:
    """A :class:`CotEvent` as a ``TakMessage`` payload."""
    from takproto.proto import TakMessage

    msg = TakMessage()
    c = msg.cotEvent
    c.uid, c.type, c.how = ev.uid, ev.type, ev.how or "m-g"
    now = datetime.now(UTC)
    c.sendTime = _ms(ev.time or now)
    c.startTime = _ms(ev.start or ev.time or now)
    c.staleTime = _ms(ev.stale or (ev.time or now) + timedelta(minutes=2))
    c.lat = 0.0 if math.isnan(ev.lat) else ev.lat
    c.lon = 0.0 if math.isnan(ev.lon) else ev.lon
    c.hae = UNKNOWN_HAE if math.isnan(ev.hae) else ev.hae
    c.ce = UNKNOWN_HAE if math.isnan(ev.ce) else ev.ce
    c.le = UNKNOWN_HAE if math.isnan(ev.le) else ev.le
    if not (math.isnan(ev.course) or math.isnan(ev.speed)):
        c.detail.track.course = ev.course
        c.detail.track.speed = ev.speed
    if ev.callsign:
        c.detail.contact.callsign = ev.callsign
    detail = xml_detail
    if ev.token or ev.link:
        attrs = (f" token={quoteattr(ev.token)}" if ev.token else "") + (
            f" declaration={quoteattr(ev.link)}" if ev.link else "")
        detail += f"<__deconflict{attrs}/>"
    if detail:
        c.detail.xmlDetail = detail
    return bytes(msg.SerializeToString())


def mesh_datagram(ev: CotEvent, xml_detail: str = "") -> bytes:
    return MESH_HEADER + encode_proto(ev, xml_detail)


# -- XML out ------------------------------------------------------------------------------
def event_xml(ev: CotEvent, detail: str = "") -> bytes:
    """A CoT event as XML; ``detail`` is trusted XML built by this module."""
    now = datetime.now(UTC)
    t = ev.time or now
    hae = UNKNOWN_HAE if math.isnan(ev.hae) else ev.hae
    ce = UNKNOWN_HAE if math.isnan(ev.ce) else ev.ce
    le = UNKNOWN_HAE if math.isnan(ev.le) else ev.le
    inner = detail
    if not (math.isnan(ev.course) or math.isnan(ev.speed)):
        inner += f'<track course="{ev.course:.1f}" speed="{ev.speed:.2f}"/>'
    if ev.callsign:
        inner += f"<contact callsign={quoteattr(ev.callsign)}/>"
    if ev.token or ev.link:
        attrs = (f" token={quoteattr(ev.token)}" if ev.token else "") + (
            f" declaration={quoteattr(ev.link)}" if ev.link else "")
        inner += f"<__deconflict{attrs}/>"
    lat = 0.0 if math.isnan(ev.lat) else ev.lat
    lon = 0.0 if math.isnan(ev.lon) else ev.lon
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><event version="2.0" uid={quoteattr(ev.uid)} '
        f'type={quoteattr(ev.type)} how={quoteattr(ev.how or "m-g")} time="{format_time(t)}" '
        f'start="{format_time(ev.start or t)}" stale="{format_time(ev.stale or t + timedelta(minutes=2))}">'
        f'<point lat="{lat:.7f}" lon="{lon:.7f}" hae="{hae:.1f}" ce="{ce:.1f}" le="{le:.1f}"/>'
        f"<detail>{inner}</detail></event>"
    ).encode()


def takp_offer() -> bytes:
    """The server's ``t-x-takp-v``: it speaks TAK protocol version 1."""
    return event_xml(CotEvent(uid="protouid", type=TAKP_VERSION, how="m-g"),
                     '<TakControl><TakProtocolSupport version="1"/></TakControl>')


def takp_request() -> bytes:
    return event_xml(CotEvent(uid="protouid", type=TAKP_REQUEST, how="m-g"),
                     '<TakControl><TakRequest version="1"/></TakControl>')


def takp_response(ok: bool) -> bytes:
    return event_xml(CotEvent(uid="protouid", type=TAKP_RESPONSE, how="m-g"),
                     f'<TakControl><TakResponse status="{"true" if ok else "false"}"/></TakControl>')


def pong(at: datetime) -> CotEvent:
    return CotEvent(uid="takPong", type=PONG, how="h-g-i-g-o", time=at)


def remarks(text: str) -> str:
    return f"<remarks>{escape(text[:2000])}</remarks>"


def alert_event(uid: str, lat: float, lon: float, at: datetime, stale: datetime, title: str,
                text: str) -> tuple[CotEvent, str]:
    """``b-a-g``, "Geo-fence Breached": (event, detail XML)."""
    detail = (f'<emergency type="Geo-fence Breached">{escape(title[:200])}</emergency>'
              f'<link uid={quoteattr(uid)} relation="p-p" type="{ALERT}"/>' + remarks(text))
    return CotEvent(uid=uid, type=ALERT, how="m-g", time=at, start=at, stale=stale, lat=lat, lon=lon,
                    callsign=title[:64]), detail


def cancel_event(uid: str, lat: float, lon: float, at: datetime) -> tuple[CotEvent, str]:
    """``b-a-o-can``: the alert ``uid`` is over."""
    detail = f'<emergency cancel="true">{escape(uid)}</emergency><link uid={quoteattr(uid)} relation="p-p" ' \
             f'type="{ALERT}"/>'
    return CotEvent(uid=uid, type=ALERT_CANCEL, how="m-g", time=at, start=at,
                    stale=at + timedelta(minutes=1), lat=lat, lon=lon), detail


def delete_event(target_uid: str, at: datetime) -> tuple[CotEvent, str]:
    """``t-x-d-d``: remove the object ``target_uid`` from the clients' maps."""
    detail = f'<link uid={quoteattr(target_uid)} relation="none" type="none"/><__forcedelete/>'
    return CotEvent(uid=f"{target_uid}.delete", type=DELETE, how="m-g", time=at, start=at,
                    stale=at + timedelta(minutes=1), lat=0.0, lon=0.0), detail


def argb(rgb: int, alpha: int = 255) -> int:
    """ATAK's colours are signed 32-bit ARGB integers."""
    v = (alpha << 24) | rgb
    return v - (1 << 32) if v >= 1 << 31 else v


@dataclass(frozen=True, slots=True)
class Style:
    stroke: int  # RGB
    fill_alpha: int  # 0 for lines
    weight: float = 3.0


def shape_event(uid: str, label: str, vertices: Sequence[tuple[float, float]], *, closed: bool, style: Style,
                start: datetime, stale: datetime, text: str) -> tuple[CotEvent, str]:
    """``u-d-f``: a line or a polygon (closed: the first vertex repeated last)."""
    pts = list(vertices)
    if closed and pts[0] != pts[-1]:
        pts.append(pts[0])
    links = "".join(f'<link point="{lat:.7f},{lon:.7f}"/>' for lon, lat in pts)
    lon0 = sum(p[0] for p in pts) / len(pts)
    lat0 = sum(p[1] for p in pts) / len(pts)
    detail = (links + f'<strokeColor value="{argb(style.stroke)}"/><strokeWeight value="{style.weight}"/>'
              + (f'<fillColor value="{argb(style.stroke, style.fill_alpha)}"/>' if closed else "")
              + '<labels_on value="true"/>' + remarks(text))
    return CotEvent(uid=uid, type=SHAPE, how="h-e", time=start, start=start, stale=stale, lat=lat0, lon=lon0,
                    callsign=label[:64]), detail


def circle_event(uid: str, label: str, lon: float, lat: float, radius_m: float, *, style: Style,
                 start: datetime, stale: datetime, text: str) -> tuple[CotEvent, str]:
    """``u-d-c-c``: a circle of ``radius_m`` around a point."""
    detail = (f'<shape><ellipse major="{radius_m:.1f}" minor="{radius_m:.1f}" angle="0"/></shape>'
              f'<strokeColor value="{argb(style.stroke)}"/><strokeWeight value="{style.weight}"/>'
              f'<fillColor value="{argb(style.stroke, style.fill_alpha)}"/><labels_on value="true"/>'
              + remarks(text))
    return CotEvent(uid=uid, type=CIRCLE, how="h-e", time=start, start=start, stale=stale, lat=lat, lon=lon,
                    callsign=label[:64]), detail


def to_wire(ev: CotEvent, detail: str, proto: bool) -> bytes:
    """One outgoing message on a stream: XML, or a protobuf frame after negotiation."""
    return stream_frame(encode_proto(ev, detail)) if proto else event_xml(ev, detail)


def position(uid: str, type_: str, lon: float, lat: float, at: datetime, *, hae: float = math.nan,
             course: float = math.nan, speed: float = math.nan, token: str = "", callsign: str = "",
             stale_s: float = 120.0) -> CotEvent:
    """A position report (clients and tests)."""
    return CotEvent(uid=uid, type=type_, how="m-g", time=at, start=at, stale=at + timedelta(seconds=stale_s),
                    lat=lat, lon=lon, hae=hae, course=course, speed=speed, token=token, callsign=callsign)


def join(messages: Iterable[bytes]) -> bytes:
    return b"".join(messages)


def as_json(ev: CotEvent) -> dict[str, Any]:
    return {"uid": ev.uid, "type": ev.type, "lat": ev.lat, "lon": ev.lon,
            "time": None if ev.time is None else format_time(ev.time)}
