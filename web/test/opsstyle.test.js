import { test } from "node:test";
import assert from "node:assert/strict";
import { areaSpec, dashOf, dottedAt, endAngle, lineSpec, sideSpots, toWorld, withAlpha } from "../src/opsstyle.js";
import { crowded } from "../src/labels.js";

const party = { colour: "#0072B2", dash: "10 4" };

test("toWorld is EPSG:3857 (spherical Mercator on WGS 84's semi-major axis)", () => {
  const [x, y] = toWorld([40, 35]);
  assert.ok(Math.abs(x - 4452779.63) < 0.01, x);
  assert.ok(Math.abs(y - 4163881.14) < 0.01, y);
  assert.ok(Math.hypot(...toWorld([0, 0])) < 1e-6);
});

test("colours and dashes", () => {
  assert.equal(withAlpha("#0072B2", 0.2), "rgba(0,114,178,0.2)");
  assert.deepEqual(dashOf("10 4"), [10, 4]);
  assert.equal(dashOf(""), undefined);
});

test("a measure's area has its pattern; a proposal is dashed and faded; an overdue activity heavy dashed", () => {
  assert.equal(areaSpec({ kind: "no_fire_area" }, "area", party, { measure: true }).pattern, "hatch-nfa");
  assert.equal(areaSpec({ kind: "restricted_operations_zone" }, "area", party, { measure: true }).pattern, "dots-roz");
  const proposed = areaSpec({ kind: "no_fire_area" }, "area", party, { measure: true, proposed: true });
  assert.deepEqual(proposed.dash, [4, 4]);
  assert.match(proposed.stroke, /^rgba\(0,0,0,0\.55\)$/);
  const fire = areaSpec({ kind: "fire", owner: "x" }, "effects", party);
  assert.equal(fire.fill, "rgba(0,114,178,0.22)");
  assert.deepEqual(fire.dash, [10, 4]);
  const late = areaSpec({ kind: "site" }, "protection", party, { overdue: true });
  assert.deepEqual([late.stroke, late.width, late.dash], ["#000", 4, [2, 4]]);
  assert.equal(areaSpec({ kind: "site", category: "protected" }, "protection", party).pattern, "protected-fill");
  assert.equal(areaSpec({ kind: "site" }, "protection", party, { selected: true }).width, 4);
});

test("lines: a deconfliction line on a white casing, a route with an arrow, a trajectory dashed", () => {
  const dl = lineSpec({ kind: "deconfliction_line" }, "line", party, { measure: true });
  assert.deepEqual(dl.strokes.map((s) => s.stroke), ["#fff", "#111"]);
  assert.equal(dl.arrow, false);
  const route = lineSpec({ kind: "movement" }, "route", party);
  assert.equal(route.arrow, true);
  assert.deepEqual(route.strokes[0].dash, [10, 4]);
  const traj = lineSpec({ kind: "fire" }, "trajectory", party);
  assert.deepEqual([traj.arrow, traj.strokes[0].dash], [true, [10, 5]]);
});

test("side labels: left of a line drawn northward is west, right is east, every 260 px, upright", () => {
  const res = 10; // metres a pixel
  const line = [[0, 0], [0, 1000 * res]]; // 1,000 px due north
  const spots = sideSpots(line, res, { left: ["a"], right: ["b"] });
  const left = spots.filter((s) => s.side === "left");
  const right = spots.filter((s) => s.side === "right");
  assert.equal(left.length, 4); // at 130, 390, 650, 910 px
  assert.deepEqual(left.map((s) => s.tick[0][1] / res), [130, 390, 650, 910]);
  assert.ok(left.every((s) => s.label[0] < 0), "left of north is west");
  assert.ok(right.every((s) => s.label[0] > 0), "right of north is east");
  assert.ok(spots.every((s) => Math.abs(Math.abs(s.rotation) - Math.PI / 2) < 1e-9));
  // Drawn southward, the sides swap on the ground; the text stays upright (within ±90°).
  const south = sideSpots([[0, 1000 * res], [0, 0]], res, { left: ["a"], right: ["b"] });
  assert.ok(south.filter((s) => s.side === "left").every((s) => s.label[0] > 0), "left of south is east");
  const east = sideSpots([[0, 0], [1000 * res, 0]], res, { left: ["a"], right: [] });
  assert.ok(east.every((s) => s.side === "left" && s.label[1] > 0 && s.rotation === 0), "left of east is north");
  // A side nobody keeps to gets no label.
  assert.equal(sideSpots(line, res, { left: [], right: [] }).length, 0);
});

test("an arrowhead points along the last segment (radians clockwise from east on the screen)", () => {
  assert.ok(Math.abs(endAngle([[0, 0], [10, 0]])) < 1e-12);
  assert.ok(Math.abs(endAngle([[0, 0], [0, 10]]) + Math.PI / 2) < 1e-12); // north: up the screen
  assert.ok(Math.abs(endAngle([[0, 0], [10, 0], [10, 0]])) < 1e-12);
});

test("symbols that would pile up are dots, the first of a pile keeps its symbol", () => {
  const res = 100;
  const pts = [[0, 0], [5 * res, 0], [100 * res, 0]]; // the second 5 px from the first
  assert.deepEqual([...dottedAt(pts, res, crowded)], [1]);
  assert.deepEqual([...dottedAt(pts, 1, crowded)], []); // closer in they are apart
});
