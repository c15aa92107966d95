"""The live stream under abuse (issue 9): asynchronous (1,000 open streams do
not starve checks), bounded per credential and per party, closed with their
credential, and a resume from an old id pages through the log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from deconflict.service.deconflict import Change
from deconflict.service.streams import PAGE, RECENT, RECHECK_S, Streams
from deconflict.store.documents import decode_declaration
from tests.service.conftest import Running

WINDOW = {"start": "2018-02-12T10:00:00Z", "end": "2018-02-12T11:00:00Z"}


def streams_of(running: Running) -> Streams:
    [streams] = [getattr(f, "__self__", None) for f in running.hotline.listeners
                 if isinstance(getattr(f, "__self__", None), Streams)]
    assert isinstance(streams, Streams)
    return streams


def site(sid: str, lon: float) -> dict[str, Any]:
    return {"kind": "site", "id": sid, "category": "forces", "protection_m": 50, "window": WINDOW,
            "geometry": {"type": "Point", "coordinates": [lon, 36.9]}}


async def open_stream(host: str, port: int, token: str, after: int = 10**9) -> tuple[int, asyncio.StreamReader,
                                                                                   asyncio.StreamWriter]:
    """A raw SSE request (no thread, no client library): the status and the open connection."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /v1/stream?wait=30&after={after} HTTP/1.1\r\nHost: {host}\r\n"
                 f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    return status, reader, writer


def test_a_thousand_streams_while_checks_and_submits_go_on(running: Running) -> None:
    streams = streams_of(running)
    streams.limits.per_credential = streams.limits.per_party = 2000
    url = urlparse(running.url)
    assert url.hostname and url.port
    token = running.tokens["relief"]["viewer"]
    planner = running.tokens["coalition"]["planner"]

    async def scenario() -> tuple[list[int], list[int], int]:
        opened = await asyncio.wait_for(
            asyncio.gather(*(open_stream(url.hostname or "", url.port or 0, token) for _ in range(1000))), 120)
        # With 1,000 streams open (on main each held one of 40 threads: checks
        # waited behind them and most streams never got their 200).
        async with httpx.AsyncClient(base_url=running.url, timeout=60,
                                     headers={"Authorization": f"Bearer {planner}"}) as c:
            checks = [(await c.post("/v1/checks", json={"activity": site(f"x{i}", 41.0 + i / 100)})).status_code
                      for i in range(10)]
            checks.append((await c.post("/v1/activities", json={"activity": site("during", 41.9)})).status_code)
            checks.append((await c.get("/v1/declarations/during")).status_code)
        during = streams.open_count
        for _status, _reader, writer in opened:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for _s, _r, w in opened), return_exceptions=True)
        return [s for s, _r, _w in opened], checks, during

    statuses, checks, during = asyncio.run(scenario())
    assert statuses == [200] * 1000
    assert checks == [200] * 10 + [201, 200]
    assert during == 1000


def test_streams_are_bounded_per_credential_and_per_party(running: Running) -> None:
    streams = streams_of(running)
    streams.limits.per_credential, streams.limits.per_party = 3, 4
    url = urlparse(running.url)
    one, two = running.tokens["sdf"]["viewer"], running.tokens["sdf"]["planner"]

    async def scenario() -> list[int]:
        host, port = url.hostname or "", url.port or 0
        held = [await open_stream(host, port, one) for _ in range(3)]
        out = [s for s, _r, _w in held]
        over, _r, w = await open_stream(host, port, one)
        out.append(over)
        w.close()
        held.append(await open_stream(host, port, two))  # the party's fourth
        out.append(held[-1][0])
        party_over, _r, w = await open_stream(host, port, two)
        out.append(party_over)
        w.close()
        other, _r, w = await open_stream(host, port, running.tokens["russia"]["viewer"])
        out.append(other)
        w.close()
        for _s, _r, writer in held:
            writer.close()
        return out

    assert asyncio.run(scenario()) == [200, 200, 200, 429, 200, 429, 200]


