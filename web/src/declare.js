// Declaring from the map: a site (with its facility type) or any activity, its
// humanitarian details and with whom it is shared, as the API's declaration
// document (docs/model.md). Pure functions; the form is read in app.js.

import { activityDoc, PlanError } from "./plan.js";
import { FACILITY_TYPES } from "./facility.js";
import { checkDesignation, symbolCode } from "./symbol.js";

function iso(t) {
  return new Date(t).toISOString().replace(/\.000Z$/, "Z");
}

// The bounds the server enforces (model/humanitarian.py), checked here first so
// the field is named before anything is sent.
const MAX_SHORT = 200;
const MAX_LONG = 2000;

function text(v) {
  return String(v ?? "").trim();
}

function bounded(v, field, limit) {
  const t = text(v);
  if (t.length > limit) throw new PlanError(field, `at most ${limit} characters (${t.length} given)`);
  return t;
}

function whole(v, field, what) {
  const t = text(v);
  if (!t) return null;
  if (!/^\d+$/.test(t)) throw new PlanError(field, `${what} is a whole number`);
  return Number(t);
}

/**
 * The `details` of a site or movement from the form's fields:
 * `{contactName, phone, radio, email, organisation, people, vehicles, plates, markings, cargo, remarks}`
 * (plates: one a line or separated by commas). Null when nothing is given.
 */
export function detailsDoc(input = {}) {
  const out = {};
  const contact = {};
  for (const [key, field] of [["name", "contactName"], ["phone", "phone"], ["radio", "radio"], ["email", "email"]]) {
    const v = bounded(input[field], field, MAX_SHORT);
    if (v) contact[key] = v;
  }
  if (contact.email && (!contact.email.includes("@") || /\s/.test(contact.email))) {
    throw new PlanError("email", `${contact.email} is not an e-mail address`);
  }
  if (Object.keys(contact).length) out.contact = contact;
  const organisation = bounded(input.organisation, "organisation", MAX_SHORT);
  if (organisation) out.organisation = organisation;
  const people = whole(input.people, "people", "the number of people");
  if (people !== null) out.people = people;
  const count = whole(input.vehicles, "vehicles", "the number of vehicles");
  const plates = text(input.plates).split(/[\n,]/).map((p) => p.trim()).filter(Boolean);
  const markings = bounded(input.markings, "markings", MAX_LONG);
  if (count === null && (plates.length || markings)) throw new PlanError("vehicles", "give the number of vehicles");
  if (count !== null) {
    if (plates.length > count) throw new PlanError("plates", `${plates.length} plates for ${count} vehicles`);
    for (const p of plates) if (p.length > 32) throw new PlanError("plates", `plate ${p.slice(0, 12)}… is over 32 characters`);
    out.vehicles = { count };
    if (plates.length) out.vehicles.plates = plates;
    if (markings) out.vehicles.markings = markings;
  }
  const cargo = bounded(input.cargo, "cargo", MAX_LONG);
  if (cargo) out.cargo = cargo;
  const remarks = bounded(input.remarks, "remarks", MAX_LONG);
  if (remarks) out.remarks = remarks;
  return Object.keys(out).length ? out : null;
}

/** `share_with` from the form: "all", or the chosen parties (the owner always sees its own). */
export function shareWithDoc(mode, chosen = [], me = "") {
  if (mode === "all") return "all";
  const parties = [...new Set(chosen)].filter((p) => p && p !== me).sort();
  return parties;
}

/** The planner's default for the form: the party's setting, else everyone. */
export function defaultShare(settings) {
  // The party's settings (GET /v1/parties/{id}/settings) call it share_with.
  const d = settings?.default_share_with ?? settings?.share_with;
  if (Array.isArray(d)) return { mode: "listed", parties: [...d] };
  return { mode: "all", parties: [] };
}

/**
 * The declaration document of a plan. Besides what activityDoc takes:
 * `kind: "site"` with `position`, `facility` (one of FACILITY_TYPES, or "forces"
 * for a site of forces), `protection`; `details` (detailsDoc's input) for sites
 * and movements; `share` ({mode, parties}) and `me`.
 */
export function declarationDoc(plan) {
  let doc;
  if (plan.kind === "site") {
    if (plan.start === null || plan.start === undefined || Number.isNaN(plan.start)) {
      throw new PlanError("start", "give the start of the window (UTC)");
    }
    if (plan.end === null || plan.end === undefined || Number.isNaN(plan.end)) {
      throw new PlanError("end", "give the end of the window (UTC)");
    }
    if (plan.end <= plan.start) throw new PlanError("end", "the window must end after it starts");
    if (!plan.position) throw new PlanError("target", "place the site on the map or type its position");
    doc = { kind: "site" };
    if (plan.label) doc.label = plan.label;
    const forces = plan.facility === "forces";
    if (!forces && !FACILITY_TYPES.includes(plan.facility)) throw new PlanError("facility", "choose what the site is");
    doc.category = forces ? "forces" : "protected";
    if (!forces) doc.facility = plan.facility;
    doc.geometry = { type: "Point", coordinates: plan.position };
    const prot = text(plan.protection);
    const p = prot === "" ? 0 : Number(prot);
    if (!Number.isFinite(p) || p < 0) throw new PlanError("radius", "the protection distance is a number of metres, 0 or more");
    doc.protection_m = p;
    doc.window = { start: iso(plan.start), end: iso(plan.end) };
  } else {
    doc = activityDoc(plan);
  }
  if (plan.kind === "site" || plan.kind === "movement") {
    const details = detailsDoc(plan.details ?? {});
    if (details) doc.details = details;
  }
  // The owner's own symbol (optional): the server checks it the same way (model/symbol.py).
  const code = symbolCode(plan.sidc, plan.echelon);
  if (code) doc.sidc = code;
  const designation = checkDesignation(plan.designation);
  if (designation) doc.designation = designation;
  if (plan.share) doc.share_with = shareWithDoc(plan.share.mode, plan.share.parties, plan.me);
  return doc;
}

