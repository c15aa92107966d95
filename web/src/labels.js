// What the map writes and where: escaping, the names and labels of objects, label
// placement without overlaps, and symbols that would pile up. Pure functions, no DOM.

import { withReference } from "./hotline.js";
import { proposalLabel } from "./measure.js";
import { altitudeText, isMeasure, labelOf } from "./picture.js";

export function esc(s) {
  return String(s ?? "").replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;" })[c]);
}

/**
 * Where a label goes: the first of the vertical offsets at which its box
 * overlaps no label already placed; null (not drawn) if every one does. The
 * object stays on the map, and its details are a click or the Layers list away.
 */
export function placeLabel(placed, [x, y], text, offsets) {
  const w = text.length * 6.6 + 6;
  const h = 15;
  for (const dy of offsets) {
    const box = [x - w / 2, y + dy - h + 3, x + w / 2, y + dy + 3];
    if (!placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) {
      placed.push(box);
      return [x, y + dy];
    }
  }
  return null;
}

// An id the server made up (service/http.py: "a-" and 16 hex digits) says nothing
// to a reader: the radio reference stands for it on the map.
const GENERATED_ID = /^a-[0-9a-f]{12,16}$/;
export function mapName(id, reference) {
  return reference && GENERATED_ID.test(id) ? reference : withReference(id, { reference });
}

/** The label the user typed, cut to fit a map label (the whole of it is in the details). */
export const LABEL_MAX = 28;
export function shortLabel(text) {
  const t = String(text).trim();
  return t.length > LABEL_MAX ? `“${t.slice(0, LABEL_MAX - 1)}…”` : `“${t}”`;
}

/** Whether a symbol at xy would overlap one already drawn (a grid of SYMBOL_PX cells); if not, it takes its cell. */
export const SYMBOL_PX = 26;
export function crowded(cells, [x, y]) {
  const i = Math.floor(x / SYMBOL_PX);
  const j = Math.floor(y / SYMBOL_PX);
  for (let di = -1; di <= 1; di += 1) {
    for (let dj = -1; dj <= 1; dj += 1) {
      const c = cells.get(`${i + di},${j + dj}`);
      if (c !== undefined && Math.abs(c[0] - x) < SYMBOL_PX && Math.abs(c[1] - y) < SYMBOL_PX) return true;
    }
  }
  cells.set(`${i},${j}`, [x, y]);
  return false;
}

export function metresText(m) {
  return m >= 10000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m).toLocaleString("en-GB")} m`;
}

/**
 * The map label of an object: its radio reference (`ref`) and the label typed, its
 * owner and band, and "!! overdue"; a measure's own label; a proposal's state.
 */
export function objectLabel({ obj, proposed = false, proposal = null }, ref, overdue) {
  if (proposed) return proposalLabel(proposal);
  if (isMeasure(obj)) return labelOf(obj);
  return `${mapName(obj.id, ref)}${obj.label ? ` ${shortLabel(obj.label)}` : ""}`
    + ` · ${obj.owner}${altitudeText(obj) ? ` · ${altitudeText(obj)}` : ""}${overdue ? " · !! overdue" : ""}`;
}