def _read_until_closed(response: httpx.Response, seen: list[str]) -> None:
    for line in response.iter_lines():
        seen.append(line)


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_stream_ends_with_its_credential(running: Running, how: str) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=2) if how == "expired" else None
    with httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {running.admin}"}) as admin:
        body: dict[str, Any] = {"party": "sdf", "member": f"watch-{how}", "role": "viewer"}
        if expires:
            body["expires_at"] = expires.isoformat()
        cred = admin.post("/v1/admin/credentials", json=body).json()
        seen: list[str] = []
        with httpx.Client(base_url=running.url, timeout=httpx.Timeout(30, read=30)) as c, \
                c.stream("GET", "/v1/stream", params={"wait": 0.2, "after": 10**9},
                         headers={"Authorization": f"Bearer {cred['token']}"}) as r:
            assert r.status_code == 200
            reader = threading.Thread(target=_read_until_closed, args=(r, seen), daemon=True)
            reader.start()
            if how == "revoked":
                assert admin.delete(f"/v1/admin/credentials/{cred['id']}").status_code == 204
            # On main the stream went on with heartbeats forever (the read timeout ended it).
            reader.join(15)
            assert not reader.is_alive(), "the stream outlived its credential"
        # It delivered nothing after the credential ended: heartbeats at most.
        assert all(not line.startswith("data:") for line in seen)


