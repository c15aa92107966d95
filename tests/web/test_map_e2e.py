"""The map end to end, in headless Chromium against a real server with the
Euphrates scenario: sign in, see what the party may see, move through time,
check C2 on the map and see the violation, submit with an override, and the
owner party answers the notification that arrives live."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deconflict.service.client import Client
from deconflict.store.documents import encode_declaration
from tests.service.conftest import Running
from tests.web import picture

pytest.importorskip("playwright")
from playwright.sync_api import Page, expect

Shot = Callable[[object, str], Path]


def open_page(context: Any, running: Running, token: str | None, *, width: int = 1366, height: int = 860) -> Page:
    page: Page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(running.url + "/")
    page.wait_for_function("() => window.deconflict && window.deconflict.ready")
    if token is not None:
        sign_in(page, token)
    return page


def sign_in(page: Page, token: str) -> None:
    expect(page.locator("#signin")).to_be_visible()
    page.fill("#token", token)
    page.click("#signin-submit")
    expect(page.locator("#signin")).to_be_hidden()
    page.wait_for_function("() => window.deconflict.state.declarations.length > 0")


def on_map(page: Page, object_id: str) -> int:
    return picture.on_map(page, object_id)


def expect_on_map(page: Page, object_id: str) -> None:
    picture.wait_drawn(page, id=object_id, layer=list(picture.OBJECT_LAYERS))


def no_errors(page: Page) -> None:
    assert page.errors == [], page.errors  # type: ignore[attr-defined]


def activity_doc(running: Running, check_id: str) -> dict[str, Any]:
    check = next(c for c in running.scenario.checks if c.id == check_id)
    doc = encode_declaration(check.activity)
    doc.pop("owner")
    doc.pop("id")
    return doc


def test_the_page_is_served_and_refuses_a_bad_token(web_server: Running, browser_context: Any) -> None:
    page = open_page(browser_context, web_server, None)
    expect(page).to_have_title("Deconflict map")
    page.fill("#token", "dcf_nope_nope")
    page.click("#signin-submit")
    expect(page.locator("#signin-error")).to_contain_text("not valid")
    assert page.evaluate("sessionStorage.getItem('deconflict.token')") is None
    no_errors(page)
    page.close()


def test_sign_in_shows_exactly_what_the_party_may_see(web_server: Running, browser_context: Any, shot: Shot) -> None:
    russia = open_page(browser_context, web_server, web_server.tokens["russia"]["viewer"])
    expect(russia.locator("#whoami")).to_contain_text("russia")
    # At 08:00 on 7 February: the sites, the convoy, the line and the standing measures.
    expect(russia.locator("#time-label")).to_have_text("2018-02-07 08:00Z")
    for seen in ("S1", "S2", "S3", "V1", "M1", "M3", "M4"):
        expect_on_map(russia, seen)
    # S4 is sdf's, shared with the coalition only: russia never sees it, not even in the page's data.
    assert on_map(russia, "S4") == 0
    assert "S4" not in json.dumps(russia.evaluate("window.deconflict.state.declarations"))
    # A viewer looks but does not plan.
    expect(russia.locator("#plan-check")).to_be_disabled()
    expect(russia.locator("#plan-role")).to_contain_text("viewer")
    # The token is kept in the tab (sessionStorage): a reload stays signed in.
    russia.reload()
    russia.wait_for_function("() => window.deconflict.ready && window.deconflict.state.me")
    expect(russia.locator("#signin")).to_be_hidden()
    russia.click("#signout")
    expect(russia.locator("#signin")).to_be_visible()
    assert russia.evaluate("sessionStorage.getItem('deconflict.token')") is None
    no_errors(russia)
    russia.close()

    coalition = open_page(browser_context, web_server, web_server.tokens["coalition"]["viewer"])
    expect_on_map(coalition, "S4")
    # Symbols: milsymbol for forces, the shield emblem for the protected hospital.
    military = [f for f in picture.drawn(coalition, layer="symbols", dot=False) if f["sidc"]]
    assert len(military) >= 3, military
    s2 = picture.drawn(coalition, layer="symbols", id="S2")
    assert len(s2) == 1 and s2[0]["category"] == "protected" and s2[0]["sidc"] is None, s2
    # The shield is drawn: white above its black cross, at S2's position.
    s2_at = coalition.evaluate("window.deconflict.state.declarations.find((d) => d.id === 'S2').geometry.coordinates")
    coalition.evaluate(f"window.deconflict.setView({s2_at}, 256 * 2 ** 12)")
    x, y = coalition.evaluate(f"window.deconflict.project({s2_at})")
    coalition.wait_for_timeout(300)  # the emblem's image is decoded, then drawn
    assert min(picture.pixel(coalition, x, y - 12)[:3]) > 225, picture.pixel(coalition, x, y - 12)
    assert max(picture.pixel(coalition, x, y)[:3]) < 60, picture.pixel(coalition, x, y)
    coalition.click("#zoom-fit")
    # The deconfliction line is labelled on each side with its parties.
    sides = [s for f in picture.drawn(coalition, layer="lines", kind="deconfliction_line") for s in f["sides"] or []]
    expected = {"left": "coalition · sdf", "right": "regime · russia"}
    assert sides and all(s["text"] == expected[s["side"]] for s in sides), sides
    assert {s["side"] for s in sides} == {"left", "right"}
    # The no-fire area is hatched, the base map drawn from the bundled Natural Earth data.
    nfa = picture.drawn(coalition, layer="areas", kind="no_fire_area")
    assert nfa and all(f["paint"] == "pattern:hatch-nfa" for f in nfa), nfa
    # OpenLayers draws the countries (land and borders) as a vector layer: the set drawn at this zoom has them all.
    coalition.wait_for_function(
        "() => window.deconflict.layers().some((l) => l.name.startsWith('countries-') && l.drawn && l.features > 100)")
    # The legend explains what is drawn, the parts of a finding and the base layers among it.
    legend = coalition.locator("#legend")
    expect(legend).to_contain_text("Separation between the closest points")
    expect(legend).to_contain_text("Populated place")
    expect(legend).to_contain_text("echelon and designation")
    # Rivers and lakes (Natural Earth 1:50m, bundled): the Euphrates runs through the theatre.
    coalition.wait_for_function(
        "() => window.deconflict.layers().some((l) => l.name === 'water' && l.drawn && l.features > 500)")
    rivers_here = coalition.evaluate("""() => {
        const water = window.deconflict.map.map.getLayers().getArray().find((l) => l.get('name') === 'water');
        const box = window.ol.proj.transformExtent([39.9, 35.0, 40.6, 35.5], 'EPSG:4326', 'EPSG:3857');
        return water.getSource().getFeaturesInExtent(box).filter((f) => f.get('kind') === 'river').length; }""")
    assert rivers_here >= 1, rivers_here
    # And the populated places (SimpleMaps World Cities, bundled), tens of thousands of them, drawn at this zoom.
    coalition.wait_for_function(
        "() => window.deconflict.layers().some((l) => l.name === 'places' && l.drawn && l.features > 10000)")
    shot(coalition, "signed-in-coalition")
    no_errors(coalition)
    coalition.close()


def test_the_time_slider_shows_what_is_in_force(web_server: Running, browser_context: Any, shot: Shot) -> None:
    page = open_page(browser_context, web_server, web_server.tokens["coalition"]["viewer"])
    expect_on_map(page, "V1")
    assert not on_map(page, "F1") and not on_map(page, "M2")
    page.fill("#time", str(20 * 60))  # 20:00Z
    expect(page.locator("#time-label")).to_have_text("2018-02-07 20:00Z")
    expect_on_map(page, "F1")
    assert on_map(page, "M2") and not on_map(page, "V1")
    # The ROZ carries its altitudes on the map.
    picture.wait_label(page, "M2", "1,500\u20137,500 m AMSL")
    shot(page, "time-2000Z")
    # Stacked objects: at the SDF headquarters (S1) inside the ROZ (M2), a click offers both.
    s1 = page.evaluate("window.deconflict.state.declarations.find((d) => d.id === 'S1').geometry.coordinates")
    page.evaluate(f"window.deconflict.setView({s1}, 256 * 2 ** 12)")
    page.wait_for_timeout(200)
    x, y = page.evaluate(f"window.deconflict.project({s1})")
    page.mouse.click(x + 30, y + 30)  # inside S1's protection ring and M2's area, off the symbols
    picker = page.locator("#picker")
    expect(picker).to_be_visible()
    ids = picker.locator("button[data-id]").evaluate_all("(bs) => bs.map((b) => b.dataset.id)")
    assert {"S1", "M2"} <= set(ids), ids
    picker.locator('button[data-id="M2"]').click()
    expect(picker).to_be_hidden()
    expect(page.locator("#details h3")).to_contain_text("M2")
    page.click("#details-close")
    page.click("#zoom-fit")
    page.fill("#time", str(9 * 60 + 30))
    expect_on_map(page, "F2")
    assert not on_map(page, "F1")
    # Play moves time on; pressing again pauses.
    page.click("#play")
    expect(page.locator("#time-label")).not_to_have_text("2018-02-07 09:30Z", timeout=5000)
    page.click("#play")
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "false")
    no_errors(page)
    page.close()


def test_check_c2_on_the_map_then_submit_and_the_owner_answers_live(
        web_server: Running, browser_context: Any, shot: Shot) -> None:
    # The coalition's liaison is watching its inbox before anything happens.
    coalition = open_page(browser_context, web_server, web_server.tokens["coalition"]["liaison"])
    coalition.click("#tab-inbox")
    expect(coalition.locator("#stream-state")).to_have_text("live")
    before = coalition.locator("#inbox-list li[data-id]").count()

    russia = open_page(browser_context, web_server, web_server.tokens["russia"]["planner"])
    # Draw the target on the map, then type it exactly (lat, lon), with the window.
    russia.check("#plan-kind-fire")
    russia.click("#pick-target")
    x, y = russia.evaluate("window.deconflict.project([40.325, 35.355])")
    russia.mouse.click(x, y)
    picked = russia.input_value("#plan-target")
    lat, lon = (float(v) for v in picked.split(","))
    assert abs(lat - 35.355) < 0.01 and abs(lon - 40.325) < 0.01, picked
    russia.fill("#plan-label", "Air strike near the Conoco plant")
    russia.fill("#plan-target", "35.355, 40.325")
    russia.fill("#plan-radius", "500")
    russia.fill("#plan-start", "2018-02-07 20:00")
    russia.fill("#plan-end", "2018-02-07 20:15")
    russia.click("#plan-check")
    expect(russia.locator("#verdict")).to_contain_text("Violation")
    expect(russia.locator('#findings li.violation[data-object="M1"]')).to_be_visible()
    expect(russia.locator('#findings li.conflict[data-object="S1"]')).to_be_visible()
    assert russia.locator('#findings li[data-object="S4"]').count() == 0
    # The conflicting objects are highlighted on the map, the map is at the activity's time.
    picture.wait_drawn(russia, layer="findings", id="M1", hl="violation")
    picture.wait_drawn(russia, layer="findings", id="S1", hl="conflict")
    expect(russia.locator("#time-label")).to_have_text("2018-02-07 20:00Z")
    # Where it happens: Check zoomed to the fire; of the 200 km deconfliction line only the
    # stretch near the fire is highlighted, with the separation drawn to its closest point.
    map_box = russia.locator("#map").bounding_box()
    tx, ty = russia.evaluate("window.deconflict.project([40.325, 35.355])")
    assert map_box is not None
    assert map_box["x"] < tx < map_box["x"] + map_box["width"] and map_box["y"] < ty < map_box["y"] + map_box["height"]
    assert russia.evaluate("window.deconflict.state.view.scale") > 256 * 2 ** 10
    over = picture.drawn(russia, layer="findings", id="M1", part="over")
    line = picture.drawn(russia, layer="lines", id="M1", role="line")
    assert len(over) == 1 and len(line) == 1, (over, line)
    assert 0 < over[0]["length"] < line[0]["length"] / 4, (over[0]["length"], line[0]["length"])
    assert len(picture.drawn(russia, layer="findings", id="M1", part="separation")) == 1
    assert len(picture.drawn(russia, layer="findings", id="M1", part="closest")) == 2
    russia.evaluate("window.deconflict.setView([40.27, 35.33], 256 * 2 ** 11.7)")
    russia.wait_for_timeout(300)
    shot(russia, "check-c2-violation")

    # Submit: refused; then override with a reason.
    russia.click("#plan-submit")
    expect(russia.locator("#override")).to_be_visible()
    expect(russia.locator("#submit-status")).to_contain_text("Refused")
    russia.fill("#override-reason", "Test: strike coordinated by phone with the coalition")
    russia.click("#plan-override")
    expect(russia.locator("#submit-status")).to_contain_text("Accepted")
    expect(russia.locator("#submit-status")).to_contain_text("coalition")
    no_errors(russia)

    # The coalition's inbox updates live from the stream, without a reload.
    items = coalition.locator("#inbox-list li[data-id]")
    expect(items).to_have_count(before + 1, timeout=10_000)
    first = coalition.locator("#inbox-list li[data-id]").first
    expect(first).to_contain_text("russia overrode findings")
    expect(coalition.locator("#inbox-count")).to_have_text(str(before + 1))
    # Another override (a flight through the ROZ) sent over the API arrives too.
    with web_server.client("russia", "planner") as api:
        api.submit(activity_doc(web_server, "C4"), override_reason="Test: transit agreed by phone")
    expect(items).to_have_count(before + 2, timeout=10_000)
    # Unanswered past the deadline (6 s here): marked overdue, still first.
    expect(coalition.locator("#inbox-list li.overdue").first).to_be_visible(timeout=15_000)
    expect(coalition.locator("#inbox-list li.overdue .badge.overdue").first).to_contain_text("overdue")
    # The tab counts the overdue ones apart from the unanswered ones.
    expect(coalition.locator("#overdue-count")).to_have_text(re.compile(r"^!! [12]$"))
    shot(coalition, "inbox-overdue")

    # Acknowledge one; object to the other (a comment is needed).
    ids = [items.nth(i).get_attribute("data-id") for i in range(before + 2)]
    one, other = ids[0], ids[1]
    coalition.locator(f'li[data-id="{one}"] textarea').fill("Seen; the advisers are informed.")
    coalition.click(f'li[data-id="{one}"] button.ack')
    expect(coalition.locator(f'li[data-id="{one}"]')).to_have_attribute("data-status", "acknowledged")
    coalition.click(f'li[data-id="{other}"] button.object')
    expect(coalition.locator(f'li[data-id="{other}"] .error')).to_contain_text("needs a comment")
    coalition.locator(f'li[data-id="{other}"] textarea').fill("No: F1 is in the orbit then.")
    coalition.click(f'li[data-id="{other}"] button.object')
    expect(coalition.locator(f'li[data-id="{other}"]')).to_have_attribute("data-status", "objected")
    # Answered ones go last.
    expect(coalition.locator("#inbox-list li[data-id]").last).to_have_attribute("data-status", "objected")
    with Client(web_server.url, web_server.tokens["coalition"]["liaison"]) as api:
        status = {n["id"]: n for n in api.notifications()}
    assert status[one]["status"] == "acknowledged" and status[one]["comment"] == "Seen; the advisers are informed."
    assert status[other]["status"] == "objected" and status[other]["answered_by"] == "liaison"
    no_errors(coalition)
    coalition.close()
    russia.close()


def test_coordinates_exports_keyboard_and_tablet(web_server: Running, browser_context: Any, shot: Shot) -> None:
    page = open_page(browser_context, web_server, web_server.tokens["sdf"]["liaison"], width=820, height=1180)
    # Tablet portrait: the panels go under the map.
    map_box = page.locator("#map").bounding_box()
    side_box = page.locator("#side").bounding_box()
    assert map_box and side_box and side_box["y"] >= map_box["y"] + map_box["height"] - 1
    # MGRS typed, lat/lon and MGRS shown.
    page.fill("#goto", "37SFV 20387 13217")
    page.press("#goto", "Enter")
    expect(page.locator("#cursor")).to_contain_text("35.35500° N 40.32500° E")
    expect(page.locator("#cursor")).to_contain_text("37SFV 20387 13217")
    page.fill("#goto", "91, 40")
    page.press("#goto", "Enter")
    expect(page.locator("#goto-error")).to_contain_text("latitude")
    # Keyboard: the map takes focus, + zooms, arrows pan.
    page.focus("#map")
    scale = page.evaluate("window.deconflict.state.view.scale")
    page.keyboard.press("+")
    assert page.evaluate("window.deconflict.state.view.scale") == pytest.approx(scale * 2)
    cx = page.evaluate("window.deconflict.state.view.cx")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("window.deconflict.state.view.cx") > cx
    # Tabs by keyboard.
    page.focus("#tab-plan")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-inbox")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-inbox")).to_be_visible()
    shot(page, "tablet-portrait")

    # Exports: the view as PNG, the picture as GeoJSON and KML.
    page.click("#zoom-fit")
    with page.expect_download() as png:
        page.click("#export-png")
    data = Path(png.value.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    with page.expect_download() as gj:
        page.click("#export-geojson")
    fc = json.loads(Path(gj.value.path()).read_text())
    assert fc["type"] == "FeatureCollection"
    ids = {f["id"] for f in fc["features"]}
    assert {"S1", "S4", "M1", "V1"} <= ids
    s4 = next(f for f in fc["features"] if f["id"] == "S4")
    assert s4["geometry"] == {"type": "Point", "coordinates": [40.37, 35.27]} and s4["properties"]["owner"] == "sdf"
    # In the import format: the radio references the map shows are not carried into it.
    assert all("reference" not in f["properties"] for f in fc["features"])
    with page.expect_download() as kml:
        page.click("#export-kml")
    text = Path(kml.value.path()).read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>') and '<Placemark id="S4">' in text
    no_errors(page)
    page.close()


def test_a_movement_drawn_on_the_map_and_a_target_placed_by_keyboard(
        web_server: Running, browser_context: Any) -> None:
    sdf = open_page(browser_context, web_server, web_server.tokens["sdf"]["planner"])
    # C12: an sdf patrol crossing to the west bank, drawn with two clicks.
    sdf.check("#plan-kind-movement")
    expect(sdf.locator("#plan-halfwidth")).to_be_visible()
    sdf.click("#draw-route")
    for lonlat in ([40.30, 35.30], [40.16, 35.25]):
        x, y = sdf.evaluate(f"window.deconflict.project({lonlat})")
        sdf.mouse.click(x, y)
    sdf.click("#finish-route")
    assert len(sdf.input_value("#plan-points").splitlines()) == 2
    picture.wait_drawn(sdf, layer="plan", part="line", draft=False)
    sdf.fill("#plan-halfwidth", "200")
    sdf.fill("#plan-start", "2018-02-07 10:00")
    sdf.fill("#plan-end", "2018-02-07 12:00")
    sdf.click("#plan-check")
    expect(sdf.locator("#verdict")).to_contain_text("Violation")
    expect(sdf.locator('#findings li.violation[data-object="M1"]')).to_be_visible()
    # A missing field is named where it is typed.
    sdf.click("#plan-clear")
    sdf.check("#plan-kind-fire")
    sdf.fill("#plan-start", "2018-02-07 10:00")
    sdf.fill("#plan-end", "2018-02-07 10:15")
    sdf.click("#plan-check")
    expect(sdf.locator("#err-target")).to_contain_text("target")
    # By keyboard: Pick on map, then Enter places the target at the centre cross.
    sdf.click("#pick-target")
    expect(sdf.locator("#crosshair")).to_be_visible()
    sdf.keyboard.press("Enter")
    lat, lon = (float(v) for v in sdf.input_value("#plan-target").split(","))
    v = sdf.evaluate("window.deconflict.state.view")
    assert sdf.evaluate(f"window.deconflict.project([{lon}, {lat}])") == pytest.approx(
        sdf.evaluate(f"(() => {{ const r = document.querySelector('#map').getBoundingClientRect(); "
                     f"return [r.left + {v['width']} / 2, r.top + {v['height']} / 2]; }})()"), abs=1.0)
    expect(sdf.locator("#crosshair")).to_be_hidden()
    sdf.fill("#plan-target", "37SFV 20387 13217")
    sdf.click("#plan-check")
    expect(sdf.locator("#verdict")).to_be_visible()
    no_errors(sdf)
    sdf.close()


def test_a_site_declared_with_its_own_military_symbol(web_server: Running, browser_context: Any, shot: Shot) -> None:
    sdf = open_page(browser_context, web_server, web_server.tokens["sdf"]["planner"])
    sdf.check("#plan-kind-site")
    sdf.fill("#plan-label", "Company command post")
    sdf.select_option("#plan-facility", "forces")
    sdf.fill("#plan-target", "35.1, 40.7")
    sdf.fill("#plan-protection", "100")
    sdf.fill("#plan-start", "2018-02-11 06:00")
    sdf.fill("#plan-end", "2018-02-11 18:00")
    sdf.click("#plan-symbol summary")
    # A code that is not one is refused on its field, before anything is sent.
    sdf.fill("#plan-sidc", "HQ")
    sdf.click("#plan-check")
    expect(sdf.locator("#err-sidc")).to_contain_text("2525")
    sdf.fill("#plan-sidc", "shgpuci--------")  # the identity typed is the owner's business; the echelon is chosen
    sdf.select_option("#plan-echelon", "company")
    sdf.fill("#plan-designation", "A/2-22")
    sdf.click("#plan-check")
    expect(sdf.locator("#verdict")).to_be_visible()
    sdf.click("#plan-submit")
    expect(sdf.locator("#submit-status")).to_contain_text("Accepted")
    sdf.wait_for_function("() => window.deconflict.state.declarations.some((d) => d.designation === 'A/2-22')")
    decl = sdf.evaluate("window.deconflict.state.declarations.find((d) => d.designation === 'A/2-22')")
    assert decl["sidc"] == "SHGPUCI----E---", decl  # stored as declared, upper-cased, echelon E (company)
    sdf.evaluate("window.deconflict.setTime('2018-02-11T12:00:00Z')")
    sdf.evaluate("window.deconflict.setView([40.7, 35.1], 256 * 2 ** 12)")
    symbol = picture.wait_drawn(sdf, layer="symbols", id=decl["id"], dot=False)
    assert len(symbol) == 1 and symbol[0]["designation"] == "A/2-22", symbol  # beside the symbol, not the id
    # Drawn as a friend to its owner, whatever identity was typed: the friend's code, and
    # milsymbol's friendly fill (light blue) on the map inside the frame, left of its centre.
    assert symbol[0]["sidc"] == "SFGPUCI----E---", symbol
    x, y = symbol[0]["pixel"]
    box = sdf.locator("#map").bounding_box()
    assert box is not None
    r, g, b, _ = picture.pixel(sdf, box["x"] + x - 9, box["y"] + y)
    assert abs(r - 128) < 30 and abs(g - 224) < 30 and b > 225, (r, g, b)
    # The label: the radio reference and the label typed, not the id the server made up.
    label = picture.wait_label(sdf, decl["id"], "DC-")
    assert "Company command post" in label and decl["id"] not in label, label
    shot(sdf, "declared-symbol")
    no_errors(sdf)
    sdf.close()
