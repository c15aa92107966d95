"""The costly lane as real processes: `serve` starts it, passes it costly requests,
restarts it when it dies, and the lane never outlives `serve`."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deconflict.service.lane import COSTLY_BODY_BYTES, LANE_HEADER
from tests.cli.test_app import run
from tests.service.conftest import free_port, wait_ready

WINDOW = {"start": "2018-02-01T00:00:00Z", "end": "2018-03-01T00:00:00Z"}
LANE = LANE_HEADER.decode()


def _site(i: int) -> dict[str, Any]:
    return {"kind": "site", "id": f"S{i}", "category": "forces", "protection_m": 50, "window": WINDOW,
            "geometry": {"type": "Point", "coordinates": [30.0 + i * 1e-3, 20.0]}}


def _big_polygon(n: int = 1500) -> dict[str, Any]:
    ring = [[40.0 + 0.05 * math.cos(2 * math.pi * i / n), 35.0 + 0.05 * math.sin(2 * math.pi * i / n)]
            for i in range(n)]
    return {"kind": "site", "id": "BIG", "category": "protected", "protection_m": 100, "window": WINDOW,
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}}


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _lane_pid(serve: int) -> int:
    """The lane: the child of `serve` that leads its own session."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for child in _children(serve):
            try:
                if os.getsid(child) == child:
                    return child
            except ProcessLookupError:
                continue
        time.sleep(0.1)
    raise AssertionError("no lane process")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    param = getattr(request, "param", 1)
    workers, extra = (param, ()) if isinstance(param, int) else param
    store = tmp_path / "s.sqlite3"
    res = run("party", "add", "relief", "--kind", "humanitarian", store=store)
    assert res.returncode == 0, res.stderr
    token = res.stdout.strip()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port), "--store", str(store),
         "--workers", str(workers), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        yield url, token, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)


def _wait_lane_answers(c: httpx.Client) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        r = c.get("/v1/picture")
        if LANE in r.headers or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


@pytest.mark.parametrize("served", [1, 2], indirect=True, ids=["one-worker", "two-workers"])
def test_costly_requests_are_answered_by_the_lane_and_small_ones_by_the_worker(
        served: tuple[str, str, subprocess.Popen[str]]) -> None:
    url, token, _proc = served
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=auth, timeout=60) as lane:
        picture = _wait_lane_answers(lane)  # this client's connection is the lane's now
        assert picture.status_code == 200 and picture.headers[LANE] == "costly"
    with httpx.Client(base_url=url, headers=auth, timeout=60) as c:
        small = c.post("/v1/activities", json={"activity": _site(1)})
        assert small.status_code == 201 and LANE not in small.headers
        big = {"activity": _big_polygon()}
        body = httpx.Request("POST", url, json=big).read()
        assert len(body) > COSTLY_BODY_BYTES
        checked = c.post("/v1/checks", json=big)
        assert checked.status_code == 200, checked.text
        assert checked.headers[LANE] == "costly"
        submitted = c.post("/v1/activities", json=big)
        assert submitted.status_code == 201 and submitted.headers[LANE] == "costly"
        # The worker reads what the lane accepted, once it has caught up to it.
        seq = submitted.headers["x-deconflict-seq"]
        got = c.get("/v1/declarations/relief:BIG", headers={"X-Deconflict-Seq": seq})
        assert got.status_code == 200 and LANE not in got.headers
        # Errors come back as the lane's problems, field named.
        bad = c.post("/v1/checks", json={"activity": {**_big_polygon(), "protection_m": -1}})
        assert bad.status_code in (400, 422) and bad.headers[LANE] == "costly"
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert "protection_m" in bad.text
        limits = c.get("/v1/limits").json()
        assert limits["costly_body_bytes"] == COSTLY_BODY_BYTES and limits["costly_in_lane_per_party"] == 1
        # Unauthenticated: refused by the worker, before the lane sees the body.
        anon = httpx.post(f"{url}/v1/checks", json=big, timeout=30)
        assert anon.status_code == 401 and LANE not in anon.headers


def test_a_dead_lane_is_restarted_and_the_worker_answers_meanwhile(
        served: tuple[str, str, subprocess.Popen[str]]) -> None:
    url, token, proc = served
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        assert _wait_lane_answers(c).headers.get(LANE) == "costly"
        lane = _lane_pid(proc.pid)
        os.kill(lane, signal.SIGKILL)
        while Path(f"/proc/{lane}").exists():  # reaped by serve's supervisor: its sockets closed
            time.sleep(0.05)
        # No lane: the worker answers itself, the same answer.
        meanwhile = c.get("/v1/picture")
        assert meanwhile.status_code == 200, meanwhile.text
        again = _wait_lane_answers(c)
        assert again.headers.get(LANE) == "costly", "the lane was not restarted"
        assert _lane_pid(proc.pid) != lane


def test_the_lane_never_outlives_serve_even_killed(served: tuple[str, str, subprocess.Popen[str]]) -> None:
    url, token, proc = served
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        assert _wait_lane_answers(c).headers.get(LANE) == "costly"
    lane = _lane_pid(proc.pid)
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 20
    while _alive(lane) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(lane), "the lane outlived serve"


