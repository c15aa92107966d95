// The details of a selected object: its rows (what it is, whose, when, how high,
// how wide, with whom it is shared, where) and the Withdraw button's stage.
// Pure builders, wired to the page in app.js.

import { formatDMS, formatLatLon, formatMGRS } from "./coords.js";
import { detailsRows } from "./declare.js";
import { facilityName } from "./facility.js";
import { referenceOf, shareText } from "./hotline.js";
import { altitudeText, KIND_NAMES, sidesOf, windowOf } from "./picture.js";

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
