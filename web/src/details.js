// The details of a selected object: its rows (what it is, whose, when, how high,
// how wide, with whom it is shared, where) and the Withdraw button's stage.
// Pure builders, wired to the page in app.js.

import { formatDMS, formatLatLon, formatMGRS } from "./coords.js";
import { detailsRows } from "./declare.js";
import { facilityName } from "./facility.js";
import { referenceOf, shareText } from "./hotline.js";
import { esc } from "./hotline-view.js";
import { proposalLabel } from "./measure.js";
import { altitudeText, KIND_NAMES, labelOf, sidesOf, windowOf } from "./picture.js";

/**
 * [label, value] rows for `obj` (a declaration or measure); `shown` is the activity as
 * the service sees it now (its reference), `anchor` its [lon, lat] (or null), `mgrs`
 * the MGRS library.
 */
export function detailRows(obj, shown, anchor, mgrs) {
  const [start, end] = windowOf(obj);
  const fmt = (t) => (t === null ? "—" : `${new Date(t).toISOString().slice(0, 16).replace("T", " ")}Z`);
  return [
    referenceOf(shown) ? ["Reference", referenceOf(shown)] : null,
    ["Kind", KIND_NAMES[obj.kind] ?? obj.kind],
    obj.facility ? ["Facility", facilityName(obj.facility)] : null,
    obj.sidc ? ["Symbol", `${obj.sidc}${obj.designation ? ` · ${obj.designation}` : ""}`] : null,
    ["Owner", obj.owner],
    ["Window", `${fmt(start)} – ${fmt(end)}`],
    altitudeText(obj) ? ["Altitude", altitudeText(obj)] : null,
    obj.protection_m ? ["Protection", `${obj.protection_m} m`] : null,
    obj.effects_radius_m ? ["Effects radius", `${obj.effects_radius_m} m`] : null,
    obj.half_width_m ? ["Half width", `${obj.half_width_m} m`] : null,
    obj.sides ? ["Sides", Object.entries(sidesOf(obj)).map(([k, v]) => `${k}: ${v.join(", ") || "—"}`).join("; ")] : null,
    obj.binds ? ["Binds", Array.isArray(obj.binds) ? obj.binds.join(", ") : String(obj.binds).replaceAll("_", " ")] : null,
    obj.share_with ? ["Shared with", shareText(obj.share_with, obj.owner)] : null,
    ...detailsRows(obj.details),
    anchor ? ["Position", formatLatLon(anchor)] : null,
    anchor ? ["", formatDMS(anchor)] : null,
    anchor ? ["MGRS", formatMGRS(mgrs, anchor)] : null,
  ].filter(Boolean);
}

/** The details' Withdraw button at its stage (the stage lives in state: redraws keep it). */
export function detailsWithdrawHTML(w) {
  if (w?.stage === "confirm") {
    return '<button type="button" id="details-withdraw" class="danger" data-confirm="yes">Withdraw: press again to confirm</button>';
  }
  if (w?.stage === "sending") return '<button type="button" id="details-withdraw" class="danger" disabled>Withdrawing…</button>';
  return '<button type="button" id="details-withdraw" class="danger">Withdraw</button>';
}

/**
 * A button naming an object (its label, kind and owner; its radio reference `ref`; a
 * proposal as such) for the object list, or with `role` "menuitem" for the picker.
 */
export function objectButtonHTML({ obj, proposed = false, proposal = null }, ref = null, role = null) {
  const label = proposed ? proposalLabel(proposal) : labelOf(obj);
  return `<button type="button"${role ? ` role="${role}"` : ""} data-id="${esc(obj.id)}">${esc(label)} `
    + `<small>— ${esc(KIND_NAMES[obj.kind] ?? obj.kind)} of ${esc(obj.owner)}${ref ? ` · ${esc(ref)}` : ""}`
    + `${proposed ? ", proposed" : ""}</small></button>`;
}

/** The time bar's spans: each activity (not sites) in force during the day starting at `day` (epoch ms). */
export function timelineHTML(declarations, day) {
  const DAY = 86400000;
  const spans = [];
  for (const d of declarations) {
    if (d.kind === "site") continue;
    const [s, e] = windowOf(d);
    if (s === null || e === null || e <= day || s >= day + DAY) continue;
    const left = Math.max(0, (s - day) / DAY) * 100;
    const right = Math.min(1, (e - day) / DAY) * 100;
    spans.push(`<span title="${esc(d.id)}" style="left:${left.toFixed(2)}%;width:${Math.max(0.4, right - left).toFixed(2)}%"></span>`);
  }
  return spans.join("");
}
