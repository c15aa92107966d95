import assert from "node:assert/strict";
import { test } from "node:test";

import { baseStyles, tileLayerSpecs } from "../src/baselayers.js";

test("raster and vector tile sets become layers at their XYZ address", () => {
  const specs = tileLayerSpecs({ tilesets: [
    { name: "relief", format: "png", minzoom: 2, maxzoom: 9, attribution: "Survey" },
    { name: "osm roads", format: "pbf", minzoom: 0, maxzoom: 14 },
  ] });
  assert.deepEqual(specs.map((s) => [s.name, s.kind, s.minZoom, s.maxZoom]), [["relief", "raster", 2, 9], ["osm roads", "vector", 0, 14]]);
  assert.equal(specs[1].url, "tiles/osm%20roads/{z}/{x}/{y}");
  assert.equal(specs[0].attribution, "Survey");
});

test("a tile set in a format the map cannot draw is left out", () => {
  assert.deepEqual(tileLayerSpecs({ tilesets: [{ name: "dem", format: "tiff" }, { format: "png" }] }), []);
  assert.deepEqual(tileLayerSpecs(null), []);
});

test("the base is land over sea, labelled", () => {
  const s = baseStyles();
  assert.ok(s.country.fill && s.country.text);
});
