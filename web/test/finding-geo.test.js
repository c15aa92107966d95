import assert from "node:assert/strict";
import { test } from "node:test";

import { closestPair, partShapes, stretchAround } from "../src/finding-geo.js";

const M_PER_DEG = (6371008.8 * Math.PI) / 180;

test("the closest points of a fire and a long line are where the line passes the fire", () => {
  // A north-south line 200 km long at 40.5 E, a target 0.1 degree west of it, at 35.2 N.
  const line = { type: "line", role: "line", coords: [[40.5, 34.3], [40.5, 35.0], [40.5, 35.4], [40.5, 36.1]] };
  const target = { type: "point", role: "target", coords: [40.4, 35.2] };
  const pair = closestPair([target], [line]);
  assert.equal(pair.edge, 1); // the edge from 35.0 to 35.4 N
  assert.deepEqual(pair.from, [40.4, 35.2]);
  assert.ok(Math.abs(pair.to[0] - 40.5) < 1e-9 && Math.abs(pair.to[1] - 35.2) < 1e-6, String(pair.to));
  const expected = 0.1 * M_PER_DEG * Math.cos((35.2 * Math.PI) / 180);
  assert.ok(Math.abs(pair.distance_m - expected) < 1, `${pair.distance_m} vs ${expected}`);
});

test("an activity inside an area or crossing a line is 0 m from it, at a common point", () => {
  const square = { type: "area", coords: [[40, 35], [41, 35], [41, 36], [40, 36], [40, 35]] };
  assert.equal(closestPair([{ type: "point", coords: [40.5, 35.5] }], [square]).distance_m, 0);
  const route = { type: "line", coords: [[39.5, 35.5], [40.5, 35.6]] };
  const pair = closestPair([route], [square]);
  assert.equal(pair.distance_m, 0);
  assert.ok(Math.abs(pair.to[0] - 40) < 1e-6, String(pair.to));
  assert.equal(closestPair([], [square]), null);
});

test("only the stretch of the line near the closest point is kept", () => {
  const coords = [[40.5, 34.0], [40.5, 35.0], [40.5, 35.4], [40.5, 36.5]];
  const part = stretchAround(coords, 1, [40.5, 35.2], 5000);
  const lats = part.map((p) => p[1]);
  const half = 5000 / M_PER_DEG;
  assert.ok(Math.abs(Math.min(...lats) - (35.2 - half)) < 1e-6 && Math.abs(Math.max(...lats) - (35.2 + half)) < 1e-6, String(lats));
  // Wider than the edge: it follows the line through its vertices.
  const wide = stretchAround(coords, 1, [40.5, 35.2], 50_000);
  assert.ok(wide.some((p) => Math.abs(p[1] - 35.4) < 1e-9) && wide.some((p) => Math.abs(p[1] - 35.0) < 1e-9));
  assert.ok(Math.max(...wide.map((p) => p[1])) < 35.7);
});

test("a finding about the trajectory looks at the trajectory, not the effects", () => {
  const shapes = [{ role: "effects" }, { role: "target" }, { role: "trajectory" }, { role: "trajectory-band" }];
  assert.deepEqual(partShapes(shapes, "trajectory").map((s) => s.role), ["trajectory", "trajectory-band"]);
  assert.equal(partShapes(shapes, "").length, 4);
  assert.equal(partShapes(shapes, "leg 2").length, 4);
});
