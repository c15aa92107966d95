// Measures drawn on the map: the measure document a measure form describes
// (the API's measure format, docs/scenario-format.md), how a proposal reads
// and who may accept it, and the "as known at" instant. Pure functions.

import { labelOf } from "./picture.js";
import { parseUTC, PlanError } from "./plan.js";

/** Measures drawn as a polygon. */
export const POLYGON_MEASURES = new Set(["no_fire_area", "restrictive_fire_area", "restricted_operations_zone"]);
/** Measures with a side per party. */
export const SIDED_MEASURES = new Set(["deconfliction_line", "restrictive_fire_line"]);
/** Measures with an altitude band. */
export const BANDED_MEASURES = new Set(["restricted_operations_zone", "air_corridor"]);

function iso(t) {
  return new Date(t).toISOString().replace(/\.000Z$/, "Z");
}

function given(v) {
  return v !== "" && v !== null && v !== undefined;
}

/**
 * The measure document of a form:
 * `{kind, id, label, owner, points: [[lon, lat], ...], start, end (epoch ms),
 *   binds: "all" | "all_but_owner" | [party, ...]   (areas and air corridors),
 *   sides: {party: "left" | "right" | ""}          (deconfliction and restrictive fire lines),
 *   halfWidth (air corridor), lower, upper, altUnit (ROZ, air corridor)}`.
 * A polygon's ring is closed here. Throws a PlanError naming the field.
 */
export function measureDoc(m) {
  const kind = m.kind;
  const id = String(m.id ?? "").trim();
  if (!id) throw new PlanError("id", "give the measure an id");
  if (!/^[\w.:-]{1,100}$/.test(id)) throw new PlanError("id", "an id is letters, digits and . _ : - (up to 100)");
  const doc = { id, kind, owner: m.owner };
  if (m.label) doc.label = m.label;
  const pts = m.points ?? [];
  if (POLYGON_MEASURES.has(kind)) {
    if (pts.length < 3) throw new PlanError("points", "draw the area: at least three points");
    const ring = [...pts];
    const [a, z] = [ring[0], ring.at(-1)];
    if (a[0] !== z[0] || a[1] !== z[1]) ring.push(a);
    doc.geometry = { type: "Polygon", coordinates: [ring] };
  } else if (SIDED_MEASURES.has(kind) || kind === "air_corridor") {
    if (pts.length < 2) throw new PlanError("points", "draw the line: at least two points");
    doc.geometry = { type: "LineString", coordinates: pts };
  } else {
    throw new PlanError("kind", `cannot draw a ${kind}`);
  }
  if (SIDED_MEASURES.has(kind)) {
    const sides = Object.fromEntries(Object.entries(m.sides ?? {}).filter(([, s]) => s === "left" || s === "right"));
    if (!Object.keys(sides).length) throw new PlanError("sides", "say which side of the line each party keeps to");
    doc.sides = Object.fromEntries(Object.keys(sides).sort().map((p) => [p, sides[p]]));
  } else {
    const b = m.binds;
    if (Array.isArray(b)) {
      if (!b.length) throw new PlanError("binds", "choose the parties it binds");
      doc.binds = [...new Set(b)].sort();
    } else if (b === "all" || b === "all_but_owner") {
      doc.binds = b;
    } else {
      throw new PlanError("binds", "choose whom it binds");
    }
  }
  if (kind === "air_corridor") {
    const hw = Number(m.halfWidth);
    if (!given(m.halfWidth) || !Number.isFinite(hw) || hw <= 0) throw new PlanError("halfWidth", "the half width must be a positive number of metres");
    doc.half_width_m = hw;
  }
  if (BANDED_MEASURES.has(kind)) {
    const lo = Number(m.lower);
    const hi = Number(m.upper);
    if (!given(m.lower) || !Number.isFinite(lo)) throw new PlanError("lower", "give the lower altitude (AMSL)");
    if (!given(m.upper) || !Number.isFinite(hi)) throw new PlanError("upper", "give the upper altitude (AMSL)");
    if (lo > hi) throw new PlanError("lower", "the lower altitude is above the upper altitude");
    const u = m.altUnit === "ft" ? "ft" : "m";
    doc.altitude = { [`lower_${u}`]: lo, [`upper_${u}`]: hi };
  }
  if (!given(m.start) || Number.isNaN(m.start)) throw new PlanError("start", "give the start of the window (UTC)");
  if (!given(m.end) || Number.isNaN(m.end)) throw new PlanError("end", "give the end of the window (UTC)");
  if (m.end <= m.start) throw new PlanError("end", "the window must end after it starts");
  doc.window = { start: iso(m.start), end: iso(m.end) };
  return doc;
}

/** A fresh id for a party's measure: "russia-NFA-5f3a". */
export function suggestId(party, kind, random = Math.random) {
  const short = { no_fire_area: "NFA", restrictive_fire_area: "RFA", restricted_operations_zone: "ROZ", air_corridor: "AC",
    deconfliction_line: "DL", restrictive_fire_line: "RFL" }[kind] ?? "M";
  return `${party || "admin"}-${short}-${Math.floor(random() * 0x10000).toString(16).padStart(4, "0")}`;
}

/** "NFA X1 Pumping station (proposed v2, waiting for: regime, russia)". */
export function proposalLabel(p) {
  const waiting = p.waiting_for ?? [];
  return `${labelOf(p.measure)} (proposed v${p.version}${waiting.length ? `, waiting for: ${waiting.join(", ")}` : ""})`;
}

/** Whether `me` ({party, role}) may accept the proposal now: a liaison of a bound party that has not accepted. */
export function canAccept(p, me) {
  if (!me || me.role !== "liaison" || !me.party) return false;
  return (p.bound ?? []).includes(me.party) && !(p.accepted_by ?? []).includes(me.party);
}

/** Proposals the party is asked to accept first, then the others; each in id order. */
export function sortProposals(list, me) {
  return [...list].sort((x, y) => (canAccept(y, me) - canAccept(x, me)) || String(x.measure.id).localeCompare(String(y.measure.id)));
}

/**
 * The "as known at" instant typed (UTC, "YYYY-MM-DD HH:MM[:SS]", "T" or space, optional Z):
 * null for the live picture (empty), else epoch ms. Throws a PlanError("asof") otherwise.
 */
export function parseAsOf(text) {
  const t = String(text ?? "").trim();
  if (!t) return null;
  const ms = parseUTC(t);
  if (ms === null) throw new PlanError("asof", "write the instant as YYYY-MM-DD HH:MM:SS (UTC), or leave it empty for live");
  return ms;
}

/** The query of GET /v1/picture for an instant. */
export function pictureQuery(ms) {
  return `/v1/picture?as_of=${encodeURIComponent(new Date(ms).toISOString())}`;
}

/** "2018-02-07 20:05:09Z". */
export function formatAsOf(ms) {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}Z`;
}
