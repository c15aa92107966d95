import assert from "node:assert/strict";
import { test } from "node:test";

import { lineLength } from "../src/geo.js";
import { shapesOf } from "../src/picture.js";
import { drawList, findingParts, highlightsOf, measureDraftParts, planParts } from "../src/scene.js";

const shapes = (obj) => shapesOf(obj);
const W = (s, e) => ({ start: s, end: e });
// A 200 km deconfliction line along 40.2 E, a fire 3 km east of it, a site, a 4D movement.
const DL = { id: "M1", kind: "deconfliction_line", owner: "coalition", geometry: { type: "LineString", coordinates: [[40.2, 34.5], [40.2, 36.3]] },
  sides: { coalition: "left", russia: "right" } };
const SITE = { id: "S1", kind: "site", owner: "sdf", category: "forces", geometry: { type: "Point", coordinates: [40.3, 35.3] }, protection_m: 500 };
const MOVE = { id: "V1", kind: "movement", owner: "relief", half_width_m: 100,
  waypoints: [{ coordinates: [40.0, 35.0], time: "2018-02-07T10:00:00Z" }, { coordinates: [40.2, 35.0], time: "2018-02-07T12:00:00Z" }] };
const FIRE = { id: "F1", kind: "fire", owner: "russia", target: { type: "Point", coordinates: [40.233, 35.4] }, effects_radius_m: 500,
  origin: { type: "Point", coordinates: [40.5, 35.5] } };

test("measures are drawn under sites, movements, flights and fires; a line carries its sides", () => {
  const list = drawList([{ obj: FIRE }, { obj: SITE }, { obj: DL }, { obj: MOVE }], Date.parse("2018-02-07T11:00:00Z"), shapes);
  assert.deepEqual(list.map((x) => x.item.obj.id), ["M1", "S1", "V1", "F1"]);
  assert.deepEqual(list[0].item.sides, { left: ["coalition"], right: ["russia"] });
  assert.equal(list[0].item.measure, true);
  // A 4D movement's symbol is where it is at the instant: half way at 11:00.
  assert.ok(Math.abs(list[2].anchor[0] - 40.1) < 0.001, list[2].anchor);
  // A fire's firing position is a mark of its own.
  assert.deepEqual(list[3].marks, [{ role: "origin", at: [40.5, 35.5] }]);
});

test("a violation of a 200 km line highlights only its stretch near the fire, with the separation measured", () => {
  const result = { verdict: "violation", findings: [
    { kind: "violation", object: { id: "M1" }, separation_m: 0, part: "effects" },
    { kind: "caution", object: { id: "S1" } },
  ] };
  const activity = shapesOf({ ...FIRE, id: "checked" }).shapes;
  const parts = findingParts(result, activity, [DL, SITE], shapes);
  assert.deepEqual(parts.map((p) => p.id), ["M1"]); // a caution is not drawn
  const [hl] = highlightsOf(parts, shapes);
  assert.equal(hl.kind, "violation");
  assert.equal(hl.fill.length, 0);
  const stretch = lineLength(hl.over[0]);
  assert.ok(stretch > 3000 && stretch < 21000, stretch); // 2 km and a quarter of ~2.5 km either side, far less than 200 km
  // Met at 0 m (the far side): the distance measured here, marked as such.
  assert.match(hl.separation.label, /^≈ \d/);
  assert.equal(hl.badge.text, "✖ violation: M1");
  assert.deepEqual(hl.badge.at, hl.separation.to);
});

test("a conflict with an area hatches the area; the service's separation is its label", () => {
  const result = { verdict: "conflict", findings: [{ kind: "conflict", object: { id: "S1" }, separation_m: 1234 }] };
  const activity = shapesOf({ ...FIRE, id: "checked", target: { type: "Point", coordinates: [40.33, 35.3] } }).shapes;
  const [hl] = highlightsOf(findingParts(result, activity, [DL, SITE], shapes), shapes);
  assert.equal(hl.fill.length, 1);
  assert.equal(hl.separation.label, "1,234 m");
  assert.equal(hl.separationM, 1234);
  assert.deepEqual(findingParts(null, activity, [SITE], shapes), []);
});

test("the plan and the measure being drawn: parts for the plan layer", () => {
  const plan = planParts({ ...shapesOf(FIRE), vertices: [] }, "fire");
  assert.deepEqual(plan.map((p) => p.part), ["area", "mark", "line", "mark", "label"]);
  assert.ok(plan.some((p) => p.part === "mark" && p.role === "target") && plan.some((p) => p.part === "label" && p.text === "planned fire"));
  assert.deepEqual(planParts(null, "fire"), []);
  const polygons = new Set(["no_fire_area"]);
  const two = measureDraftParts({ kind: "no_fire_area", points: [[40, 35], [40.1, 35]], owner: "x" }, polygons);
  assert.deepEqual(two.map((p) => p.part), ["line", "vertex", "vertex"]);
  const three = measureDraftParts({ kind: "no_fire_area", points: [[40, 35], [40.1, 35], [40.1, 35.1]], owner: "x" }, polygons);
  assert.equal(three[0].part, "area");
  assert.deepEqual(three[0].coords.at(-1), [40, 35]); // closed
  const corridor = measureDraftParts({ kind: "air_corridor", points: [[40, 35], [40.1, 35]], halfWidth: "2000", owner: "x" }, polygons);
  assert.deepEqual(corridor.map((p) => p.part), ["area", "line", "vertex", "vertex"]);
  assert.ok(corridor.every((p) => p.draft));
});
