"""The tracker: the scripted intrusion of check C3, alerts as a conversation, disclosure, links."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deconflict.errors import InvalidInput
from deconflict.service import log_view
from deconflict.service.auth import Role
from deconflict.service.notifications import Answer
from deconflict.tracks.report import UNAFFILIATED, Report
from deconflict.tracks.tracker import Settings
from tests import reference as ref
from tests.tracks.conftest import World, column_reports, world

S1 = (40.32, 35.36)
S1_PROTECTION_M = 1500.0


def _alerts(events: list, rule: str | None = None) -> list:
    return [e for e in events if e.type.startswith("alert.") and (rule is None or e.payload["rule"] == rule)]


def test_the_c3_column_raises_the_line_and_the_approach_to_s1_before_it_reaches_it(euphrates_world: World) -> None:
    """Check C3's column (regime) driven as a track: it crosses M1 (a violation) and
    the approach to S1's protection zone is predicted while it is still outside it."""
    tr = euphrates_world.tracker
    first_line = first_predicted_s1 = first_in_s1 = None
    for r in column_reports():
        events = tr.process([r])
        d = ref.inv(r.lon, r.lat, *S1)[1]
        for e in _alerts(events):
            p = e.payload
            views = p["views"]
            if e.type != "alert.raised":
                continue
            if p["rule"] == "track-line-far-side" and not views["regime"]["predicted"]:
                first_line = first_line or r.t
            if p["rule"] == "track-in-forces-site" and views["regime"]["predicted"]:
                first_predicted_s1 = first_predicted_s1 or (r.t, d, views["coalition"]["in_s"])
            if p["rule"] == "track-in-forces-site" and not views["regime"]["predicted"]:
                first_in_s1 = first_in_s1 or (r.t, d)
    assert first_line is not None, "the line violation was not raised"
    assert first_predicted_s1 is not None and first_in_s1 is not None
    t_pred, d_pred, in_s = first_predicted_s1
    t_in, d_in = first_in_s1
    assert d_pred > S1_PROTECTION_M  # outside the zone when the approach was predicted ...
    assert t_pred < t_in and in_s > 0  # ... and before it got in
    assert d_in <= S1_PROTECTION_M
    # The coalition (S1's owner) and the regime are both told, in their inboxes.
    notes = {n.party for n in euphrates_world.hotline.inbox.all() if n.kind.value == "track_alert"}
    assert notes == {"coalition", "regime"}


def test_every_report_is_judged_not_only_the_latest(euphrates_world: World) -> None:
    """A batch in which the column enters S1's zone and leaves again: raised and cleared."""
    t = datetime(2018, 2, 7, 20, 0, tzinfo=UTC)
    far = Report("regime", "c9", 40.33, 35.30, t, False)
    inside = Report("regime", "c9", 40.321, 35.361, t + timedelta(seconds=1), False)
    out = Report("regime", "c9", 40.33, 35.30, t + timedelta(seconds=2), False)
    events = euphrates_world.tracker.process([far, inside, out])
    kinds = [(e.type, e.payload["rule"]) for e in _alerts(events, "track-in-forces-site")]
    assert kinds == [("alert.raised", "track-in-forces-site"), ("alert.cleared", "track-in-forces-site")]


def test_an_alert_is_acknowledged_like_a_notification(euphrates_world: World) -> None:
    w = euphrates_world
    t = datetime(2018, 2, 7, 20, 0, tzinfo=UTC)
    w.tracker.process([Report("regime", "c1", 40.321, 35.361, t, False)])
    rules = {"track-in-forces-site", "track-line-far-side"}  # at S1 the column is across M1 too
    assert {a.rule for a in w.tracker.due("coalition", 0.0)} == rules
    assert w.tracker.due("coalition", 1.0) == []  # not yet time to repeat
    assert len(w.tracker.due("coalition", 1.0 + w.tracker.settings.repeat_s)) == 2
    _cred, token = w.hotline.issue_credential(None, "coalition", "watch", Role.LIAISON)
    who = w.hotline.authenticate(token)
    notes = [n for n in w.hotline.notifications(who) if n["kind"] == "track_alert"]
    assert {n["detail"]["rule"] for n in notes} == rules
    site = next(n for n in notes if n["detail"]["rule"] == "track-in-forces-site")
    w.hotline.answer(who, site["id"], Answer.ACKNOWLEDGED)
    # Acknowledged: no more b-a-g for it to the coalition; the other goes on, and the regime's too.
    assert [a.rule for a in w.tracker.due("coalition", 1e9)] == ["track-line-far-side"]
    assert len(w.tracker.due("regime", 1e9)) == 2


