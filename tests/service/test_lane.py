"""The costly lane's routing and turns (service/lane.py); the processes themselves
are tested in tests/cli/test_lane.py."""

from __future__ import annotations

import asyncio

import pytest

from deconflict.service.lane import COSTLY_BODY_BYTES, TooManyCostly, Turns, costly


def test_what_is_costly_is_decided_from_the_route_and_the_body_size() -> None:
    assert costly("GET", "/v1/picture", None)
    assert costly("GET", "/v1/declarations", None)
    assert costly("GET", "/ogc/collections/declarations/items", None)
    assert not costly("GET", "/v1/declarations/relief:H1", None)
    assert not costly("GET", "/v1/stream", None)
    assert costly("POST", "/v1/checks", COSTLY_BODY_BYTES + 1)
    assert not costly("POST", "/v1/checks", COSTLY_BODY_BYTES)
    assert not costly("POST", "/v1/activities", None)
    assert not costly("POST", "/v1/notifications/n1/acknowledge", 10**6)
    assert not costly("DELETE", "/v1/declarations/x", None)


def test_a_party_s_costly_requests_take_turns_and_other_parties_do_not_wait() -> None:
    async def scenario() -> list[str]:
        turns = Turns(at_once=1, waiting=2)
        log: list[str] = []
        release = asyncio.Event()

        async def request(party: str, name: str) -> None:
            async with turns.turn(party):
                log.append(f"start {name}")
                if name == "a1":
                    await release.wait()
                log.append(f"end {name}")

        a1 = asyncio.create_task(request("a", "a1"))
        await asyncio.sleep(0)
        a2 = asyncio.create_task(request("a", "a2"))
        b1 = asyncio.create_task(request("b", "b1"))
        await asyncio.sleep(0.01)
        # b went at once; a2 waits behind a1.
        assert log == ["start a1", "start b1", "end b1"]
        a3 = asyncio.create_task(request("a", "a3"))
        await asyncio.sleep(0)
        with pytest.raises(TooManyCostly):  # a1 in the lane, a2 and a3 waiting: the fourth is refused
            async with turns.turn("a"):
                pass
        release.set()
        await asyncio.gather(a1, a2, b1, a3)
        assert not turns._gates and not turns._queued  # nothing kept once idle
        return log

    log = asyncio.run(scenario())
    assert log[3:] == ["end a1", "start a2", "end a2", "start a3", "end a3"]


def test_a_body_cut_short_by_a_disconnect_is_neither_answered_nor_passed_on() -> None:
    """A client that goes away mid-body: nothing reaches the app or the lane."""
    from deconflict.service.lane import CostlyLane

    reached: list[str] = []

    async def app(scope: object, receive: object, send: object) -> None:
        reached.append("app")

    async def scenario() -> list[dict[str, object]]:
        messages = iter([{"type": "http.request", "body": b'{"activity": {"ki', "more_body": True},
                         {"type": "http.disconnect"}])
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return next(messages)

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        lane = CostlyLane(app, "/nonexistent/lane.sock", answer=lambda exc: None)  # type: ignore[arg-type,return-value]
        await lane({"type": "http", "method": "POST", "path": "/v1/checks", "headers": []}, receive, send)
        return sent

    assert asyncio.run(scenario()) == [] and reached == []


def test_a_party_reading_back_to_back_gets_its_share_of_the_lane_and_others_do_not_wait(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In the lane, after a party's costly read took t, its next waits t again (share
    0.5), though its answer went out at once; another party's read does not wait."""
    from deconflict.service.gate import PARTY_KEY
    from deconflict.service.lane import LaneTurns

    monkeypatch.delenv("DECONFLICT_COSTLY_SHARE", raising=False)
    took = 0.1

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        await asyncio.sleep(took)
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"", "more_body": False})  # type: ignore[operator]

    async def scenario() -> dict[str, float]:
        turns = LaneTurns(app, answer=lambda exc: None)  # type: ignore[arg-type,return-value]
        t0 = asyncio.get_running_loop().time()
        answered: dict[str, float] = {}

        async def read(party: str, name: str) -> None:
            async def send(message: dict[str, object]) -> None:
                if message["type"] == "http.response.start":
                    assert (b"x-deconflict-lane", b"costly") in message["headers"]  # type: ignore[operator]
                    answered[name] = asyncio.get_running_loop().time() - t0

            scope = {"type": "http", "method": "GET", "path": "/v1/picture", "state": {PARTY_KEY: party}}
            await turns(scope, None, send)  # type: ignore[arg-type]

        await asyncio.gather(read("a", "a1"), read("a", "a2"), read("b", "b1"))
        return answered

    answered = asyncio.run(scenario())
    assert answered["a1"] == pytest.approx(took, abs=0.05)
    assert answered["b1"] == pytest.approx(took, abs=0.05)  # not behind a's rest
    # a2 starts after a1's answer and a1's rest (as long again), then takes its own time.
    assert answered["a2"] >= 3 * took - 0.02


def test_an_operator_s_costly_share_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from deconflict.errors import InvalidInput
    from deconflict.service.lane import costly_share

    monkeypatch.setenv("DECONFLICT_COSTLY_SHARE", "0.25")
    assert costly_share() == 0.25
    for bad in ("0", "2", "nan", "half"):
        monkeypatch.setenv("DECONFLICT_COSTLY_SHARE", bad)
        with pytest.raises(InvalidInput, match="DECONFLICT_COSTLY_SHARE"):
            costly_share()


def test_a_request_cancelled_while_waiting_for_its_turn_leaves_no_trace() -> None:
    async def scenario() -> Turns:
        turns = Turns(at_once=1, waiting=1)
        await turns.take("a")
        waiting = asyncio.create_task(turns.take("a"))
        await asyncio.sleep(0)
        waiting.cancel()  # the client went away
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.wait_for(turns.take("b"), 1)  # another party: not held up
        turns.give_back("b")
        # a's place in the queue was given back: one more may wait again.
        again = asyncio.create_task(turns.take("a"))
        await asyncio.sleep(0)
        turns.give_back("a")
        await asyncio.wait_for(again, 1)
        turns.give_back("a")
        return turns

    turns = asyncio.run(scenario())
    assert not turns._gates and not turns._queued
