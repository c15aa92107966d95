import assert from "node:assert/strict";
import { test } from "node:test";

import { declarationDoc, defaultShare, detailsDoc, detailsRows, shareWithDoc } from "../src/declare.js";
import { PlanError } from "../src/plan.js";

const W = { start: Date.UTC(2018, 1, 7, 8), end: Date.UTC(2018, 2, 1) };

function fieldOf(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PlanError, e);
    return e.field;
  }
  return null;
}

test("a clinic declared on the map, with its details and sharing", () => {
  const doc = declarationDoc({
    kind: "site", label: "Clinic, Al Tabiyah", position: [40.325, 35.355], facility: "hospital", protection: "200", ...W,
    details: { contactName: "Dr A. Haddad", radio: "VHF 145.500", email: "a@relief.example", organisation: "Relief",
      people: "40", vehicles: "2", plates: "DEZ 1001, DEZ 1002", markings: "red crescent", remarks: "  " },
    share: { mode: "listed", parties: ["russia", "coalition", "relief"] }, me: "relief",
  });
  assert.deepEqual(doc, {
    kind: "site", label: "Clinic, Al Tabiyah", category: "protected", facility: "hospital",
    geometry: { type: "Point", coordinates: [40.325, 35.355] }, protection_m: 200,
    window: { start: "2018-02-07T08:00:00Z", end: "2018-03-01T00:00:00Z" },
    details: { contact: { name: "Dr A. Haddad", radio: "VHF 145.500", email: "a@relief.example" }, organisation: "Relief",
      people: 40, vehicles: { count: 2, plates: ["DEZ 1001", "DEZ 1002"], markings: "red crescent" } },
    share_with: ["coalition", "russia"],
  });
});

test("a site of forces has no facility type; a convoy carries details; a fire none", () => {
  const forces = declarationDoc({ kind: "site", position: [40, 35], facility: "forces", ...W });
  assert.equal(forces.category, "forces");
  assert.equal(forces.facility, undefined);
  assert.equal(forces.protection_m, 0);
  const convoy = declarationDoc({ kind: "movement", points: [[39.9, 35.46], [40.12, 35.33]], halfWidth: 100, ...W,
    details: { vehicles: "6", cargo: "Medical supplies" }, share: { mode: "all" } });
  assert.deepEqual(convoy.details, { vehicles: { count: 6 }, cargo: "Medical supplies" });
  assert.equal(convoy.share_with, "all");
  const fire = declarationDoc({ kind: "fire", target: [40, 35], radius: 100, ...W, details: { remarks: "x" } });
  assert.equal(fire.details, undefined);
  assert.equal(fire.share_with, undefined);
});

test("what is wrong is named", () => {
  const site = { kind: "site", position: [40, 35], facility: "school", ...W };
  assert.equal(fieldOf(() => declarationDoc({ ...site, position: null })), "target");
  assert.equal(fieldOf(() => declarationDoc({ ...site, facility: "" })), "facility");
  assert.equal(fieldOf(() => declarationDoc({ ...site, protection: "-1" })), "radius");
  assert.equal(fieldOf(() => declarationDoc({ ...site, end: W.start })), "end");
  assert.equal(fieldOf(() => detailsDoc({ people: "forty" })), "people");
  assert.equal(fieldOf(() => detailsDoc({ people: "4.5" })), "people");
  assert.equal(fieldOf(() => detailsDoc({ vehicles: "1", plates: "A\nB" })), "plates");
  assert.equal(fieldOf(() => detailsDoc({ plates: "A" })), "vehicles");
  assert.equal(fieldOf(() => detailsDoc({ email: "nobody" })), "email");
  assert.equal(fieldOf(() => detailsDoc({ remarks: "x".repeat(2001) })), "remarks");
  assert.equal(detailsDoc({}), null);
  assert.equal(detailsDoc({ people: "0" }).people, 0);
});

test("sharing: all, the chosen parties without the owner, the per-party default", () => {
  assert.equal(shareWithDoc("all", ["x"]), "all");
  assert.deepEqual(shareWithDoc("listed", ["sdf", "coalition", "sdf", "russia"], "russia"), ["coalition", "sdf"]);
  assert.deepEqual(shareWithDoc("listed", [], "russia"), []);
  assert.deepEqual(defaultShare({ default_share_with: ["coalition"] }), { mode: "listed", parties: ["coalition"] });
  assert.deepEqual(defaultShare({ default_share_with: "all" }), { mode: "all", parties: [] });
  assert.deepEqual(defaultShare(undefined), { mode: "all", parties: [] });
});

