// What the operational picture draws, from the data: the objects in drawing order
// with where their symbol is at an instant, the parts of each object a finding of
// the last check is about (the stretch of a line near the activity, the area it
// touches, the separation between the closest points), the plan being drawn and
// the measure being drawn. In [lon, lat]; opslayers.js makes the features. Pure.

import { closestPair, partShapes, stretchAround } from "./finding-geo.js";
import { metresText } from "./labels.js";
import { isMeasure, LINE_KINDS, positionAt, shapesOf, sidesOf } from "./picture.js";
import { findingsView } from "./plan.js";
import { VERDICT_TEXT } from "./style.js";

// Measures under sites, movements, flights and fires.
const ORDER = { measure: 0, site: 1, movement: 2, flight: 3, fire: 4 };

/**
 * The objects in force ([{obj, proposed, proposal}]) in drawing order, each with its
 * shapes (`shapes(obj)`, cached by the caller), the anchor and azimuth of its symbol at
 * the instant `t` (a 4D trajectory's position then), its extra marks (a fire's firing
 * position) and, for a deconfliction or restrictive fire line, its sides.
 */
export function drawList(visible, t, shapes) {
  const rank = (x) => ORDER[x.measure ? "measure" : x.obj.kind] ?? 9;
  const items = visible.map((x) => ({ ...x, measure: isMeasure(x.obj) })).sort((a, b) => rank(a) - rank(b));
  return items.map((item) => {
    const { obj } = item;
    if (LINE_KINDS.has(obj.kind)) item.sides = sidesOf(obj);
    const s = shapes(obj);
    let anchor = s.anchor;
    let azimuth = s.azimuth;
    if (obj.waypoints?.length) {
      const at = positionAt(obj.waypoints, t);
      if (at) {
        anchor = at.position;
        azimuth = at.azimuth;
      }
    }
    const origin = obj.kind === "fire" ? s.shapes.find((sh) => sh.role === "origin") : null;
    return { item, shapes: s, anchor, azimuth, marks: origin ? [{ role: "origin", at: origin.coords }] : [] };
  });
}

/**
 * For each object a finding of the check `result` is about (a caution is not drawn):
 * the finding, the object's shapes and the closest pair between the part of the
 * activity (`activity`, its shapes) the finding names and the object.
 */
export function findingParts(result, activity, objects, shapes) {
  if (!result) return [];
  const { highlight, findings } = findingsView(result);
  const out = [];
  for (const [id, kind] of Object.entries(highlight)) {
    if (kind === "caution") continue;
    const obj = objects.find((o) => o.id === id);
    if (!obj) continue;
    const finding = findings.find((f) => f.object?.id === id && f.kind === kind) ?? findings.find((f) => f.object?.id === id);
    const objShapes = shapes(obj).shapes.filter((sh) => sh.type !== "point");
    const pair = closestPair(partShapes(activity, finding?.part), objShapes);
    out.push({ id, kind, obj, finding, objShapes, pair });
  }
  return out;
}

// Half the highlighted stretch of a line: 2 km, a quarter of the distance more for an
// activity farther off (its far side is what is at stake), at most 10 km.
export const HL_STRETCH_MIN_M = 2000;
export const HL_STRETCH_MAX_M = 10000;

/**
 * What to highlight for each finding part: the lines to draw over (`over`), the areas
 * to hatch (`fill`), the separation between the closest points with its label (the
 * service's separation; a rule met at 0 m, a far side or an area entered, labelled
 * with the distance measured here, marked ≈), and the badge at the closest point.
 */
export function highlightsOf(parts, shapes) {
  return parts.map(({ id, kind, obj, finding, objShapes, pair }) => {
    const over = [];
    const fill = [];
    const near = pair ? objShapes[pair.shape] : null;
    if (near?.type === "line") {
      const half = Math.max(HL_STRETCH_MIN_M, Math.min(HL_STRETCH_MAX_M, HL_STRETCH_MIN_M + pair.distance_m / 4));
      over.push(stretchAround(near.coords, pair.edge, pair.to, half));
    } else {
      for (const sh of near ? [near] : objShapes) {
        over.push(sh.type === "area" ? [...sh.coords, sh.coords[0]] : sh.coords);
        if (sh.type === "area") fill.push(sh.coords);
      }
    }
    const sep = finding?.separation_m;
    let separation = null;
    if (pair && pair.distance_m > 0) {
      const label = sep === null || sep === undefined ? "" : sep > 0 ? metresText(sep) : `≈ ${metresText(pair.distance_m)}`;
      separation = { from: pair.from, to: pair.to, label };
    }
    return {
      id, kind, over, fill, separation, separationM: pair ? sep ?? null : null,
      badge: { at: pair ? pair.to : shapes(obj).anchor ?? [0, 0], text: `${VERDICT_TEXT[kind]?.icon ?? "!"} ${kind.replace("_", " ")}: ${id}` },
    };
  });
}

/** The activity being planned (its shapes and vertices, or null), as parts for the plan layer. */
export function planParts(s, kind) {
  if (!s) return [];
  const out = [];
  for (const sh of s.shapes) {
    if (sh.type === "area") out.push({ part: "area", coords: sh.coords, role: sh.role });
    else if (sh.type === "line") out.push({ part: "line", coords: sh.coords, role: sh.role });
    else if (sh.role === "target" || sh.role === "origin") out.push({ part: "mark", at: sh.coords, role: sh.role });
  }
  for (const p of s.vertices ?? []) out.push({ part: "vertex", at: p });
  if (s.anchor) out.push({ part: "label", at: s.anchor, text: `planned ${kind}` });
  return out;
}

/** The measure being drawn ({kind, points, halfWidth, owner}), as parts for the plan layer: closed once it has three corners. */
export function measureDraftParts(m, polygonKinds) {
  if (!m.points.length) return [];
  const out = [];
  const closed = polygonKinds.has(m.kind) && m.points.length >= 3;
  if (m.kind === "air_corridor" && m.points.length >= 2) {
    const s = shapesOf({ id: "draft", kind: m.kind, owner: m.owner, geometry: { type: "LineString", coordinates: m.points },
      half_width_m: Number(m.halfWidth) > 0 ? Number(m.halfWidth) : 1 });
    for (const sh of s.shapes) if (sh.type === "area") out.push({ part: "area", coords: sh.coords, draft: true });
  }
  if (m.points.length >= 2) {
    out.push(closed ? { part: "area", coords: [...m.points, m.points[0]], draft: true } : { part: "line", coords: m.points, draft: true });
  }
  for (const p of m.points) out.push({ part: "vertex", at: p, draft: true });
  return out;
}

/** Whether two memo keys (arrays) hold the same things, element by element: what was drawn for one need not be again. */
export function sameKey(a, b) {
  return Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);
}
