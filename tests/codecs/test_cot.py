"""CoT XML and TAK protocol v1: parsing hostile input, framing across reads, round trips."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.codecs import cot

T = datetime(2018, 2, 7, 19, 30, tzinfo=UTC)
GOOD = cot.event_xml(cot.position("u1", "a-f-G", 40.3, 35.35, T, course=45.0, speed=10.0, token="dcf_x_y"))

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<event uid="&lol3;" type="a-f-G"><point lat="1" lon="1"/></event>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<event uid="&x;" type="a-f-G"><point lat="1" lon="1"/></event>"""
PARAM_XXE = b"""<?xml version="1.0"?><!DOCTYPE e [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]>
<event uid="u" type="a-f-G"/>"""


def test_parses_a_position_report() -> None:
    ev = cot.parse_xml(GOOD)
    assert (ev.uid, ev.type, ev.token) == ("u1", "a-f-G", "dcf_x_y")
    assert (ev.lat, ev.lon, ev.course, ev.speed) == (35.35, 40.3, 45.0, 10.0)
    assert ev.time == T


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE, PARAM_XXE], ids=["billion-laughs", "xxe", "param-xxe"])
def test_dtds_and_entities_are_refused(payload: bytes) -> None:
    with pytest.raises(cot.CotError, match="DTD"):
        cot.parse_xml(payload)


@pytest.mark.parametrize("payload", [
    b"<event", b"<evnt uid='a'/>", b"<event uid='a'><point lat='x' lon='1'/></event>",
    b"<event uid='a' time='yesterday'/>", b"<event uid='a'><point lat='nan' lon='1'/></event>",
    b"\xff\xfe<event/>", b"<event>" + b"<a>" * 40 + b"</a>" * 40 + b"</event>",
])
def test_malformed_input_is_a_cot_error(payload: bytes) -> None:
    with pytest.raises(cot.CotError):
        cot.parse_xml(payload)


def test_oversized_is_refused_before_parsing() -> None:
    big = b"<event uid='a'><detail><remarks>" + b"x" * cot.MAX_MESSAGE_BYTES + b"</remarks></detail></event>"
    with pytest.raises(cot.CotError, match="larger"):
        cot.parse_xml(big)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3 * len(GOOD)), max_size=8))
def test_framing_reassembles_messages_split_anywhere(cuts: list[int]) -> None:
    stream = GOOD + b"\n" + GOOD.replace(b"u1", b"u2") + GOOD.replace(b"u1", b"u3")
    points = sorted({min(c, len(stream)) for c in cuts})
    f = cot.XmlFramer()
    got: list[bytes] = []
    prev = 0
    for c in [*points, len(stream)]:
        got += f.feed(stream[prev:c])
        prev = c
    assert [cot.parse_xml(m).uid for m in got] == ["u1", "u2", "u3"]
    assert f.buffered == 0


def test_framing_drops_an_oversized_message_and_recovers() -> None:
    f = cot.XmlFramer(limit=1000)
    junk = b"<event uid='big'><detail>" + b"y" * 5000 + b"</detail></event>"
    got = []
    for i in range(0, len(junk), 700):
        got += f.feed(junk[i:i + 700])
    got += f.feed(GOOD)
    assert f.oversized == 1
    assert [cot.parse_xml(m).uid for m in got] == ["u1"]


def test_proto_round_trip_and_stream_framing_split_anywhere() -> None:
    ev = cot.position("p1", "a-h-A", 40.1, 35.2, T, hae=3000.0, course=90.0, speed=200.0, token="tok")
    payload = cot.encode_proto(ev)
    back = cot.parse_proto(payload)
    assert (back.uid, back.type, back.token, back.hae, back.course, back.speed) == ("p1", "a-h-A", "tok", 3000.0,
                                                                                     90.0, 200.0)
    assert math.isclose(back.lat, 35.2) and back.time == T
    frames = cot.stream_frame(payload) * 3
    for cut in range(len(frames)):
        f = cot.StreamFramer()
        out = f.feed(frames[:cut]) + f.feed(frames[cut:])
        assert [cot.parse_proto(p).uid for p in out] == ["p1"] * 3
    assert cot.parse_mesh(cot.mesh_datagram(ev)).uid == "p1"


def test_stream_framing_refuses_what_it_cannot_resynchronise() -> None:
    with pytest.raises(cot.CotError, match="0xbf"):
        cot.StreamFramer().feed(b"\x00\x01")
    with pytest.raises(cot.CotError, match="longer"):
        cot.StreamFramer(limit=10).feed(bytes([0xBF]) + cot.encode_varint(11))
    with pytest.raises(cot.CotError):
        cot.parse_proto(b"\xff\xff\xff")


def test_proto_xml_detail_is_parsed_with_the_same_policy() -> None:
    from takproto.proto import TakMessage

    m = TakMessage()
    m.cotEvent.uid = "x"
    m.cotEvent.detail.xmlDetail = '<!DOCTYPE x [<!ENTITY a "b">]><__deconflict token="&a;"/>'
    with pytest.raises(cot.CotError):
        cot.parse_proto(m.SerializeToString())


def test_outgoing_messages_are_valid_cot() -> None:
    style = cot.Style(0xFF0000, 60)
    msgs = [
        cot.alert_event("dcf.alert.1", 35.0, 40.0, T, T, "track-in-roz", "a <b> & c"),
        cot.cancel_event("dcf.alert.1", 35.0, 40.0, T),
        cot.delete_event("dcf.measure.M1.abc", T),
        cot.shape_event("s", "M2", [(40.0, 35.0), (40.1, 35.0), (40.1, 35.1)], closed=True, style=style, start=T,
                        stale=T, text="x"),
        cot.circle_event("c", "S1", 40.0, 35.0, 1500.0, style=style, start=T, stale=T, text="y"),
    ]
    types = [cot.parse_xml(cot.event_xml(ev, detail)).type for ev, detail in msgs]
    assert types == ["b-a-g", "b-a-o-can", "t-x-d-d", "u-d-f", "u-d-c-c"]
    for ev, detail in msgs:  # and as TAK protocol frames
        [payload] = cot.StreamFramer().feed(cot.to_wire(ev, detail, True))
        assert cot.parse_proto(payload).type == ev.type
    assert cot.argb(0xFF0000) == -65536
