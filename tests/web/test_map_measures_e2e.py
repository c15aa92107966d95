"""Measures and "as known at" on the map, in headless Chromium against a real
server with the Euphrates scenario: the coalition's liaison draws a no-fire
area binding russia and proposes it; russia's liaison sees it proposed (dashed,
waiting for russia), accepts it, and it is in force (a russia fire inside it is
now a violation). Then the picture as known before a declaration was submitted."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.service.conftest import Running
from tests.web import picture
from tests.web.test_map_e2e import Shot, activity_doc, expect_on_map, no_errors, on_map, open_page

pytest.importorskip("playwright")
from playwright.sync_api import expect

NFA = "coalition-NFA-web1"
#: Around C1's target, west of the river: clear of everything in the scenario.
CORNERS = ([40.03, 35.18], [40.08, 35.18], [40.08, 35.23], [40.03, 35.23])


def test_a_no_fire_area_proposed_on_the_map_is_accepted_by_the_party_it_binds(
        web_server: Running, browser_context: Any, shot: Shot) -> None:
    coalition = open_page(browser_context, web_server, web_server.tokens["coalition"]["liaison"])
    coalition.click("#tab-measures")
    coalition.select_option("#m-kind", "no_fire_area")
    expect(coalition.locator("#m-binds")).to_be_visible()
    expect(coalition.locator(".m-for-band")).to_be_hidden()
    coalition.fill("#m-id", NFA)
    coalition.fill("#m-label", "Village west of the river")
    coalition.click("#m-draw")
    for lonlat in CORNERS:
        x, y = coalition.evaluate(f"window.deconflict.project({list(lonlat)})")
        coalition.mouse.click(x, y)
    coalition.click("#m-finish")
    assert len(coalition.input_value("#m-points").splitlines()) == 4
    picture.wait_drawn(coalition, layer="plan", part="area", draft=True)
    coalition.check('#m-binds-parties input[value="russia"]')
    coalition.fill("#m-start", "2018-02-07 00:00")
    coalition.fill("#m-end", "2018-02-08 00:00")
    # A missing field is named where it is typed.
    coalition.fill("#m-end", "")
    coalition.click("#m-propose")
    expect(coalition.locator("#merr-end")).to_contain_text("end")
    coalition.fill("#m-end", "2018-02-08 00:00")
    coalition.click("#m-propose")
    expect(coalition.locator("#m-status")).to_contain_text("waiting for: russia")
    # Drawn as proposed: dashed, labelled with its version and whom it waits for.
    proposed = picture.wait_drawn(coalition, id=NFA, proposed=True, state="proposed", layer=list(picture.OBJECT_LAYERS))
    assert all(f["version"] == 1 for f in proposed), proposed
    picture.wait_label(coalition, NFA, "proposed v1, waiting for: russia")
    expect(coalition.locator(f'#proposal-list li[data-id="{NFA}"]')).to_contain_text("waiting for: russia")
    assert coalition.locator(f'#proposal-list li[data-id="{NFA}"] button.accept').count() == 0  # its own
    with web_server.client("coalition", "viewer") as api:
        [prop] = [p for p in api.measures()["proposed"] if p["measure"]["id"] == NFA]
    assert prop["waiting_for"] == ["russia"] and prop["measure"]["binds"] == ["russia"]
    ring = prop["measure"]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    for got, want in zip(ring, [*CORNERS, CORNERS[0]], strict=True):
        assert got == pytest.approx(want, abs=2e-5)

    # russia's liaison: the proposal on the map, in its inbox, and in the Measures panel to accept.
    russia = open_page(browser_context, web_server, web_server.tokens["russia"]["liaison"])
    picture.wait_drawn(russia, id=NFA, proposed=True, layer=list(picture.OBJECT_LAYERS))
    russia.click("#tab-inbox")
    expect(russia.locator("#inbox-list li[data-id]").filter(has_text=f"coalition proposes no fire area {NFA}")
           ).to_have_count(1)
    expect(russia.locator("#proposal-count")).to_have_text("1")
    russia.click("#tab-measures")
    item = russia.locator(f'#proposal-list li[data-id="{NFA}"]')
    expect(item).to_contain_text("proposed v1, waiting for: russia")
    russia.evaluate("window.deconflict.setView([40.1, 35.2], 256 * 2 ** 11)")
    russia.wait_for_timeout(300)
    shot(russia, "measure-proposed")
    item.locator("button.accept").click()
    # In force: drawn solid, no longer proposed; the coalition's map follows live.
    picture.wait_drawn(russia, id=NFA, measure=True, state="in_force", layer=list(picture.OBJECT_LAYERS))
    picture.wait_gone(russia, id=NFA, proposed=True)
    expect(russia.locator(f'#proposal-list li[data-id="{NFA}"]')).to_have_count(0)
    assert "proposed" not in picture.label_of(russia, NFA)
    picture.wait_drawn(coalition, id=NFA, measure=True, state="in_force", layer=list(picture.OBJECT_LAYERS),
                       timeout=10_000)
    shot(russia, "measure-in-force")
    with web_server.client("russia", "viewer") as api:
        measures = api.measures()
    assert NFA in {m["id"] for m in measures["in_force"]}
    assert NFA not in {p["measure"]["id"] for p in measures["proposed"]}

    # A russia fire inside it is now a violation of it.
    russia.click("#tab-plan")
    russia.check("#plan-kind-fire")
    russia.fill("#plan-target", "35.2, 40.05")
    russia.fill("#plan-radius", "300")
    russia.fill("#plan-start", "2018-02-07 10:00")
    russia.fill("#plan-end", "2018-02-07 10:30")
    russia.click("#plan-check")
    expect(russia.locator("#verdict")).to_contain_text("Violation")
    expect(russia.locator(f'#findings li.violation[data-object="{NFA}"]')).to_be_visible()
    picture.wait_drawn(russia, layer="findings", id=NFA)
    no_errors(russia)
    no_errors(coalition)
    russia.close()
    coalition.close()


def test_a_line_with_sides_and_a_roz_with_its_band(web_server: Running, browser_context: Any) -> None:
    sdf = open_page(browser_context, web_server, web_server.tokens["sdf"]["liaison"])
    sdf.click("#tab-measures")
    # A ROZ needs its band.
    sdf.select_option("#m-kind", "restricted_operations_zone")
    expect(sdf.locator(".m-for-band")).to_be_visible()
    sdf.fill("#m-id", "sdf-ROZ-web")
    sdf.fill("#m-points", "35.60, 40.60\n35.60, 40.70\n35.66, 40.70")
    sdf.check('#m-binds-parties input[value="regime"]')
    sdf.fill("#m-start", "2018-02-07 06:00")
    sdf.fill("#m-end", "2018-02-07 18:00")
    sdf.click("#m-propose")
    expect(sdf.locator("#merr-lower")).to_contain_text("lower")
    sdf.fill("#m-lower", "0")
    sdf.fill("#m-upper", "3000")
    sdf.click("#m-propose")
    expect(sdf.locator("#m-status")).to_contain_text("waiting for: regime")
    picture.wait_label(sdf, "sdf-ROZ-web", "0\u20133,000 m AMSL")
    # A deconfliction line: each party's side; bound are the parties given a side.
    sdf.select_option("#m-kind", "deconfliction_line")
    expect(sdf.locator("#m-sides")).to_be_visible()
    expect(sdf.locator("#m-binds")).to_be_hidden()
    sdf.fill("#m-id", "sdf-DL-web")
    sdf.fill("#m-points", "35.70, 40.60\n35.60, 40.80")
    sdf.select_option("#m-side-sdf", "left")
    sdf.select_option("#m-side-regime", "right")
    sdf.fill("#m-start", "2018-02-07 06:00")
    sdf.fill("#m-end", "2018-02-07 18:00")
    sdf.click("#m-propose")
    expect(sdf.locator("#m-status")).to_contain_text("waiting for: regime")
    with web_server.client("sdf", "viewer") as api:
        [dl] = [p for p in api.measures()["proposed"] if p["measure"]["id"] == "sdf-DL-web"]
    assert dl["measure"]["sides"] == {"regime": "right", "sdf": "left"} and dl["bound"] == ["regime", "sdf"]
    picture.wait_drawn(sdf, id="sdf-DL-web", proposed=True, layer=list(picture.OBJECT_LAYERS))
    no_errors(sdf)
    sdf.close()


def test_as_known_at_shows_the_picture_before_a_declaration_was_submitted(
        web_server: Running, browser_context: Any, shot: Shot) -> None:
    page = open_page(browser_context, web_server, web_server.tokens["russia"]["viewer"])
    before = datetime.now(UTC).replace(microsecond=0)
    time.sleep(1.1)
    with web_server.client("russia", "planner") as api:
        # (Inside the no-fire area of the first test if it ran: accepted with a reason either way.)
        # The id in russia's namespace, as the map names it (service/namespace.py).
        api.submit({**activity_doc(web_server, "C1"), "id": "russia:asof-C1"}, override_reason="Test: as known at")
    time.sleep(1.1)
    after = datetime.now(UTC).replace(microsecond=0)
    page.fill("#time", str(10 * 60))  # C1's window: 10:00-10:30
    expect(page.locator("#time-label")).to_have_text("2018-02-07 10:00Z")
    expect_on_map(page, "russia:asof-C1")  # live, from the stream

    page.fill("#asof", before.strftime("%Y-%m-%d %H:%M:%S"))
    page.click("#asof-go")
    expect(page.locator("#asof-state")).to_have_text(f"as known at {before:%Y-%m-%d %H:%M:%S}Z")
    picture.wait_gone(page, id="russia:asof-C1")
    assert "russia:asof-C1" not in {d["id"] for d in page.evaluate("window.deconflict.state.declarations")}
    expect_on_map(page, "S1")
    assert on_map(page, "S4") == 0  # disclosure holds in the past as now
    assert page.locator("#map-wrap.asof").count() == 1
    shot(page, "as-known-at-before")

    page.fill("#asof", after.strftime("%Y-%m-%d %H:%M:%S"))
    page.press("#asof", "Enter")
    expect(page.locator("#asof-state")).to_have_text(f"as known at {after:%Y-%m-%d %H:%M:%S}Z")
    expect_on_map(page, "russia:asof-C1")
    # A bad instant is named; Live goes back to the live picture.
    page.fill("#asof", "yesterday")
    page.click("#asof-go")
    expect(page.locator("#asof-error")).to_contain_text("YYYY-MM-DD")
    page.click("#asof-live")
    expect(page.locator("#asof-state")).to_have_text("")
    assert page.locator("#map-wrap.asof").count() == 0
    expect_on_map(page, "russia:asof-C1")
    no_errors(page)
    page.close()