def test_an_alert_about_an_undisclosed_site_follows_the_disclosure_rules(euphrates_world: World) -> None:
    """S4 (sdf's forces site) is shared with the coalition only: a russian asset inside
    it is told of a forces site of sdf, not which, not where."""
    t = datetime(2018, 2, 7, 20, 0, tzinfo=UTC)
    events = euphrates_world.tracker.process([Report("russia", "r1", 40.371, 35.271, t, False)])
    [raised] = [e for e in _alerts(events, "track-in-forces-site") if e.type == "alert.raised"]
    views = raised.payload["views"]
    assert set(views) == {"russia", "sdf"}
    assert views["russia"]["object"] == {"owner": "sdf"}
    assert "S4" not in str(views["russia"]) and "Khasham" not in str(views["russia"])
    assert views["sdf"]["object"]["id"] == "S4"
    # And on the russian stream only the russian view.
    who = euphrates_world.hotline.authenticate(
        euphrates_world.hotline.issue_credential(None, "russia", "w", Role.VIEWER)[1])
    stream = log_view.follow(euphrates_world.hotline, who, raised.seq - 1, wait=0.05)
    first = next(stream)
    assert first is not None and first[:2] == (raised.seq, "alert.raised") and first[2] == views["russia"]


def test_an_unaffiliated_aircraft_in_the_coalitions_roz_alerts_the_coalition(euphrates_world: World) -> None:
    t = datetime(2018, 2, 7, 20, 0, tzinfo=UTC)
    events = euphrates_world.tracker.process([Report(UNAFFILIATED, "icao-ABC123", 40.30, 35.35, t, True, 3000.0)])
    [raised] = [e for e in _alerts(events, "track-in-roz") if e.type == "alert.raised"]
    assert set(raised.payload["views"]) == {"coalition"}
    assert raised.payload["views"]["coalition"]["asset"]["uid"] == "icao-ABC123"


def test_a_linked_asset_outside_its_declared_volume(euphrates_world: World) -> None:
    """V1 (relief convoy, 08:00-14:00, 200 m either side of its route): on the route in
    its window is fine; off the route, or after its window, is outside."""
    w = euphrates_world
    w.tracker.link("relief", "truck-1", "V1")
    t = datetime(2018, 2, 7, 10, 0, tzinfo=UTC)
    on = Report("relief", "truck-1", 40.02, 35.38, t, False)
    off = Report("relief", "truck-1", 40.02, 35.40, t + timedelta(seconds=1), False)
    late = Report("relief", "truck-1", 40.02, 35.38, t + timedelta(hours=5), False)
    got = []
    for r in (on, off, late):
        got.append(bool([e for e in _alerts(w.tracker.process([r]), "track-outside-declaration")
                         if e.type == "alert.raised"]) or "track-outside-declaration|declaration:V1" in
                   w.tracker.assets["truck-1"].conditions)
    assert got == [False, True, True]
    with pytest.raises(InvalidInput, match="not a movement or flight of relief"):
        w.tracker.link("relief", "truck-2", "S1")


def test_proximity_between_parties_predicted_before_it_happens(euphrates_world: World) -> None:
    """Two aircraft of different parties head-on at the same altitude, 20 km apart."""
    w = euphrates_world
    t = datetime(2018, 2, 7, 12, 0, tzinfo=UTC)
    a = Report("coalition", "jet-a", 39.5, 35.9, t, True, 4000.0, 0.0, 150.0)
    lon, lat = ref.fwd(39.5, 35.9, 0.0, 20_000.0)
    b = Report("russia", "jet-b", lon, lat, t, True, 4000.0, 180.0, 150.0)
    events = w.tracker.process([a, b])
    [raised] = list(_alerts(events, "track-predicted-approach"))
    v = raised.payload["views"]["coalition"]
    assert 60 < v["in_s"] < 70 and v["miss_m"] < 50
    same = Report("coalition", "jet-c", lon, lat, t, True, 4000.0, 180.0, 150.0)
    assert not _alerts(w.tracker.process([same]), "track-predicted-approach")  # own party: no alert


