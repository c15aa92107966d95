"""The hotline on the map, in headless Chromium against a real server with the
Euphrates scenario: sharing chosen on the map hides an activity from the other
parties (issue 8, test f), and relief declares a clinic where russia's accepted
fire lands and sees each party's acknowledgement (test b)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deconflict.service.client import Client, ProblemError
from tests.service.conftest import Running
from tests.web import picture
from tests.web.test_map_e2e import Shot, no_errors, on_map, open_page

pytest.importorskip("playwright")
from playwright.sync_api import Page, Request, expect

OTHERS = ("sdf", "regime", "relief")


def submits(page: Page) -> list[dict[str, str]]:
    """The headers of every submit the page sends, as they go out."""
    seen: list[dict[str, str]] = []

    def record(req: Request) -> None:
        if req.method == "POST" and req.url.endswith("/v1/activities"):
            seen.append(req.headers)

    page.on("request", record)
    return seen


def declaration_id(page: Page, label: str) -> str:
    page.wait_for_function("(l) => window.deconflict.state.declarations.some((d) => d.label === l)", arg=label)
    return str(page.evaluate("(l) => window.deconflict.state.declarations.find((d) => d.label === l).id", label))


def test_an_activity_shared_on_the_map_with_one_party_is_invisible_to_the_others(
        web_server: Running, browser_context: Any, shot: Shot) -> None:
    # Russia's setting: share with the coalition alone by default (put back afterwards).
    with Client(web_server.url, web_server.tokens["russia"]["liaison"]) as settings_api:
        before = settings_api.settings("russia")
        settings_api.put_settings("russia", {**{k: before[k] for k in ("must_acknowledge", "deadlines")},
                                             "share_with": ["coalition"]})
        try:
            russia = open_page(browser_context, web_server, web_server.tokens["russia"]["planner"])
        finally:
            settings_api.put_settings("russia", {k: before[k] for k in ("share_with", "must_acknowledge", "deadlines")})
    sent = submits(russia)
    label = "Strike west of the river, told to the coalition only"
    russia.check("#plan-kind-fire")
    russia.fill("#plan-label", label)
    russia.fill("#plan-target", "35.2, 40.05")
    russia.fill("#plan-radius", "300")
    russia.fill("#plan-start", "2018-02-07 10:00")
    russia.fill("#plan-end", "2018-02-07 10:30")
    # The form starts as the setting says: the coalition alone; russia itself is not offered
    # (the owner always sees its own).
    expect(russia.locator("#share-listed")).to_be_checked()
    expect(russia.locator('#share-parties input[value="coalition"]')).to_be_checked()
    expect(russia.locator('#share-parties input[value="sdf"]')).not_to_be_checked()
    assert russia.locator('#share-parties input[value="russia"]').count() == 0
    russia.click("#plan-check")
    expect(russia.locator("#verdict")).to_contain_text("Clear")
    expect(russia.locator("#result-share")).to_have_text("Shared with: coalition only.")
    # A dry run tells nobody, and says so.
    expect(russia.locator("#will-notify")).to_contain_text("Nothing has been sent")
    expect(russia.locator("#will-notify")).not_to_contain_text("Notified")
    russia.click("#plan-submit")
    expect(russia.locator("#submit-status")).to_contain_text("Accepted")
    expect(russia.locator("#submit-status")).to_contain_text("Shared with coalition only")
    # Every submit carries an Idempotency-Key.
    assert len(sent) == 1 and sent[0].get("idempotency-key", "").startswith("web-"), sent
    fid = declaration_id(russia, label)
    # Its radio reference is in its label on the map.
    picture.wait_label(russia, fid, "DC-")
    shot(russia, "shared-with-coalition-only")
    no_errors(russia)
    russia.close()

    # Over the API, as each party: the coalition sees it, the others do not, not even in the picture.
    with Client(web_server.url, web_server.tokens["coalition"]["viewer"]) as coalition:
        seen = coalition.get(f"/v1/declarations/{fid}")
        assert seen["share_with"] == ["coalition"] and seen["label"] == label
    for party in OTHERS:
        with Client(web_server.url, web_server.tokens[party]["viewer"]) as other:
            with pytest.raises(ProblemError) as e:
                other.get(f"/v1/declarations/{fid}")
            assert e.value.status == 404, party
            assert label not in json.dumps(other.declarations())
            assert label not in json.dumps(other.get("/v1/picture"))

    # Nor on their maps: sdf's has it neither drawn nor in the page's data.
    sdf = open_page(browser_context, web_server, web_server.tokens["sdf"]["viewer"])
    sdf.evaluate("(t) => window.deconflict.setTime(t)", "2018-02-07T10:05:00Z")
    sdf.wait_for_timeout(200)
    assert on_map(sdf, fid) == 0
    assert label not in json.dumps(sdf.evaluate("window.deconflict.state.declarations"))
    no_errors(sdf)
    sdf.close()


def test_relief_declares_a_clinic_where_russias_accepted_fire_lands(
        web_server: Running, browser_context: Any, shot: Shot) -> None:
    # Russia's fire is accepted first (clear: west of the river, nothing declared there that day).
    fire = {"kind": "fire", "label": "Strike west of the river, 9 February", "effects_radius_m": 300,
            "target": {"type": "Point", "coordinates": [40.05, 35.2]},
            "window": {"start": "2018-02-09T10:00:00Z", "end": "2018-02-09T10:30:00Z"}}
    with Client(web_server.url, web_server.tokens["russia"]["liaison"]) as russia_api:
        accepted = russia_api.submit(fire)
        assert accepted["verdict"] == "clear", accepted

    relief = open_page(browser_context, web_server, web_server.tokens["relief"]["liaison"])
    sent = submits(relief)
    label = "Clinic, west bank"
    relief.check("#plan-kind-site")
    expect(relief.locator("#plan-target-what")).to_have_text("Position")
    expect(relief.locator("#plan-details")).to_be_visible()
    relief.fill("#plan-label", label)
    relief.select_option("#plan-facility", "hospital")
    relief.fill("#plan-target", "35.2, 40.05")
    relief.fill("#plan-protection", "200")
    relief.fill("#plan-start", "2018-02-09 06:00")
    relief.fill("#plan-end", "2018-02-10 06:00")
    relief.click("#plan-details summary")
    relief.fill("#d-organisation", "Relief")
    relief.fill("#d-contact", "Dr A. Haddad")
    relief.fill("#d-radio", "VHF 145.500, RELIEF 1")
    relief.fill("#d-people", "40")
    relief.fill("#d-vehicles", "2")
    relief.fill("#d-plates", "DEZ 1001, DEZ 1002")
    relief.click("#plan-check")
    # The check finds the fire; a dry run says who WILL be told (russia, whose fire it is, and the
    # armed forces a humanitarian party asks by default), and that nothing was sent.
    expect(relief.locator("#verdict")).to_contain_text("Conflict")
    expect(relief.locator("#will-notify")).to_contain_text(
        "Nothing has been sent: this was a check. On submit, coalition, regime, russia, sdf will be notified.")
    expect(relief.locator("#result-share")).to_have_text("Shared with: all parties.")
    relief.click("#plan-submit")
    # Presence is never refused: accepted without an override, the conflict a warning.
    expect(relief.locator("#submit-status")).to_contain_text("Accepted")
    expect(relief.locator("#submit-status")).to_contain_text("DC-")
    expect(relief.locator("#submit-status")).to_contain_text("never refused")
    expect(relief.locator("#override")).to_be_hidden()
    assert len(sent) == 1 and sent[0].get("idempotency-key"), sent
    sid = declaration_id(relief, label)

    # Russia is notified as urgent, with the clinic's reference and details (it is shared with all).
    with Client(web_server.url, web_server.tokens["russia"]["liaison"]) as russia_api:
        told = [n for n in russia_api.notifications() if n["subject"] == sid]
        assert told and told[0]["urgent"] is True, told
        assert told[0]["detail"]["activity"]["details"]["contact"]["radio"] == "VHF 145.500, RELIEF 1"
        nid = told[0]["id"]

    # Relief's map: the clinic's own symbol; its details with each party's answer, pending.
    relief.evaluate("(t) => window.deconflict.setTime(t)", "2018-02-09T10:05:00Z")
    picture.wait_drawn(relief, layer="symbols", id=sid, facility="hospital")
    relief.evaluate("(id) => window.deconflict.select(id)", sid)
    details = relief.locator("#details")
    expect(details).to_contain_text("Hospital or clinic")
    expect(details).to_contain_text("VHF 145.500, RELIEF 1")
    expect(details).to_contain_text("DEZ 1001, DEZ 1002")
    for party in ("coalition", "regime", "russia", "sdf"):  # each party asked, each pending
        expect(details.locator(f'.answers li[data-party="{party}"]')).to_have_attribute("data-state", "pending")
    expect(details.locator(".current-findings")).to_contain_text("russia")

    # Past russia's deadline (6 s on this server) the answer is overdue: in the details, on the map.
    deadline = datetime.fromisoformat(told[0]["deadline"].replace("Z", "+00:00"))
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.5)
    relief.evaluate("(id) => window.deconflict.select(id)", sid)
    expect(details.locator('.answers li[data-party="russia"]')).to_contain_text("overdue")
    picture.wait_drawn(relief, id=sid, overdue=True, layer=list(picture.OBJECT_LAYERS))
    picture.wait_label(relief, sid, "!! overdue")

    # Russia acknowledges: relief's open details update live, with the time and the reference.
    with Client(web_server.url, web_server.tokens["russia"]["liaison"]) as russia_api:
        answered = russia_api.acknowledge(nid, "Seen; the fire is moved 2 km north.")
    expect(details.locator('.answers li[data-party="russia"]')).to_have_attribute(
        "data-state", "acknowledged", timeout=15_000)
    hhmm = answered["answered_at"][11:16]
    expect(details.locator('.answers li[data-party="russia"]')).to_contain_text(f"russia {hhmm}")
    expect(details.locator('.answers li[data-party="russia"] .ref')).to_contain_text("DC-")
    shot(relief, "clinic-acknowledged")
    # The answer is in relief's inbox too, with russia's comment and the references.
    relief.click("#tab-inbox")
    answer = relief.locator("#inbox-list li[data-id]", has_text="Seen; the fire is moved 2 km north.").first
    expect(answer).to_contain_text("russia")
    expect(answer.locator(".about")).to_contain_text("DC-")
    # A reference read out on the radio finds the clinic; the CSV export lists the acknowledgement.
    ref = relief.evaluate("(id) => window.deconflict.state.views.get(id).reference", sid)
    relief.fill("#ref-input", ref.lower())
    relief.press("#ref-input", "Enter")
    expect(relief.locator("#ref-status")).to_have_text(f"{ref}: site {sid} of relief.")
    with relief.expect_download() as csv_file:
        relief.click("#export-csv")
    rows = Path(csv_file.value.path()).read_text().splitlines()
    assert rows[0].startswith("reference,direction,kind")
    assert any(sid in r and "russia" in r and "acknowledged" in r for r in rows[1:]), rows
    no_errors(relief)
    relief.close()


def test_a_measure_declined_then_agreed_over_an_accepted_fire_then_withdrawn(
        web_server: Running, browser_context: Any, shot: Shot) -> None:
    # Russia's fire is accepted (clear); the coalition proposes a no-fire area over it, binding russia.
    fire = {"kind": "fire", "label": "Strike west of the river, 8 February", "effects_radius_m": 300,
            "target": {"type": "Point", "coordinates": [40.05, 35.2]},
            "window": {"start": "2018-02-08T10:00:00Z", "end": "2018-02-08T10:30:00Z"}}
    nfa = {"id": "X1-web", "kind": "no_fire_area", "owner": "coalition", "label": "Village west of the river",
           "geometry": {"type": "Polygon", "coordinates": [[[40.03, 35.18], [40.08, 35.18], [40.08, 35.23],
                                                           [40.03, 35.23], [40.03, 35.18]]]},
           "binds": ["russia"], "window": {"start": "2018-02-08T00:00:00Z", "end": "2018-02-09T00:00:00Z"}}
    with Client(web_server.url, web_server.tokens["russia"]["liaison"]) as russia_api, \
            Client(web_server.url, web_server.tokens["coalition"]["liaison"]) as coalition_api:
        fid = russia_api.submit(fire)["id"]
        coalition_api.propose_measure(nfa)

        russia = open_page(browser_context, web_server, web_server.tokens["russia"]["liaison"])
        russia.click("#tab-measures")
        item = russia.locator('#proposal-list li[data-id="X1-web"]')
        # Declining needs a comment; the proposer receives it.
        item.locator("button.decline").click()
        expect(item.locator(".error")).to_contain_text("needs a comment")
        item.locator("textarea.comment").fill("Too wide: our battery is inside it")
        item.locator("button.decline").click()
        expect(russia.locator('#proposal-list li[data-id="X1-web"]')).to_have_count(0)
        told = [n for n in coalition_api.notifications() if n["subject"] == "X1-web" and n["from_party"] == "russia"]
        assert told and "Too wide: our battery is inside it" in told[0]["summary"], told

        # Version 2 is proposed; russia accepts it on the map: in force over its accepted fire.
        coalition_api.propose_measure(nfa)
        item = russia.locator('#proposal-list li[data-id="X1-web"]')
        expect(item.locator("button.accept")).to_be_visible(timeout=10_000)
        item.locator("button.accept").click()
        listed = russia.locator('#inforce-list li[data-id="X1-web"]')
        expect(listed).to_contain_text("put in force by coalition")
        expect(listed).to_contain_text("accepted by russia")
        listed.locator("summary").click()
        expect(listed.locator(".history")).to_contain_text("declined by russia")
        expect(listed.locator(".history")).to_contain_text("“Too wide: our battery is inside it”")
        assert listed.locator("button.withdraw").count() == 0  # the coalition's to withdraw

        # The accepted fire now carries the violation among its current findings.
        russia.evaluate("(t) => window.deconflict.setTime(t)", "2018-02-08T10:05:00Z")
        russia.evaluate("(id) => window.deconflict.select(id)", fid)
        expect(russia.locator("#details .current-findings")).to_contain_text("X1-web", timeout=10_000)
        expect(russia.locator("#details .current-findings li.violation")).to_have_count(1)
        shot(russia, "fire-now-violates-x1")
        no_errors(russia)
        russia.close()

    # The coalition withdraws it from its map; russia is told.
    coalition = open_page(browser_context, web_server, web_server.tokens["coalition"]["liaison"])
    coalition.click("#tab-measures")
    withdraw = coalition.locator('#inforce-list li[data-id="X1-web"] button.withdraw')
    withdraw.click()
    expect(withdraw).to_contain_text("confirm")
    # The list is redrawn whenever the picture reloads (here as a stream event would
    # make it): the confirmation survives, so the second press withdraws. It was kept in
    # the button, and under load the second press only asked again.
    coalition.evaluate("() => window.deconflict.reload()")
    expect(withdraw).to_contain_text("confirm")
    withdraw.click()
    expect(coalition.locator('#inforce-list li[data-id="X1-web"]')).to_have_count(0)
    with Client(web_server.url, web_server.tokens["russia"]["viewer"]) as russia_api:
        assert any(n["subject"] == "X1-web" and n["kind"] == "measure_withdrawn" for n in russia_api.notifications())
        assert "X1-web" not in {m["id"] for m in russia_api.measures()["in_force"]}
    no_errors(coalition)
    coalition.close()


def test_an_activity_withdrawn_from_its_details_even_when_they_are_redrawn(
        web_server: Running, browser_context: Any) -> None:
    # The details are redrawn by every refresh of the selection (a stream event, an
    # answer): the confirmation pressed once must survive it.
    fire = {"kind": "fire", "label": "Strike to withdraw, 9 February", "effects_radius_m": 200,
            "target": {"type": "Point", "coordinates": [40.04, 35.26]},
            "window": {"start": "2018-02-09T10:00:00Z", "end": "2018-02-09T10:30:00Z"}}
    with Client(web_server.url, web_server.tokens["russia"]["planner"]) as russia_api:
        fid = russia_api.submit(fire)["id"]
        page = open_page(browser_context, web_server, web_server.tokens["russia"]["planner"])
        page.evaluate("(t) => window.deconflict.setTime(t)", "2018-02-09T10:05:00Z")
        page.evaluate("(id) => window.deconflict.select(id)", fid)
        button = page.locator("#details-withdraw")
        button.click()
        expect(button).to_contain_text("confirm")
        page.evaluate("(id) => window.deconflict.select(id)", fid)  # redrawn
        expect(page.locator("#details-withdraw")).to_contain_text("confirm")
        page.locator("#details-withdraw").click()
        page.wait_for_function("(id) => !window.deconflict.state.declarations.some((d) => d.id === id)", arg=fid)
        assert fid not in {d["id"] for d in russia_api.declarations()}
        no_errors(page)
        page.close()


def test_an_objection_answered_by_amending_the_activity_on_the_map(
        web_server: Running, browser_context: Any) -> None:
    # Russia's fire near the coalition's S1 is accepted with an override and the
    # coalition is told; the coalition objects. Russia's liaison amends the fire on the
    # map (a later, shorter window): the new version keeps the id, and the coalition's
    # objection is answered by the amendment.
    fire = {"kind": "fire", "label": "Strike to amend, 10 February", "effects_radius_m": 250,
            "target": {"type": "Point", "coordinates": [40.3251234567, 35.3551234567]},
            "window": {"start": "2018-02-10T10:00:00Z", "end": "2018-02-10T11:00:00Z"},
            "share_with": ["coalition"]}
    with Client(web_server.url, web_server.tokens["russia"]["liaison"]) as russia_api, \
            Client(web_server.url, web_server.tokens["coalition"]["liaison"]) as coalition_api:
        fid = russia_api.submit(fire, override_reason="Counter-battery, no alternative")["id"]
        told = [n for n in coalition_api.notifications() if n["subject"] == fid]
        if not told:  # nothing for the coalition to answer: the fire's findings notify nobody
            pytest.fail(f"the coalition was not told of {fid}: {coalition_api.notifications()[-3:]}")
        coalition_api.object(told[0]["id"], "Our patrol is there until 10:40")

        page = open_page(browser_context, web_server, web_server.tokens["russia"]["liaison"])
        page.evaluate("(t) => window.deconflict.setTime(t)", "2018-02-10T10:05:00Z")
        page.evaluate("(id) => window.deconflict.select(id)", fid)
        page.locator("#details-amend").click()
        expect(page.locator("#plan-amending")).to_contain_text("Amending Strike to amend, 10 February")
        assert page.locator("#plan-kind-fire").is_checked()
        assert page.locator("#plan-radius").input_value() == "250"
        assert page.locator("#share-listed").is_checked()
        page.fill("#plan-start", "2018-02-10 10:45")
        page.locator("#plan-check").click()
        expect(page.locator("#plan-submit")).to_be_enabled()
        page.locator("#plan-submit").click()
        expect(page.locator("#override")).to_be_visible()
        page.fill("#override-reason", "Moved after the patrol leaves")
        page.locator("#plan-override").click()
        expect(page.locator("#submit-status")).to_contain_text(f"Accepted as {fid}")
        expect(page.locator("#plan-amending")).to_be_hidden()

        [mine] = [d for d in russia_api.declarations() if d["id"] == fid]
        # Only the window changed: the target kept every digit, the sharing its party.
        assert mine["window"]["start"] == "2018-02-10T10:45:00Z"
        assert mine["target"]["coordinates"] == [40.3251234567, 35.3551234567]
        assert mine["share_with"] == ["coalition"] and mine["effects_radius_m"] == 250
        answered = [n for n in coalition_api.notifications() if n["detail"].get("answer") == "amended"]
        assert answered and answered[0]["subject"] == fid, coalition_api.notifications()[-3:]
        assert "amended in answer to your objection" in answered[0]["summary"]
        assert russia_api.activity(fid)["open_objections"] == []
        no_errors(page)
        page.close()
