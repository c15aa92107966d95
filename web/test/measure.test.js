import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  canAccept, formatAsOf, measureDoc, parseAsOf, pictureQuery, proposalLabel, sortProposals, suggestId,
} from "../src/measure.js";
import { PlanError } from "../src/plan.js";

const scenario = JSON.parse(readFileSync(new URL("../../src/deconflict/data/euphrates-2018.json", import.meta.url)));
const measure = (id) => scenario.measures.find((m) => m.id === id);

function form(m, over = {}) {
  const g = m.geometry.coordinates;
  return {
    kind: m.kind, id: m.id, label: m.label, owner: m.owner,
    points: m.geometry.type === "Polygon" ? g[0].slice(0, -1) : g,
    binds: m.binds, sides: m.sides, halfWidth: m.half_width_m,
    lower: m.altitude?.lower_m, upper: m.altitude?.upper_m, altUnit: "m",
    start: Date.parse(m.window.start), end: Date.parse(m.window.end), ...over,
  };
}

test("the ROZ, the NFA and the air corridor drawn on the map are those of the scenario", () => {
  for (const id of ["M2", "M3", "M4"]) assert.deepEqual(measureDoc(form(measure(id))), measure(id), id);
});

test("a deconfliction line carries the side of each party; unset sides are left out", () => {
  const m1 = measure("M1");
  const { applies_to: _a, comment: _c, ...expected } = m1;
  assert.deepEqual(measureDoc(form(m1, { sides: { ...m1.sides, relief: "" } })), expected);
  assert.throws(() => measureDoc(form(m1, { sides: { coalition: "" } })), (e) => e instanceof PlanError && e.field === "sides");
});

test("whom it binds: a list (sorted, once each), all, all but the owner", () => {
  const m3 = measure("M3");
  assert.deepEqual(measureDoc(form(m3, { binds: ["russia", "regime", "russia"] })).binds, ["regime", "russia"]);
  assert.equal(measureDoc(form(m3, { binds: "all_but_owner" })).binds, "all_but_owner");
  for (const binds of [[], undefined, "nobody"]) {
    assert.throws(() => measureDoc(form(m3, { binds })), (e) => e.field === "binds", String(binds));
  }
});

test("a polygon's ring is closed once; a polygon needs three points, a line two", () => {
  const pts = [[40, 35], [40.1, 35], [40.1, 35.1]];
  const doc = measureDoc(form(measure("M3"), { points: pts }));
  assert.deepEqual(doc.geometry.coordinates[0], [...pts, pts[0]]);
  assert.deepEqual(measureDoc(form(measure("M3"), { points: [...pts, pts[0]] })).geometry.coordinates[0], [...pts, pts[0]]);
  assert.throws(() => measureDoc(form(measure("M3"), { points: pts.slice(0, 2) })), (e) => e.field === "points");
  assert.throws(() => measureDoc(form(measure("M1"), { points: [[40, 35]] })), (e) => e.field === "points");
});

test("every missing or wrong field is named", () => {
  const cases = [
    [{ id: " " }, "id"], [{ id: "a b" }, "id"], [{ kind: "fire" }, "kind"],
    [{ lower: "" }, "lower"], [{ upper: "x" }, "upper"], [{ lower: 8000 }, "lower"],
    [{ start: null }, "start"], [{ end: Number.NaN }, "end"], [{ end: Date.parse("2018-01-01T00:00:00Z") }, "end"],
  ];
  for (const [over, field] of cases) {
    assert.throws(() => measureDoc(form(measure("M2"), over)), (e) => e instanceof PlanError && e.field === field, JSON.stringify(over));
  }
  assert.throws(() => measureDoc(form(measure("M4"), { halfWidth: 0 })), (e) => e.field === "halfWidth");
  const ft = measureDoc(form(measure("M2"), { lower: 5000, upper: "25000", altUnit: "ft" }));
  assert.deepEqual(ft.altitude, { lower_ft: 5000, upper_ft: 25000 });
});

test("a suggested id names the party and the kind", () => {
  assert.equal(suggestId("coalition", "no_fire_area", () => 0.5), "coalition-NFA-8000");
  assert.match(suggestId("", "deconfliction_line"), /^admin-DL-[0-9a-f]{4}$/);
});

const proposal = {
  measure: { ...measure("M3"), id: "X1", owner: "coalition", binds: ["regime", "russia"] },
  version: 2, proposed_by: "coalition", bound: ["coalition", "regime", "russia"], accepted_by: ["coalition", "regime"],
  waiting_for: ["russia"],
};

test("a proposal reads with its version and whom it waits for", () => {
  assert.equal(proposalLabel(proposal), "NFA X1 Water pumping station NFA (proposed v2, waiting for: russia)");
  assert.equal(proposalLabel({ ...proposal, waiting_for: [] }), "NFA X1 Water pumping station NFA (proposed v2)");
});

test("only a liaison of a bound party that has not accepted may accept", () => {
  assert.equal(canAccept(proposal, { party: "russia", role: "liaison" }), true);
  assert.equal(canAccept(proposal, { party: "russia", role: "planner" }), false);
  assert.equal(canAccept(proposal, { party: "regime", role: "liaison" }), false);
  assert.equal(canAccept(proposal, { party: "sdf", role: "liaison" }), false);
  assert.equal(canAccept(proposal, { party: null, role: "admin" }), false);
  assert.equal(canAccept(proposal, null), false);
  const other = { ...proposal, measure: { ...proposal.measure, id: "A0" }, waiting_for: ["sdf"], bound: ["sdf"], accepted_by: [] };
  assert.deepEqual(sortProposals([other, proposal], { party: "russia", role: "liaison" }).map((p) => p.measure.id), ["X1", "A0"]);
  assert.deepEqual(sortProposals([proposal, other], { party: "sdf", role: "viewer" }).map((p) => p.measure.id), ["A0", "X1"]);
});

test("the 'as known at' instant: empty is live, UTC with seconds, anything else is named", () => {
  assert.equal(parseAsOf(""), null);
  assert.equal(parseAsOf("  "), null);
  const t = Date.parse("2018-02-07T20:05:09Z");
  assert.equal(parseAsOf("2018-02-07 20:05:09"), t);
  assert.equal(parseAsOf("2018-02-07T20:05:09Z"), t);
  assert.equal(parseAsOf("2018-02-07 20:05"), t - 9000);
  for (const bad of ["yesterday", "2018-02-07", "20:05"]) {
    assert.throws(() => parseAsOf(bad), (e) => e instanceof PlanError && e.field === "asof", bad);
  }
  assert.equal(pictureQuery(t), "/v1/picture?as_of=2018-02-07T20%3A05%3A09.000Z");
  assert.equal(formatAsOf(t), "2018-02-07 20:05:09Z");
});
