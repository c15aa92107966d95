import assert from "node:assert/strict";
import { test } from "node:test";

import { extentOf, fromOL, toOL, WORLD_M, zoomOf } from "../src/olview.js";
import { makeView, project } from "../src/projection.js";

test("a view survives the round trip through OpenLayers' centre and resolution", () => {
  const view = makeView([40.3, 35.2], 256 * 2 ** 9, 800, 600);
  const { center, resolution } = toOL(view);
  const back = fromOL(center, resolution, [800, 600]);
  for (const k of ["cx", "cy", "scale", "width", "height"]) assert.ok(Math.abs(back[k] - view[k]) < 1e-9 * Math.max(1, view[k]), k);
});

test("the origin of EPSG:3857 is the middle of the unit square, and zoom 0 is one 256 px tile", () => {
  const v = fromOL([0, 0], WORLD_M / 256, [256, 256]);
  assert.equal(v.cx, 0.5);
  assert.equal(v.cy, 0.5);
  assert.equal(v.scale, 256);
  assert.equal(zoomOf(256 * 2 ** 7), 7);
});

test("a box in degrees lands where the app's projection puts it", () => {
  const [x0, y0, x1, y1] = extentOf([38, 34, 42, 37]);
  const view = makeView([40, 35.5], 256 * 2 ** 8, 1000, 1000);
  const { center, resolution } = toOL(view);
  // The south-west corner in pixels from OpenLayers' metres (y up) and from projection.js (y down).
  const px = (x0 - center[0]) / resolution + 500;
  const py = 500 - (y0 - center[1]) / resolution;
  const [ex, ey] = project(view, [38, 34]);
  assert.ok(Math.abs(px - ex) < 1e-6 && Math.abs(py - ey) < 1e-6, `${px},${py} vs ${ex},${ey}`);
  assert.ok(x1 > x0 && y1 > y0);
});
