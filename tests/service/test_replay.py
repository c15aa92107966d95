"""Replay: the picture a party knew at a past recording instant equals what it was
shown live, on a real server, at several instants, for several parties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deconflict.service.replay import replay
from deconflict.store.events import format_instant
from tests.service.conftest import Running
from tests.service.test_http import activity_doc

PARTIES = ("regime", "russia", "coalition", "sdf", "relief")


def live(running: Running) -> dict[str, tuple[list[str], list[str]]]:
    out = {}
    for party in PARTIES:
        with running.client(party, "viewer") as c:
            decls = sorted(d["id"] for d in c.declarations())
            measures = sorted(m["id"] for m in c.measures()["in_force"])
        out[party] = (decls, measures)
    return out


def test_replay_matches_what_each_party_was_shown_live(running: Running) -> None:
    store = running.hotline.service.store
    shown: list[tuple[datetime, dict[str, tuple[list[str], list[str]]]]] = []

    def record() -> None:
        head = store.head()
        assert head is not None
        shown.append((head.recorded_at, live(running)))

    record()
    with running.client("regime", "planner") as regime:
        regime.submit(activity_doc(running, "C2"), override_reason="urgent")
    record()
    with running.client("russia", "planner") as russia:
        russia.submit(activity_doc(running, "C1"))
    record()
    with running.client("regime", "planner") as regime:
        regime.withdraw("C2")
    record()
    assert len({tuple(sorted(s[1]["russia"][0])) for s in shown}) >= 3  # the picture did change
    for instant, pictures in shown:
        for party in PARTIES:
            seen = replay(store, instant, party)
            assert not seen.caveat() or "ends" in seen.caveat()
            got = (sorted(d.id for d in seen.declarations()), sorted(m.id for m in seen.measures()))
            assert got == pictures[party], (format_instant(instant), party)
    # The administrator's view has everything, the parties' views only theirs.
    admin = replay(store, shown[-1][0], None)
    assert len(admin.declarations()) > len(replay(store, shown[-1][0], "relief").declarations())


def test_a_replay_before_the_log_starts_says_so(module_running: Running) -> None:
    running = module_running
    store = running.hotline.service.store
    seen = replay(store, datetime(2018, 2, 7, 20, 5, tzinfo=UTC), "coalition")
    assert seen.before_log and not seen.declarations()
    assert seen.log_starts is not None and seen.log_starts in seen.caveat()
    assert "recording times" in seen.caveat()
    later = replay(store, datetime.now(UTC) + timedelta(days=1), "coalition")
    assert not later.before_log and later.declarations()
    with running.client("coalition", "viewer") as c:
        pic = c.get("/v1/picture", as_of="2018-02-07T20:05:00Z")
    assert pic["declarations"] == [] and pic["log_starts"] == seen.log_starts
    assert "before the log starts" in pic["caveat"]
