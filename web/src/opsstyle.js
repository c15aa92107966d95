// How the operational picture is drawn on the map's canvas, as data: for each
// part of an object (its area, line or symbol), the stroke, fill, pattern and
// dash that opslayers.js turns into OpenLayers styles; and the geometry that
// depends on the zoom (the side labels of a deconfliction line, arrowheads),
// computed in EPSG:3857 metres. Pure functions, no DOM, no OpenLayers: unit-tested.

import { LINE_KINDS } from "./picture.js";

/** EPSG:3857 metres of [lon, lat] (spherical Mercator, WGS 84's semi-major axis). */
const R = 6378137;
const MAX_LAT = 85.05112878;
export function toWorld([lon, lat]) {
  const phi = (Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI) / 180;
  return [(lon * Math.PI * R) / 180, R * Math.log(Math.tan(Math.PI / 4 + phi / 2))];
}

/** A colour with an opacity: "#0072B2", 0.2 -> "rgba(0,114,178,0.2)". */
export function withAlpha(hex, alpha) {
  const h = hex.replace("#", "");
  const n = parseInt(h.length === 3 ? h.split("").map((c) => c + c).join("") : h, 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/** An SVG dash array ("10 4") as a canvas line dash ([10, 4]); undefined for none. */
export function dashOf(text) {
  const d = String(text ?? "").trim();
  return d ? d.split(/[\s,]+/).map(Number) : undefined;
}

// Fill opacities of a declaration's areas by role (as the SVG map had them).
const AREA_ALPHA = { protection: 0.1, corridor: 0.12, effects: 0.22, "trajectory-band": 0.05, area: 0.06 };
// A measure's area: its pattern (patterns in opslayers.js) and outline.
const MEASURE_AREAS = {
  no_fire_area: { pattern: "hatch-nfa", stroke: "#000", width: 2.5 },
  restrictive_fire_area: { pattern: "hatch-rfa", stroke: "#222", width: 2, dash: [10, 4] },
  restricted_operations_zone: { pattern: "dots-roz", stroke: "#222", width: 2, dash: [14, 5] },
  air_corridor: { pattern: "hatch-ac", stroke: "#222", width: 2, dash: [8, 3, 2, 3] },
};

/**
 * The look of an area: {fill | pattern, stroke, width, dash}. `party` is the
 * owner's {colour, dash}; flags: measure, proposed, selected, overdue.
 */
export function areaSpec(obj, role, party, { measure = false, proposed = false, selected = false, overdue = false } = {}) {
  let spec;
  if (measure) {
    spec = { ...(MEASURE_AREAS[obj.kind] ?? { fill: "rgba(34,34,34,0.08)", stroke: "#222", width: 2 }) };
  } else if (obj.kind === "site" && obj.category === "protected" && role === "protection") {
    spec = { pattern: "protected-fill", stroke: "#000", width: 2.5, dash: [1, 4], cap: "round" };
  } else {
    const alpha = obj.kind === "flight" ? 0.06 : AREA_ALPHA[role] ?? 0.1;
    const width = { corridor: obj.kind === "flight" ? 2 : 1, effects: 2.5, "trajectory-band": 0.8 }[role] ?? 2;
    spec = { fill: withAlpha(party.colour, alpha), stroke: party.colour, width, dash: role === "trajectory-band" ? [2, 3] : dashOf(party.dash) };
  }
  if (proposed) {
    spec.dash = [4, 4];
    spec.stroke = withAlpha(spec.stroke, 0.55);
  }
  if (selected) spec.width = 4;
  if (overdue && !measure) Object.assign(spec, { stroke: "#000", width: 4, dash: [2, 4] });
  return spec;
}

/**
 * The look of a line: a list of strokes drawn in order ({stroke, width, dash, cap}),
 * and whether it ends in an arrowhead.
 */
export function lineSpec(obj, role, party, { measure = false, proposed = false, selected = false } = {}) {
  let strokes;
  let arrow = false;
  if (LINE_KINDS.has(obj.kind)) {
    const rfl = obj.kind === "restrictive_fire_line";
    strokes = [{ stroke: "#fff", width: 8, cap: "round" },
      { stroke: "#111", width: rfl ? 3 : 3.5, dash: rfl ? [16, 5, 3, 5] : undefined }];
  } else if (measure) {
    strokes = [{ stroke: "#222", width: 1, dash: [2, 4] }];
  } else if (role === "trajectory") {
    strokes = [{ stroke: party.colour, width: 2, dash: [10, 5] }];
    arrow = true;
  } else if (obj.kind === "flight") {
    strokes = [{ stroke: party.colour, width: 1.5, dash: [3, 5] }];
  } else {
    strokes = [{ stroke: party.colour, width: role === "route" ? 3 : 2, dash: role === "route" ? dashOf(party.dash) : undefined }];
    arrow = role === "route";
  }
  const last = strokes.at(-1);
  if (proposed) {
    last.dash = [4, 4];
    last.stroke = withAlpha(last.stroke, 0.55);
  }
  if (selected) last.width = 4;
  return { strokes, arrow };
}

export const SIDE_EVERY_PX = 260;
const SIDE_OFFSET_PX = 16;
const TICK_PX = 8;
const MAX_SPOTS = 400;

/**
 * Where the parties of each side of a line are written: every SIDE_EVERY_PX
 * pixels along it (the first half-way), a tick toward the label and the label
 * 16 px off the line, left and right of the direction it was drawn, upright.
 * `coords` in EPSG:3857 metres (y up), `resolution` in metres per pixel.
 * Returns [{side: "left" | "right", label: [x, y], tick: [[x, y], [x, y]], rotation}],
 * rotation in radians clockwise on the screen (OpenLayers' convention).
 */
export function sideSpots(coords, resolution, sides) {
  const out = [];
  let travelled = SIDE_EVERY_PX / 2;
  for (let i = 1; i < coords.length && out.length < MAX_SPOTS; i += 1) {
    const [x0, y0] = coords[i - 1];
    const [x1, y1] = coords[i];
    const len = Math.hypot(x1 - x0, y1 - y0) / resolution; // pixels
    if (len === 0) continue;
    let at = SIDE_EVERY_PX - travelled;
    while (at <= len && out.length < MAX_SPOTS) {
      const x = x0 + ((x1 - x0) * at) / len;
      const y = y0 + ((y1 - y0) * at) / len;
      const dx = (x1 - x0) / (len * resolution);
      const dy = (y1 - y0) / (len * resolution);
      // On the screen y runs down: the line's angle there, kept upright.
      let angle = Math.atan2(-dy, dx);
      if (angle > Math.PI / 2) angle -= Math.PI;
      if (angle < -Math.PI / 2) angle += Math.PI;
      // Left of the direction of travel, with y up, is the direction turned a quarter anticlockwise.
      for (const [side, nx, ny] of [["left", -dy, dx], ["right", dy, -dx]]) {
        if (!sides[side]?.length) continue;
        out.push({
          side,
          label: [x + nx * SIDE_OFFSET_PX * resolution, y + ny * SIDE_OFFSET_PX * resolution],
          tick: [[x, y], [x + nx * TICK_PX * resolution, y + ny * TICK_PX * resolution]],
          rotation: angle,
        });
      }
      at += SIDE_EVERY_PX;
    }
    travelled = len - (at - SIDE_EVERY_PX);
  }
  return out;
}

/** The direction of a line's last segment on the screen (radians clockwise from east), for its arrowhead. */
export function endAngle(coords) {
  for (let i = coords.length - 1; i > 0; i -= 1) {
    const [x0, y0] = coords[i - 1];
    const [x1, y1] = coords[i];
    if (x0 !== x1 || y0 !== y1) return Math.atan2(-(y1 - y0), x1 - x0);
  }
  return 0;
}

/**
 * Which symbols are drawn as dots at this resolution: where symbols would pile
 * up (within SYMBOL_PX on the screen), the later ones in `points` (EPSG:3857, in
 * drawing order) are dots in the party's colour; a click, the picker or a closer
 * zoom tells them apart. Returns the set of indices drawn as dots.
 */
export function dottedAt(points, resolution, crowded) {
  const cells = new Map();
  const dots = new Set();
  points.forEach(([x, y], i) => {
    if (crowded(cells, [x / resolution, -y / resolution])) dots.add(i);
  });
  return dots;
}