def test_a_uid_belongs_to_one_party(euphrates_world: World) -> None:
    t = datetime(2018, 2, 7, 12, 0, tzinfo=UTC)
    w = euphrates_world
    w.tracker.process([Report("sdf", "u-1", 40.0, 35.0, t, False)])
    w.tracker.process([Report("russia", "u-1", 40.5, 35.0, t, False)])
    assert w.tracker.assets["u-1"].party == "sdf" and w.tracker.assets["u-1"].last is not None
    assert w.tracker.assets["u-1"].last.lon == 40.0
    assert w.tracker.stats.uid_taken == 1
    assert math.isnan(w.tracker.assets["u-1"].last.alt_m)


def _bounded(tmp_path: Path, overall: int, per_party: int) -> Iterator[World]:
    return world(tmp_path / "bounded.sqlite3", Settings(max_assets=overall, max_assets_per_party=per_party))


def test_a_flood_of_invented_uids_is_bounded_while_a_canary_is_judged(tmp_path: Path) -> None:
    """A hostile regime feed invents a uid per report; memory stays within the bounds
    (the longest-silent assets evicted), and the coalition's canary, which keeps
    reporting, is never evicted and keeps being judged: it enters S1's protection zone
    (a violation of M1 too) and leaves, raised and cleared in the middle of the flood."""
    gen = _bounded(tmp_path, overall=60, per_party=40)
    w = next(gen)
    try:
        tr = w.tracker
        t = datetime(2018, 2, 7, 12, 0, tzinfo=UTC)
        away, inside = (40.0, 35.0), (40.321, 35.361)
        rules: list[tuple[str, str]] = []
        for k in range(50):
            flood = [Report("regime", f"bogus-{k}-{j}", 40.1 + j * 1e-4, 35.1, t, False) for j in range(20)]
            where = inside if 20 <= k < 30 else away
            canary = Report("russia", "canary", *where, t, False)
            events = tr.process([*flood[:10], canary, *flood[10:]])
            rules += [(e.type, e.payload["rule"]) for e in _alerts(events, "track-in-forces-site")]
            regime = sum(1 for a in tr.assets.values() if a.party == "regime")
            assert len(tr.assets) <= 60 and regime <= 40
            t += timedelta(seconds=5)
        assert tr.assets["canary"].last is not None and tr.assets["canary"].last.t == t - timedelta(seconds=5)
        assert rules == [("alert.raised", "track-in-forces-site"), ("alert.cleared", "track-in-forces-site")]
        assert tr.stats.assets_evicted == 50 * 20 - 40 and tr.stats.assets_refused == 0
        assert tr.stats.judged == 50 * 21
        assert tr.counters()["assets_evicted"] == tr.stats.assets_evicted
    finally:
        gen.close()


def test_assets_with_active_alerts_or_links_are_not_evicted_a_new_uid_is_refused(tmp_path: Path) -> None:
    gen = _bounded(tmp_path, overall=100, per_party=3)
    w = next(gen)
    try:
        tr = w.tracker
        t = datetime(2018, 2, 7, 10, 0, tzinfo=UTC)
        tr.link("relief", "truck-1", "V1")  # linked, never reported: held
        s4 = [Report("relief", f"in-s1-{j}", 40.321, 35.361 + j * 1e-5, t, False) for j in range(2)]
        assert _alerts(tr.process(s4), "track-in-forces-site")
        refused = tr.process([Report("relief", "new-1", 40.0, 35.0, t, False)])
        assert refused == [] and "new-1" not in tr.assets
        assert tr.stats.assets_refused == 1 and tr.stats.assets_evicted == 0
        # One leaves the zone: its alerts clear, it can go, the next new uid takes its place.
        tr.process([Report("relief", "in-s1-0", 40.0, 35.0, t + timedelta(seconds=1), False)])
        tr.process([Report("relief", "new-2", 40.0, 35.1, t + timedelta(seconds=2), False)])
        assert "new-2" in tr.assets and "in-s1-0" not in tr.assets and "truck-1" in tr.assets
        assert {"in-s1-1", "truck-1", "new-2"} == set(tr.assets)
        assert tr.stats.assets_evicted == 1 and tr.stats.assets_refused == 1
    finally:
        gen.close()


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_the_asset_bounds_are_checked(bad: object) -> None:
    with pytest.raises(InvalidInput, match="max_assets"):
        Settings(max_assets=bad).check()  # type: ignore[arg-type]