def test_serve_stops_its_lane_on_sigterm(served: tuple[str, str, subprocess.Popen[str]]) -> None:
    url, token, proc = served
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        assert _wait_lane_answers(c).headers.get(LANE) == "costly"
    lane = _lane_pid(proc.pid)
    proc.send_signal(signal.SIGTERM)
    _out, errors = proc.communicate(timeout=30)
    assert proc.returncode == 0, errors
    assert not _alive(lane)


def _raw(url: str, token: str, paths: list[str], *, at_once: bool = False) -> list[bytes]:
    """The answers to GETs of ``paths`` on one connection, one after the other
    (``at_once``: all written before any answer is read: pipelined)."""
    host, port = url.removeprefix("http://").split(":")
    requests = [f"GET {p} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode() for p in paths]
    out = []
    with socket.create_connection((host, int(port)), timeout=20) as s:
        reader = s.makefile("rb")
        if at_once:
            s.sendall(b"".join(requests))
        for request in requests:
            if not at_once:
                s.sendall(request)
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = reader.readline()
                assert line, f"the connection closed before answering {request[:30]!r}"
                head += line
            length = next(int(v) for k, _, v in (h.partition(b": ") for h in head.split(b"\r\n"))
                          if k.lower() == b"content-length")
            out.append(head + reader.read(length))
    return out


def _headers(answer: bytes) -> dict[str, str]:
    lines = answer.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    return {k.lower(): v for k, _, v in (line.partition(": ") for line in lines)}


@pytest.mark.parametrize("served", [2], indirect=True, ids=["two-workers"])
def test_costly_reads_and_streams_are_handed_over_to_the_lane(
        served: tuple[str, str, subprocess.Popen[str]]) -> None:
    """The worker passes the connection itself: the lane answers the client directly and
    keeps the connection (its next requests, costly or not, are the lane's), a stream is
    served by the lane and delivers what a worker accepted, and pipelined requests, which
    cannot be handed over, are still answered."""
    url, token, _proc = served
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        assert _wait_lane_answers(c).status_code == 200
        with c.stream("GET", "/v1/stream", params={"wait": 1}) as stream:
            assert stream.status_code == 200 and stream.headers[LANE] == "costly"
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as w:
                made = w.post("/v1/activities", json={"activity": _site(7)})
                assert made.status_code == 201 and LANE not in made.headers
            seen = ""
            for line in stream.iter_lines():
                seen += line
                if "relief:S7" in seen:
                    break
    limits, picture, again = (_headers(a) for a in _raw(url, token, ["/v1/limits", "/v1/picture", "/v1/limits"]))
    assert LANE not in limits  # a worker's
    assert picture[LANE] == "costly" and picture.get("connection") != "close"
    assert again[LANE] == "costly"  # the same connection, now the lane's
    pipelined = _raw(url, token, ["/v1/picture", "/v1/picture"], at_once=True)
    assert [a.split(b"\r\n", 1)[0] for a in pipelined] == [b"HTTP/1.1 200 OK"] * 2


@pytest.mark.parametrize("served", [(1, ("--cot-tcp", "0"))], indirect=True, ids=["one-worker-tracks"])
def test_a_lane_without_every_route_closes_what_it_was_handed(
        served: tuple[str, str, subprocess.Popen[str]]) -> None:
    """One worker with live tracks: the tracker runs inside the worker, which the lane
    cannot forward to, so the lane answers a handed-over read and closes; the client's
    next request comes back through the worker (and reaches the tracks routes)."""
    url, token, _proc = served
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        picture = _wait_lane_answers(c)
        assert picture.headers[LANE] == "costly" and picture.headers["connection"] == "close"
        tracks = c.get("/v1/tracks")
        assert tracks.status_code == 200 and LANE not in tracks.headers


def test_a_handover_is_refused_unless_it_carries_one_descriptor_and_its_whole_head(tmp_path: Path) -> None:
    import asyncio

    from deconflict.service.handover import OFFER, Receiver

    async def main() -> list[bytes]:
        path = str(tmp_path / "h.sock")
        made: list[object] = []
        receiver = Receiver(path, lambda: made.append(1) or asyncio.Protocol(),  # type: ignore[func-returns-value]
                            keeps=True)
        await receiver.start()
        loop = asyncio.get_running_loop()
        answers = []
        r, w = await asyncio.open_unix_connection(path)  # an offer without a descriptor
        w.write(OFFER)
        await w.drain()
        answers.append(await r.read(1))
        w.close()
        for rest in (b"\xff\xff\xff\xff", b"\x00\x00\x00\x10GET / HTTP/1.1"):  # too long; cut short
            a, b = socket.socketpair()
            with a, b, socket.socket(socket.AF_UNIX) as conn:
                conn.connect(path)
                socket.send_fds(conn, [OFFER], [a.fileno()])
                answers.append(await loop.run_in_executor(None, conn.recv, 1))
                conn.sendall(rest)
                conn.shutdown(socket.SHUT_WR)
                answers.append(await loop.run_in_executor(None, conn.recv, 1))
        await receiver.stop()
        assert not made, "no connection was served"
        return answers

    # No descriptor: closed unanswered; a descriptor: acknowledged, then dropped.
    assert asyncio.run(main()) == [b"", b"K", b"", b"K", b""]
