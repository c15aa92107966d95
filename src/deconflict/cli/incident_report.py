"""The incident report as HTML (with a map drawn as SVG on the server) and PDF.

The PDF is the HTML printed by Debian's Chromium through Playwright
(``page.pdf``), offline: no network, no browser download.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from shapely.geometry.base import BaseGeometry

from deconflict.service.incident import Review

CHROMIUM = os.environ.get("DECONFLICT_CHROMIUM", "/usr/bin/chromium")
W, H = 640, 480
COLOURS = {"declaration": "#c0392b", "measure": "#2c7fb8"}


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _paths(g: BaseGeometry, scale: float) -> list[str]:
    """SVG path data of a geometry in metres around the centre (y up)."""
    def pt(x: float, y: float) -> str:
        return f"{W / 2 + x * scale:.1f},{H / 2 - y * scale:.1f}"

    out: list[str] = []
    geoms = getattr(g, "geoms", [g])
    for part in geoms:
        if part.geom_type == "Polygon":
            rings = [part.exterior, *part.interiors]
            out.append(" ".join("M" + " L".join(pt(x, y) for x, y in r.coords) + " Z" for r in rings))
        elif part.geom_type == "LineString":
            out.append("M" + " L".join(pt(x, y) for x, y in part.coords))
        elif part.geom_type == "Point":
            x, y = part.coords[0]
            out.append(f"M{pt(x - 30 / scale, y)} L{pt(x + 30 / scale, y)} M{pt(x, y - 30 / scale)} L"
                       f"{pt(x, y + 30 / scale)}")
        else:
            out += _paths(part, scale)
    return out


def map_svg(r: Review) -> str:
    """The place, its radius, and every declaration and measure near it, to scale."""
    extent = r.place.radius_m * 1.6
    for it in r.items:
        if it.shape is not None:
            minx, miny, maxx, maxy = it.shape.bounds
            extent = max(extent, min(max(abs(minx), abs(maxx), abs(miny), abs(maxy)), r.place.radius_m * 4))
    scale = min(W, H) / 2 / extent
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
             'font-family="sans-serif" font-size="11">',
             f'<rect width="{W}" height="{H}" fill="#f4f1e8" stroke="#999"/>']
    for it in sorted(r.items, key=lambda i: i.kind != "measure"):
        if it.shape is None:
            continue
        colour = COLOURS[it.kind]
        for d in _paths(it.shape, scale):
            fill = colour if it.shape.geom_type in ("Polygon", "MultiPolygon") else "none"
            dash = ' stroke-dasharray="6 3"' if it.withdrawn_at else ""
            parts.append(f'<path d="{d}" fill="{fill}" fill-opacity="0.18" stroke="{colour}" stroke-width="1.5"'
                         f'{dash}/>')
        c = it.shape.representative_point()
        x = max(4.0, min(W - 60.0, W / 2 + c.x * scale))
        y = max(12.0, min(H - 4.0, H / 2 - c.y * scale))
        parts.append(f'<text x="{x:.0f}" y="{y:.0f}" fill="{colour}" font-weight="bold">{_e(it.id)}</text>')
    rad = r.place.radius_m * scale
    parts.append(f'<circle cx="{W / 2}" cy="{H / 2}" r="{rad:.1f}" fill="none" stroke="#000" '
                 'stroke-dasharray="4 3" stroke-width="1.5"/>')
    parts.append(f'<circle cx="{W / 2}" cy="{H / 2}" r="4" fill="#000"/>')
    bar = 10 ** int(f"{extent / 2:.0e}".split("e")[1])
    parts.append(f'<line x1="12" y1="{H - 14}" x2="{12 + bar * scale:.1f}" y2="{H - 14}" stroke="#000" '
                 'stroke-width="3"/>')
    parts.append(f'<text x="12" y="{H - 20}">{bar:g} m</text>')
    parts.append(f'<text x="{W - 8}" y="16" text-anchor="end">N ↑ · centre {r.place.lat:.4f}N '
                 f'{r.place.lon:.4f}E · radius {r.place.radius_m:g} m</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _table(head: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "<p class=none>None recorded.</p>"
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def render_html(r: Review) -> str:
    view = f"as party {r.party} could see it" if r.party else "administrator's view (everything recorded)"
    items = [[i.kind, i.id, i.doc.get("kind"), i.doc.get("owner"), i.doc.get("label", ""),
              f"{(i.doc.get('window') or {}).get('start', '')} to {(i.doc.get('window') or {}).get('end', '')}",
              f"{i.distance_m:,.0f} m", i.visible_to, i.recorded_at, i.withdrawn_at or "in force", i.seq]
             for i in r.items]
    submits = [[s["at"], s["id"], s["by"], s.get("member"), s["verdict"], "yes" if s["overridden"] else "no",
                s.get("override_reason") or "", ", ".join(map(str, s["notified"])), s["seq"]] for s in r.submits]
    notes = [[n["id"], n["to"], n["about"], n.get("kind"), n["sent_at"], n.get("delivered_at", "not delivered"),
              n.get("acknowledged_at", ""), n.get("objected_at", ""), n.get("comment", "")] for n in r.notifications]
    incidents = [[i["id"], i["by"], i["time"], i["description"], i["at"],
                  "; ".join(f"{s['at']} {s['type'].split('.', 1)[1]} by {s['by']}: {s['text']}" for s in i["steps"])
                  or "open"] for i in r.incidents]
    timeline = [[t["at"], t["seq"], t["what"]] for t in r.timeline]
    proofs = [[seq, p["hash"], " ".join(p["inclusion"])] for seq, p in sorted(r.proofs.items())]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Incident review {r.place.lat:.4f}N {r.place.lon:.4f}E</title>
<style>
body {{ font-family: sans-serif; font-size: 10pt; margin: 0; color: #111 }}
h1 {{ font-size: 16pt; margin-bottom: 0 }} h2 {{ font-size: 12pt; border-bottom: 1px solid #888; margin-top: 1.4em }}
table {{ border-collapse: collapse; width: 100%; font-size: 8.5pt }}
th, td {{ border: 1px solid #bbb; padding: 2px 4px; text-align: left; vertical-align: top }}
th {{ background: #eee }} .none {{ color: #666 }} .mono {{ font-family: monospace; font-size: 7pt;
word-break: break-all }} .meta {{ color: #333 }} pre {{ font-size: 8pt; white-space: pre-wrap }}
</style></head><body>
<h1>Incident review: {r.place.lat:.4f}N {r.place.lon:.4f}E, radius {r.place.radius_m:g} m</h1>
<p class=meta>Scenario time {_e(r.start.isoformat())} to {_e(r.end.isoformat())} · {_e(view)} ·
log from {_e(r.log_starts)} to {_e(r.log_ends)} (recording time) · {r.tree_size} events, verified at open</p>
{map_svg(r)}
<h2>Declarations and measures in force there</h2>
{_table(["what", "id", "kind", "owner", "label", "window", "distance", "visible to", "recorded",
         "withdrawn", "event"], items)}
<h2>Submits nearby: verdicts, overrides and reasons</h2>
{_table(["recorded", "activity", "party", "member", "verdict", "override", "reason", "notified", "event"], submits)}
<h2>Notifications</h2>
{_table(["id", "to", "about", "kind", "sent", "delivered", "acknowledged", "objected", "comment"], notes)}
<h2>Incidents recorded</h2>
{_table(["id", "reported by", "time", "description", "recorded", "steps"], incidents)}
<h2>Alerts from tracks</h2>
<p class=none>This service records no tracks: none.</p>
<h2>Timeline (every event cited, in log order)</h2>
{_table(["recorded", "event", "what"], timeline)}
<h2>Appendix: checkpoint and proofs</h2>
<p>Every event above is leaf <i>event - 1</i> of the log's Merkle tree (RFC 9162; leaf data: the event's
SHA-256 hash). The inclusion proofs below lead to the root of this signed checkpoint (C2SP signed note,
Ed25519); check it with the log's public key (<code>deconflict audit key export</code>).</p>
<pre>{_e(r.checkpoint)}</pre>
<table><thead><tr><th>event</th><th>hash</th><th>inclusion proof (base64, leaf first)</th></tr></thead><tbody>
{"".join(f"<tr><td>{_e(a)}</td><td class=mono>{_e(b)}</td><td class=mono>{_e(c)}</td></tr>" for a, b, c in proofs)}
</tbody></table>
</body></html>
"""


def write_pdf(html_text: str, out: Path) -> None:
    """Print the HTML with Debian's Chromium (Playwright, offline)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_content(html_text, wait_until="load")
            page.pdf(path=str(out), format="A4", print_background=True,
                     margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
        finally:
            browser.close()