test("the details panel lists what was given", () => {
  const rows = detailsRows({ organisation: "Relief", contact: { name: "A", radio: "VHF 1" }, people: 0,
    vehicles: { count: 2, plates: ["P1"] }, cargo: "Flour" });
  assert.deepEqual(rows, [["Organisation", "Relief"], ["Contact", "A"], ["Radio", "VHF 1"], ["People", "0"],
    ["Vehicles", "2: P1"], ["Cargo", "Flour"]]);
  assert.deepEqual(detailsRows(undefined), []);
});

test("an amendment's plan gives back the very declaration, or none", async () => {
  const { planFromDeclaration } = await import("../src/declare.js");
  const fire = { id: "F7", owner: "russia", reference: "DC-000051", kind: "fire", label: "Strike",
    target: { type: "Point", coordinates: [40.05, 35.2] }, effects_radius_m: 300,
    window: { start: "2018-02-08T10:00:00Z", end: "2018-02-08T10:30:00Z" }, share_with: ["coalition"] };
  const plan = planFromDeclaration(fire, "russia");
  assert.equal(plan.radius, "300");
  assert.deepEqual(plan.target, [40.05, 35.2]);
  assert.deepEqual(plan.share, { mode: "listed", parties: ["coalition"] });
  const convoy = { id: "V1", kind: "movement", label: "Convoy", owner: "relief",
    geometry: { type: "LineString", coordinates: [[39.9, 35.46], [40.02, 35.38]] }, half_width_m: 200,
    window: { start: "2018-02-07T08:00:00Z", end: "2018-02-07T14:00:00Z" }, share_with: "all",
    details: { contact: { name: "Amal", radio: "ch 7" }, people: 12, vehicles: { count: 2, plates: ["A1", "B2"] } } };
  assert.equal(planFromDeclaration(convoy).details.plates, "A1\nB2");
  const flight = { id: "F1", kind: "flight", owner: "coalition", altitude: { lower_ft: 15000, upper_ft: 20000 },
    geometry: { type: "LineString", coordinates: [[40, 35], [40.2, 35.1]] }, half_width_m: 1000,
    window: { start: "2018-02-07T19:00:00Z", end: "2018-02-07T23:00:00Z" }, share_with: "all" };
  assert.equal(planFromDeclaration(flight).altUnit, "ft");
  // What the form cannot hold is never amended from it (it would be dropped).
  assert.equal(planFromDeclaration({ ...flight, geometry: { type: "Polygon", coordinates: [[[40, 35], [40.1, 35], [40.1, 35.1], [40, 35]]] } }), null);
  assert.equal(planFromDeclaration({ ...fire, people_present: true }), null);
  assert.equal(planFromDeclaration({ ...convoy, details: { ...convoy.details, unknown_field: 1 } }), null);
  // A declared symbol is kept as declared.
  const hq = { id: "H1", kind: "site", category: "forces", owner: "coalition", protection_m: 300,
    geometry: { type: "Point", coordinates: [40.1, 35.3] }, sidc: "SFGPUCI----E---", designation: "A/2-22",
    window: { start: "2018-02-07T08:00:00Z", end: "2018-02-07T20:00:00Z" }, share_with: "all" };
  assert.equal(planFromDeclaration(hq).sidc, "SFGPUCI----E---");
});

test("a declared symbol goes into the document with its echelon and designation, or is refused on its field", () => {
  const base = { kind: "site", label: "Forward HQ", facility: "forces", position: [40.1, 35.3], protection: "300",
    start: Date.parse("2018-02-07T08:00:00Z"), end: Date.parse("2018-02-07T20:00:00Z") };
  const doc = declarationDoc({ ...base, sidc: "sfgpuci--------", echelon: "company", designation: " A/2-22 " });
  assert.equal(doc.sidc, "SFGPUCI----E---");
  assert.equal(doc.designation, "A/2-22");
  const plain = declarationDoc(base);
  assert.ok(!("sidc" in plain) && !("designation" in plain));
  assert.throws(() => declarationDoc({ ...base, sidc: "HQ" }), (e) => e.field === "sidc");
});
