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

import { placeMinPopulation, placesOf } from "../src/baselayers.js";

test("more places are shown the closer the map is", () => {
  const zooms = [3, 5, 6.5, 8, 9.5, 12];
  const mins = zooms.map(placeMinPopulation);
  for (let i = 1; i < mins.length; i += 1) assert.ok(mins[i] <= mins[i - 1], `${zooms[i]}`);
  assert.equal(placeMinPopulation(12), 0);
  assert.ok(placeMinPopulation(4) >= 1_000_000);
});

test("the compact places file is read by its field names", () => {
  const doc = { fields: ["lon", "lat", "population", "name", "capital"], rows: [[40.14, 35.33, 211857, "Deir ez-Zor", "admin"], [null, 1, 0, "bad", ""]] };
  assert.deepEqual(placesOf(doc), [{ lon: 40.14, lat: 35.33, population: 211857, name: "Deir ez-Zor", capital: "admin" }]);
  assert.deepEqual(placesOf({ fields: ["x"], rows: [[1]] }), []);
});
