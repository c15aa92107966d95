import assert from "node:assert/strict";
import { test } from "node:test";

import { crowded, esc, mapName, metresText, placeLabel, shortLabel } from "../src/labels.js";

test("labels are escaped for SVG text", () => {
  assert.equal(esc(`<b a="1">&'`), "&lt;b a=&quot;1&quot;&gt;&amp;&#39;");
});

test("a label that would overlap one placed takes the next offset, or is not drawn", () => {
  const placed = [];
  assert.deepEqual(placeLabel(placed, [100, 100], "S1 one", [30, -22]), [100, 130]);
  assert.deepEqual(placeLabel(placed, [100, 100], "S2 two", [30, -22]), [100, 78]);
  assert.equal(placeLabel(placed, [100, 100], "S3 three", [30, -22]), null);
  assert.deepEqual(placeLabel(placed, [400, 100], "far away", [30]), [400, 130]);
});

test("a made-up id is named by its reference; a chosen id keeps its reference beside it", () => {
  assert.equal(mapName("a-c4e1ae114c008a94", "DC-000034"), "DC-000034");
  assert.match(mapName("S1", "DC-000011"), /S1.*DC-000011/);
  assert.equal(mapName("a-c4e1ae114c008a94", undefined), "a-c4e1ae114c008a94");
});

test("the label typed is quoted and cut to fit", () => {
  assert.equal(shortLabel(" Clinic "), "“Clinic”");
  const long = shortLabel("Air strike near the Conoco gas plant, second wave");
  assert.equal([...long].length, 30);
  assert.ok(long.endsWith("…”"));
});

test("symbols that would pile up are found; apart ones are not", () => {
  const cells = new Map();
  assert.equal(crowded(cells, [100, 100]), false);
  assert.equal(crowded(cells, [110, 105]), true);
  assert.equal(crowded(cells, [200, 100]), false);
});

test("distances read as metres, or kilometres from 10 km", () => {
  assert.equal(metresText(1234.4), "1,234 m");
  assert.equal(metresText(11090), "11.1 km");
});
