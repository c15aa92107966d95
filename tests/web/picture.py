"""What the map draws, read through its test hook: the operational picture is
OpenLayers vector layers on canvas (web/src/opslayers.js), so the tests ask the
map for the features it draws in the view (``window.deconflict.drawn()``) and
for the labels and symbols its last frame kept after decluttering, with their
boxes on the screen (``window.deconflict.decluttered()``). Each waits until what
it expects is drawn, or fails."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Features of the picture that stand for an object (not its label, a finding or the plan).
OBJECT_LAYERS = ("areas", "lines", "symbols")

_MATCH = """(m) => window.deconflict.drawn().filter((f) => Object.entries(m).every(([k, v]) =>
    Array.isArray(v) ? v.includes(f[k]) : f[k] === v))"""


def drawn(page: Page, **match: Any) -> list[dict[str, Any]]:
    """The features drawn in the view now whose fields equal ``match`` (a list: any of)."""
    page.evaluate("window.deconflict.drawNow()")
    return list(page.evaluate(_MATCH, match))


def on_map(page: Page, object_id: str) -> int:
    """How many of an object's parts (areas, lines, symbols) are drawn in the view."""
    return len(drawn(page, id=object_id, layer=list(OBJECT_LAYERS)))


def wait_drawn(page: Page, timeout: float = 5000, **match: Any) -> list[dict[str, Any]]:
    """Wait until a feature matching ``match`` is drawn in the view; the matches."""
    page.wait_for_function(f"(m) => ({_MATCH})(m).length > 0", arg=match, timeout=timeout)
    return drawn(page, **match)


def wait_gone(page: Page, timeout: float = 5000, **match: Any) -> None:
    page.wait_for_function(f"(m) => ({_MATCH})(m).length === 0", arg=match, timeout=timeout)


def label_of(page: Page, object_id: str, timeout: float = 5000) -> str:
    """The map label of an object as the last frame drew it (after decluttering)."""
    page.wait_for_function(
        "(id) => { window.deconflict.drawNow(); return window.deconflict.decluttered()"
        ".some((e) => e.what === 'label' && e.id === id); }", arg=object_id, timeout=timeout)
    return str(page.evaluate(
        "(id) => window.deconflict.decluttered().find((e) => e.what === 'label' && e.id === id).text", object_id))


def wait_label(page: Page, object_id: str, contains: str, timeout: float = 5000) -> str:
    """Wait until the object's label, as drawn, contains ``contains``; the label."""
    page.wait_for_function(
        "([id, s]) => { window.deconflict.drawNow(); return window.deconflict.decluttered()"
        ".some((e) => e.what === 'label' && e.id === id && e.text.includes(s)); }", arg=[object_id, contains],
        timeout=timeout)
    return label_of(page, object_id)


def pixel(page: Page, x: float, y: float) -> tuple[int, int, int, int]:
    """The colour the map shows at a point of the page (every layer composed, as the PNG export is)."""
    rgba = page.evaluate("""([x, y]) => {
        window.deconflict.drawNow();
        const c = window.deconflict.map.baseCanvas();
        const r = document.querySelector('#map').getBoundingClientRect();
        const k = c.width / r.width;
        const at = [Math.round((x - r.left) * k), Math.round((y - r.top) * k)];
        return [...c.getContext('2d').getImageData(at[0], at[1], 1, 1).data];
    }""", [x, y])
    return (rgba[0], rgba[1], rgba[2], rgba[3])