/** The rows the details panel shows for a declaration's humanitarian details. */
export function detailsRows(details) {
  if (!details) return [];
  const rows = [];
  const c = details.contact ?? {};
  if (details.organisation) rows.push(["Organisation", details.organisation]);
  if (c.name) rows.push(["Contact", c.name]);
  if (c.phone) rows.push(["Phone", c.phone]);
  if (c.radio) rows.push(["Radio", c.radio]);
  if (c.email) rows.push(["E-mail", c.email]);
  if (details.people !== undefined && details.people !== null) rows.push(["People", String(details.people)]);
  if (details.vehicles) {
    const v = details.vehicles;
    rows.push(["Vehicles", `${v.count}${v.plates?.length ? `: ${v.plates.join(", ")}` : ""}`]);
    if (v.markings) rows.push(["Markings", v.markings]);
  }
  if (details.cargo) rows.push(["Cargo", details.cargo]);
  if (details.remarks) rows.push(["Remarks", details.remarks]);
  return rows;
}

/** The form's fields (detailsDoc's input) from a declaration's `details`. */
function detailFields(details = {}) {
  const c = details.contact ?? {};
  const v = details.vehicles ?? {};
  return {
    organisation: details.organisation ?? "", contactName: c.name ?? "", phone: c.phone ?? "", radio: c.radio ?? "",
    email: c.email ?? "", people: details.people ?? "", vehicles: v.count ?? "", plates: (v.plates ?? []).join("\n"),
    markings: v.markings ?? "", cargo: details.cargo ?? "", remarks: details.remarks ?? "",
  };
}

/** Comparable JSON: keys sorted, so two documents are compared by content. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// What the service adds to a declaration it serves: not part of what is amended.
const SERVED = ["id", "owner", "reference"];

/**
 * The plan (declarationDoc's input) that amends declaration `d`, or null when the
 * form cannot hold all of it (an orbit area, timed waypoints, a field the form has
 * no input for): an amendment from the map must never drop what the form cannot show.
 */
export function planFromDeclaration(d, me = "") {
  const w = d.window ?? {};
  const share = d.share_with === "all" || d.share_with === undefined
    ? { mode: "all", parties: [] } : { mode: "listed", parties: [...d.share_with] };
  const plan = {
    kind: d.kind, label: d.label ?? "", start: Date.parse(w.start), end: Date.parse(w.end),
    details: detailFields(d.details), share, me, altUnit: "m",
    // The code as declared (its echelon already in it), and the designation.
    sidc: d.sidc ?? "", echelon: "", designation: d.designation ?? "",
  };
  if (d.kind === "site") {
    if (d.geometry?.type !== "Point") return null;
    plan.position = d.geometry.coordinates;
    plan.facility = d.category === "forces" ? "forces" : d.facility;
    plan.protection = String(d.protection_m ?? 0);
  } else if (d.kind === "fire") {
    plan.target = d.target?.coordinates ?? null;
    plan.radius = String(d.effects_radius_m ?? "");
    plan.origin = d.origin?.coordinates ?? null;
    const mo = d.max_ordinate;
    // The form takes a maximum ordinate in metres AMSL only.
    if (mo && (mo.unit !== "m" || (mo.datum ?? "AMSL") !== "AMSL")) return null;
    plan.maxOrdinate = mo ? String(mo.value) : "";
  } else if (d.kind === "flight" || d.kind === "movement") {
    if (d.geometry?.type !== "LineString") return null;
    plan.points = d.geometry.coordinates;
    plan.halfWidth = String(d.half_width_m ?? "");
    if (d.kind === "flight") {
      const a = d.altitude ?? {};
      const ft = a.lower_ft !== undefined || a.upper_ft !== undefined;
      plan.altUnit = ft ? "ft" : "m";
      plan.lower = String(ft ? a.lower_ft : a.lower_m);
      plan.upper = String(ft ? a.upper_ft : a.upper_m);
    }
  } else {
    return null;
  }
  let again;
  try {
    again = declarationDoc(plan);
  } catch {
    return null;
  }
  const original = Object.fromEntries(Object.entries(d).filter(([k]) => !SERVED.includes(k)));
  if (original.share_with === undefined) original.share_with = "all";
  return canonical(again) === canonical(original) ? plan : null;
}
