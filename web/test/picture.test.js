import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { distance } from "../src/geo.js";
import {
  altitudeLabel, altitudeText, dayStart, defaultInstant, inForce, isMeasure, labelOf, positionAt, shapesOf, sidesOf,
  timeRange, toFeature, toGeoJSON, toKML, windowOf,
} from "../src/picture.js";

const scenario = JSON.parse(readFileSync(new URL("../../src/deconflict/data/euphrates-2018.json", import.meta.url)));
const byId = Object.fromEntries([...scenario.declarations, ...scenario.measures].map((o) => [o.id, o]));
const T = (s) => Date.parse(s);

test("windows are half-open: in force at the start, not at the end", () => {
  const f1 = byId.F1;
  assert.equal(inForce(f1, T("2018-02-07T19:00:00Z")), true);
  assert.equal(inForce(f1, T("2018-02-07T22:59:59Z")), true);
  assert.equal(inForce(f1, T("2018-02-07T23:00:00Z")), false);
  assert.equal(inForce(f1, T("2018-02-07T18:59:59Z")), false);
});

test("what is in force changes over the Euphrates day", () => {
  const all = [...scenario.declarations, ...scenario.measures];
  const at = (s) => all.filter((o) => inForce(o, T(s))).map((o) => o.id).sort();
  assert.deepEqual(at("2018-02-07T09:30:00Z"), ["F2", "M1", "M3", "M4", "S1", "S2", "S3", "S4", "V1"]);
  assert.deepEqual(at("2018-02-07T20:00:00Z"), ["F1", "M1", "M2", "M3", "M4", "S1", "S2", "S3", "S4"]);
});

test("the map opens at the first transient declaration's hour, or now when something is on", () => {
  const t = defaultInstant(scenario.declarations, T("2025-01-01T00:00:00Z"));
  assert.equal(new Date(t).toISOString(), "2018-02-07T08:00:00.000Z");
  const now = T("2018-02-07T20:30:00Z");
  assert.equal(defaultInstant(scenario.declarations, now), now);
  assert.equal(new Date(dayStart(now)).toISOString(), "2018-02-07T00:00:00.000Z");
  const [lo, hi] = timeRange(scenario.declarations);
  assert.equal(new Date(lo).toISOString(), "2018-02-01T00:00:00.000Z");
  assert.equal(new Date(hi).toISOString(), "2018-03-01T00:00:00.000Z");
});

test("4D trajectories: the window is the waypoint times; the position is interpolated", () => {
  const wp = [
    { coordinates: [40.0, 35.0], time: "2018-02-07T10:00:00Z" },
    { coordinates: [40.2, 35.0], time: "2018-02-07T11:00:00Z" },
  ];
  assert.deepEqual(windowOf({ waypoints: wp }), [T(wp[0].time), T(wp[1].time)]);
  const { position, azimuth } = positionAt(wp, T("2018-02-07T10:30:00Z"));
  assert.ok(Math.abs(distance(position, wp[0].coordinates) - distance(position, wp[1].coordinates)) < 1e-3);
  assert.ok(Math.abs(azimuth - 90) < 0.1);
  const { shapes, anchor } = shapesOf({ kind: "movement", half_width_m: 100, waypoints: wp }, T("2018-02-07T10:30:00Z"));
  assert.deepEqual(anchor, position);
  assert.ok(shapes.some((s) => s.role === "position"));
});

test("shapes: protection and effects circles at their radius; corridors; trajectories", () => {
  const s1 = shapesOf(byId.S1);
  const ring = s1.shapes.find((s) => s.role === "protection").coords;
  for (const p of ring) assert.ok(Math.abs(distance([40.32, 35.36], p) - 1500) < 1e-3);
  assert.deepEqual(s1.anchor, [40.32, 35.36]);
  const fire = shapesOf(scenario.checks.find((c) => c.id === "C5").activity);
  assert.deepEqual(fire.shapes.map((s) => s.role), ["effects", "target", "trajectory", "origin"]);
  const v1 = shapesOf(byId.V1);
  assert.deepEqual(v1.shapes.map((s) => s.role), ["corridor", "route"]);
  const m4 = shapesOf(byId.M4);
  assert.deepEqual(m4.shapes.map((s) => s.role), ["corridor", "route"]);
  const m1 = shapesOf(byId.M1);
  assert.deepEqual(m1.shapes.map((s) => s.role), ["line"]);
  assert.deepEqual(shapesOf(byId.M2).shapes.map((s) => s.role), ["area"]);
  assert.deepEqual(shapesOf(byId.F1).shapes.map((s) => s.role), ["area"]);
});