def test_a_resume_from_the_start_pages_through_the_log(running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    # A long log, built in bulk (one transaction).
    service = running.hotline.service
    docs = [decode_declaration({**site(f"bulk-{i}", 42.0 + i * 1e-4), "owner": "relief"}, "d") for i in range(3000)]
    service.apply([Change(declaration=d) for d in docs])
    running.hotline.catch_up()
    head = running.hotline.head
    pages: list[int] = []
    kind = type(service.store)  # the SQLite or the PostgreSQL store
    original = kind.events_page

    def spy(self: Any, after_seq: int, limit: int) -> Any:
        out = original(self, after_seq, limit)
        pages.append(len(out))
        return out

    def whole(self: Any, *, after_seq: int = 0) -> Any:
        raise AssertionError("the stream read the backlog at once")

    monkeypatch.setattr(kind, "events_page", spy)
    monkeypatch.setattr(kind, "events", whole)
    got = 0
    with httpx.Client(base_url=running.url, timeout=httpx.Timeout(60, read=60)) as c, \
            c.stream("GET", "/v1/stream", params={"wait": 0.2, "after": 0},
                     headers={"Authorization": f"Bearer {running.tokens['relief']['viewer']}"}) as r:
        for line in r.iter_lines():
            if line.startswith("id: "):
                last = int(line[4:])
            if line.startswith("data: "):
                json.loads(line[6:])
                got += 1
            if line.startswith(": keep-alive"):
                break
    assert got >= 3000 and last <= head
    # Pages from the store until the stream reaches the recent events every
    # stream shares (at most 2 * RECENT), never more than a page at once.
    assert pages and max(pages) <= PAGE and len(pages) >= (head - 2 * RECENT) // PAGE


def test_a_stream_is_woken_only_by_what_concerns_its_party_and_misses_none(
        running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every append woke every stream, and each filtered the new events for its
    party: with 1,000 streams, each submit cost 1,000 reads whoever could see it."""
    import deconflict.service.streams as streams_module

    reads: list[int] = []
    original = streams_module.log_view.page

    def counting(h: Any, who: Any, *args: Any, **kw: Any) -> Any:
        if who.party == "relief":
            reads.append(1)
        return original(h, who, *args, **kw)

    monkeypatch.setattr(streams_module.log_view, "page", counting)
    head = running.hotline.head
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=running.url, timeout=httpx.Timeout(60, read=60)) as c, \
                c.stream("GET", "/v1/stream", params={"wait": 20, "after": head},
                         headers={"Authorization": f"Bearer {running.tokens['relief']['viewer']}"}) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]).get("id", ""))
                    if seen[-1].endswith("shared"):
                        done.set()
                        return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time_limit = datetime.now(UTC) + timedelta(seconds=30)
    while not streams_of(running).open_count and datetime.now(UTC) < time_limit:
        threading.Event().wait(0.05)
    with running.client("coalition", "planner") as coalition:
        for i in range(20):  # not shared with relief: nothing for its stream to read
            coalition.submit({**site(f"quiet-{i}", 43.0 + i / 100), "share_with": ["sdf"]})
        coalition.submit({**site("shared", 43.5), "share_with": "all"})
    assert done.wait(30), seen
    assert seen == ["coalition:shared"]
    assert len(reads) <= 3, len(reads)  # it was one read per event appended (about 40)


def test_an_event_s_audience_holds_every_party_it_concerns(running: Running) -> None:
    """The wake-up's audience is a superset of what log_view.concerns shows: over
    a log with sites, activities, notifications, answers and measures."""
    from deconflict.service import log_view
    from deconflict.service.streams import audience

    h = running.hotline
    with running.client("coalition", "planner") as coalition, running.client("russia", "planner") as russia:
        coalition.submit({**site("aud-1", 44.0), "share_with": ["sdf"]})
        fire = {"kind": "fire", "id": "aud-f", "effects_radius_m": 500, "window": WINDOW,
                "target": {"type": "Point", "coordinates": [44.0, 36.9]}}
        with contextlib.suppress(Exception):
            russia.submit(fire, override_reason="exercise")  # notifies the owner of what it hits
    h.catch_up()
    parties = list(h.service.parties())
    events = h.service.store.events_page(0, 100_000)
    assert events
    for e in events:
        concerned = audience(h, e)
        for party in parties:
            if log_view.concerns(h, party, e) is not None:
                assert concerned is None or party in concerned, (e.type, party)


def test_a_declaration_s_audience_is_everyone_unless_its_sharing_is_a_list_of_parties() -> None:
    """A sharing in a form the wake-up does not know wakes everyone: iterating a
    string would have named its letters as parties, and missed the real ones."""
    from deconflict.service.streams import audience
    from deconflict.store.events import Event

    def declared(share: object) -> Event:
        return Event(1, datetime.now(UTC), "declaration.declared", "coalition", "coalition:S9",
                     {"owner": "coalition", "share_with": share}, "", "")

    hotline: Any = None  # not asked for a declaration
    assert audience(hotline, declared("all")) is None
    assert audience(hotline, declared(["sdf"])) == {"coalition", "sdf"}
    assert audience(hotline, declared(["sdf", "relief"])) == {"coalition", "sdf", "relief"}
    assert audience(hotline, declared("sdf")) is None


def test_a_party_s_streams_at_one_point_render_each_event_once(running: Running,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """50 streams of one party, one event shared with everyone: each stream
    delivers it, and it is filtered and encoded once for all of them (on main
    once per stream: 1,000 streams cost the worker 300 ms of its event loop per
    event, and the canary's p99 went from 29 to 305 ms)."""
    from deconflict.service import log_view

    streams = streams_of(running)
    streams.limits.per_credential = streams.limits.per_party = 100
    url = urlparse(running.url)
    token = running.tokens["relief"]["viewer"]
    planner = running.tokens["coalition"]["planner"]
    renders: list[int] = []
    original = log_view.page

    def counting(h: Any, who: Any, after_seq: int, limit: int, events: Any = None) -> Any:
        out = original(h, who, after_seq, limit, events)
        renders.extend(seq for seq, etype, _d in out[0] if etype == "declaration.declared")
        return out

    monkeypatch.setattr(log_view, "page", counting)

    async def scenario() -> list[bytes]:
        host, port = url.hostname or "", url.port or 0
        head = running.hotline.head
        opened = await asyncio.gather(*(open_stream(host, port, token, after=head) for _ in range(50)))
        await asyncio.sleep(0.5)  # every stream waiting at the head
        async with httpx.AsyncClient(base_url=running.url, timeout=60,
                                     headers={"Authorization": f"Bearer {planner}"}) as c:
            assert (await c.post("/v1/activities", json={"activity": site("shared", 41.5)})).status_code == 201

        async def until_event(reader: asyncio.StreamReader) -> bytes:
            seen = b""
            while b"event: declaration.declared" not in seen:
                seen += await reader.read(65536)
            return seen

        got = await asyncio.wait_for(asyncio.gather(*(until_event(r) for _s, r, _w in opened)), 30)
        for _s, _r, w in opened:
            w.close()
        return got

    got = asyncio.run(scenario())
    assert all(b'"id":"coalition:shared"' in g or b"coalition:shared" in g for g in got)
    assert len(renders) == 1, f"rendered {len(renders)} times for 50 streams"


def test_a_quiet_stream_gets_its_keep_alives_without_a_timer_per_wait(running: Running) -> None:
    """Keep-alives come from the one watcher per event loop (a timeout around
    every wait of every stream was a quarter of a worker's time with 1,000
    streams): still about every ``wait`` seconds, within RECHECK_S."""
    beats: list[float] = []
    start = time.monotonic()
    with httpx.Client(base_url=running.url, timeout=httpx.Timeout(30, read=30)) as c, \
            c.stream("GET", "/v1/stream", params={"wait": 0.3, "after": 10**9},
                     headers={"Authorization": f"Bearer {running.tokens['relief']['viewer']}"}) as r:
        for line in r.iter_lines():
            if line == ": keep-alive":
                beats.append(time.monotonic() - start)
                if len(beats) == 4:
                    break
    gaps = [b - a for a, b in zip([0.0, *beats], beats, strict=False)]
    assert len(beats) == 4
    assert all(0.25 <= g <= 0.3 + 2 * RECHECK_S for g in gaps), gaps
