import assert from "node:assert/strict";
import { test } from "node:test";

import {
  bounds, fit, graticule, graticuleStep, intersects, inverseMercator, makeView, mercator, pan, pathData, project,
  scaleBar, unproject, zoom,
} from "../src/projection.js";

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test("mercator round trip", () => {
  for (const p of [[0, 0], [40.325, 35.355], [-179, -80], [179.5, 84]]) {
    const q = inverseMercator(mercator(p));
    close(q[0], p[0]);
    close(q[1], p[1]);
  }
  assert.deepEqual(mercator([0, 0]), [0.5, 0.5]);
});

test("project and unproject are inverse; the centre is in the middle", () => {
  const v = makeView([40.3, 35.3], 256 * 2 ** 10, 800, 600);
  const [x, y] = project(v, [40.3, 35.3]);
  close(x, 400, 1e-6);
  close(y, 300, 1e-6);
  const p = unproject(v, project(v, [40.5, 35.1]));
  close(p[0], 40.5);
  close(p[1], 35.1);
});

test("zoom keeps the point under the cursor in place", () => {
  const v = makeView([40.3, 35.3], 256 * 2 ** 9, 800, 600);
  const at = [123, 456];
  const before = unproject(v, at);
  const after = unproject(zoom(v, 2, at), at);
  close(before[0], after[0]);
  close(before[1], after[1]);
  assert.equal(zoom(v, 1e9).scale, 256 * 2 ** 20);
});

test("pan moves the map with the pointer", () => {
  const v = makeView([40.3, 35.3], 256 * 2 ** 9, 800, 600);
  const p = unproject(v, [400, 300]);
  const q = project(pan(v, 50, -20), p);
  close(q[0], 450, 1e-6);
  close(q[1], 280, 1e-6);
});

test("fit shows the whole box", () => {
  const v = fit(makeView([0, 0], 256, 800, 600), [39.02, 34.46, 40.93, 35.94], 40);
  const [w, s, e, n] = bounds(v);
  assert.ok(w <= 39.02 && e >= 40.93 && s <= 34.46 && n >= 35.94);
  assert.ok(intersects([w, s, e, n], [40, 35, 40.1, 35.1]));
  assert.ok(!intersects([w, s, e, n], [0, 0, 1, 1]));
});

test("graticule spacing follows the zoom; lines cover the box", () => {
  const wide = makeView([0, 0], 256, 800, 600);
  const near = makeView([40.3, 35.3], 256 * 2 ** 11, 800, 600);
  assert.ok(graticuleStep(wide) > graticuleStep(near));
  const lines = graticule([40.05, 35.05, 40.55, 35.45], 0.1);
  const meridians = lines.filter((l) => l.kind === "meridian").map((l) => l.value);
  assert.deepEqual(meridians, [40.1, 40.2, 40.3, 40.4, 40.5]);
});

test("scale bar lengths are round numbers", () => {
  const v = makeView([40.3, 35.3], 256 * 2 ** 12, 800, 600);
  const bar = scaleBar(v, 35.3, 120);
  assert.match(bar.label, /^(1|2|5)(0*)( km| m)$/);
  assert.ok(bar.pixels <= 120 && bar.pixels > 24);
});

test("path data breaks at the antimeridian instead of crossing the map", () => {
  const v = makeView([180, 0], 256 * 4, 800, 600);
  const d = pathData(v, [[179, 0], [-179, 0], [-178, 1]]);
  assert.equal((d.match(/M/g) ?? []).length, 2);
  assert.ok(pathData(v, [[0, 0], [1, 1], [1, 0]], true).endsWith("Z"));
});

import { pathData as pathOf, makeView as viewAt } from "../src/projection.js";

test("a path is thinned on screen: points within a pixel of the last kept are dropped, the ends kept", () => {
  const view = viewAt([40, 35], 256 * 2 ** 6, 800, 600); // a theatre: 100 m is a fraction of a pixel
  const ring = Array.from({ length: 65 }, (_, i) => [40 + 0.001 * Math.cos((i / 64) * 2 * Math.PI), 35 + 0.001 * Math.sin((i / 64) * 2 * Math.PI)]);
  const thin = pathOf(view, ring, true);
  assert.ok((thin.match(/[ML]/g) ?? []).length <= 3, thin);
  const close = viewAt([40, 35], 256 * 2 ** 18, 800, 600); // a street: every point is pixels apart
  assert.equal((pathOf(close, ring, true).match(/[ML]/g) ?? []).length, 65);
});