test("labels: sides of a deconfliction line; altitudes with their units", () => {
  assert.deepEqual(sidesOf(byId.M1), { left: ["coalition", "sdf"], right: ["regime", "russia"] });
  assert.equal(altitudeLabel({ lower_m: 1500, upper_m: 7500 }), "1,500–7,500 m AMSL");
  assert.equal(altitudeLabel({ lower_ft: 5000, upper_ft: 9000 }), "5,000–9,000 ft AMSL");
  assert.equal(altitudeLabel({ lower: { value: 500, unit: "m" }, upper: { value: 9000, unit: "ft" } }), "500 m–9,000 ft AMSL");
  assert.equal(labelOf(byId.M2), "ROZ M2 Conoco close air support ROZ · 1,500–7,500 m AMSL");
  assert.equal(labelOf(byId.M4), "AC M4 Deir ez-Zor airport approach corridor · 500–4,000 m AMSL");
  assert.equal(altitudeText({ kind: "flight", waypoints: [{ altitude: { value: 9000, unit: "ft" } }, { altitude: { value: 12000, unit: "ft" } }] }),
    "9,000 ft–12,000 ft AMSL");
  assert.equal(isMeasure(byId.M1), true);
  assert.equal(isMeasure(byId.S1), false);
});

test("GeoJSON export is what `deconflict import` reads", () => {
  const f = toFeature(byId.S1);
  assert.equal(f.type, "Feature");
  assert.equal(f.id, "S1");
  assert.deepEqual(f.geometry, byId.S1.geometry);
  assert.equal(f.properties.geometry, undefined);
  assert.equal(f.properties.protection_m, 1500);
  const fire = toFeature({ id: "X", kind: "fire", target: { type: "Point", coordinates: [1, 2] }, effects_radius_m: 5 });
  assert.deepEqual(fire.geometry, { type: "Point", coordinates: [1, 2] });
  assert.equal(fire.properties.target, undefined);
  const fc = toGeoJSON([byId.S1, byId.M1], { instant: "2018-02-07T20:00:00Z" });
  assert.equal(fc.features.length, 2);
  assert.equal(fc.deconflict.instant, "2018-02-07T20:00:00Z");
});

test("KML export: one placemark per object, circles as polygons, escaped text", () => {
  const kml = toKML([byId.S1, byId.M1, { ...byId.S2, label: "A & B <hospital>" }], { colours: { coalition: "#0072B2" } });
  assert.match(kml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<kml xmlns="http:\/\/www.opengis.net\/kml\/2.2">/);
  assert.equal((kml.match(/<Placemark /g) ?? []).length, 3);
  assert.match(kml, /A &amp; B &lt;hospital&gt;/);
  assert.match(kml, /<Polygon>/);
  assert.match(kml, /<LineString>/);
  assert.match(kml, /<color>ffb27200<\/color>/);
  assert.match(kml, /<TimeSpan><begin>2018-02-01T00:00:00.000Z<\/begin>/);
});

test("roughBox covers an object's shapes without drawing them", async () => {
  const { roughBox, shapesOf } = await import("../src/picture.js");
  const objs = [
    { id: "s", kind: "site", owner: "a", geometry: { type: "Point", coordinates: [40.1, 35.2] }, protection_m: 5000 },
    { id: "f", kind: "fire", owner: "a", target: { type: "Point", coordinates: [40.3, 35.3] }, effects_radius_m: 800,
      origin: { type: "Point", coordinates: [40.0, 35.0] } },
    { id: "m", kind: "movement", owner: "a", geometry: { type: "LineString", coordinates: [[40, 35], [40.5, 35.6]] }, half_width_m: 2000 },
    { id: "n", kind: "site", owner: "a", geometry: { type: "Point", coordinates: [10, 69.5] }, protection_m: 20000 },
  ];
  for (const o of objs) {
    const box = roughBox(o);
    for (const sh of shapesOf(o).shapes) {
      for (const [lon, lat] of sh.type === "point" ? [sh.coords] : sh.coords) {
        assert.ok(lon >= box[0] && lat >= box[1] && lon <= box[2] && lat <= box[3], `${o.id}: ${lon},${lat} outside ${box}`);
      }
    }
  }
  assert.equal(roughBox({ id: "x", kind: "site" }), null);
});
