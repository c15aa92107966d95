import assert from "node:assert/strict";
import { test } from "node:test";

import { along, circle, corridor, densify, destination, distance, geodesicPoints, inverse, lineLength } from "../src/geo.js";

const dms = (d, m, s) => Math.sign(d) * (Math.abs(d) + m / 60 + s / 3600);

test("Vincenty's own example: Flinders Peak to Buninyong (direct and inverse)", () => {
  const flinders = [dms(144, 25, 29.5244), dms(-37, 57, 3.7203)];
  const buninyong = [dms(143, 55, 35.3839), dms(-37, 39, 10.1561)];
  const azimuth = dms(306, 52, 5.37);
  const s = 54972.271;
  const [lon, lat] = destination(flinders, azimuth, s);
  assert.ok(Math.abs(lon - buninyong[0]) < 1e-7, `lon ${lon}`);
  assert.ok(Math.abs(lat - buninyong[1]) < 1e-7, `lat ${lat}`);
  const inv = inverse(flinders, buninyong);
  assert.ok(Math.abs(inv.distance - s) < 1e-3, `distance ${inv.distance}`);
  assert.ok(Math.abs(inv.azimuth1 - azimuth) < 1e-5);
  assert.ok(Math.abs(inv.azimuth2 - dms(307, 10, 25.07)) < 1e-5, `azimuth2 ${inv.azimuth2}`);
});

test("the WGS84 quarter meridian and a degree of the equator", () => {
  assert.ok(Math.abs(distance([0, 0], [0, 90]) - 10001965.729) < 1e-3);
  assert.ok(Math.abs(distance([0, 0], [1, 0]) - 111319.491) < 1e-3);
  assert.equal(distance([40.3, 35.3], [40.3, 35.3]), 0);
});

test("nearly antipodal points fall back to a sphere instead of failing", () => {
  const d = distance([0, 0], [179.9, 0.1]);
  assert.ok(Number.isFinite(d) && d > 19.9e6 && d < 20.1e6, `${d}`);
});

test("a circle's points are all at the radius, by the inverse", () => {
  const c = [40.325, 35.355];
  const ring = circle(c, 500, 36);
  assert.equal(ring.length, 37);
  assert.deepEqual(ring[0], ring.at(-1));
  for (const p of ring) assert.ok(Math.abs(distance(c, p) - 500) < 1e-4);
});

test("destination crosses the antimeridian and wraps the longitude", () => {
  const [lon] = destination([179.99, 0], 90, 5000);
  assert.ok(lon < -179.9 && lon > -180, `${lon}`);
});

test("densify: no piece longer than the step, ends kept, points on the geodesic", () => {
  const line = [[39.02, 35.94], [40.93, 34.46]];
  const dense = densify(line, 10000);
  assert.deepEqual(dense[0], line[0]);
  assert.deepEqual(dense.at(-1), line[1]);
  for (let i = 1; i < dense.length; i += 1) assert.ok(distance(dense[i - 1], dense[i]) <= 10000 + 1e-6);
  const total = lineLength(dense);
  assert.ok(Math.abs(total - distance(line[0], line[1])) < 1e-3);
  assert.equal(geodesicPoints(line[0], line[1], 4).length, 5);
});

test("along: the midpoint of a geodesic is half way", () => {
  const a = [40.0, 35.55];
  const b = [40.176, 35.285];
  const m = along([a, b], 0.5);
  assert.ok(Math.abs(distance(a, m) - distance(m, b)) < 1e-3);
  assert.deepEqual(along([a, b], 0), a);
});

function distanceToSegmentApprox(p, a, b) {
  // Fine sampling of the geodesic is enough for a test at this scale.
  let best = Infinity;
  for (const q of geodesicPoints(a, b, 400)) best = Math.min(best, distance(p, q));
  return best;
}

test("a corridor's outline is the half width from its line (round ends, outer joins)", () => {
  const route = [[40.21, 35.25], [40.27, 35.33], [40.31, 35.352]];
  const ring = corridor(route, 300);
  assert.deepEqual(ring[0], ring.at(-1));
  for (const p of ring) {
    const d = Math.min(distanceToSegmentApprox(p, route[0], route[1]), distanceToSegmentApprox(p, route[1], route[2]));
    assert.ok(d > 300 * 0.97 && d < 300 * 1.2, `point ${p} is ${d} m from the route`);
  }
});

test("a corridor of a single point is a circle", () => {
  const ring = corridor([[40, 35]], 100);
  for (const p of ring) assert.ok(Math.abs(distance([40, 35], p) - 100) < 1e-4);
});
