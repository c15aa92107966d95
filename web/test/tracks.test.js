import assert from "node:assert/strict";
import { test } from "node:test";

import { cotSidc, trackLabel, trackSidc } from "../src/tracks.js";

test("a CoT atom type gives its MIL-STD-2525 code", () => {
  assert.equal(cotSidc("a-f-G-U-C-I"), "SFGPUCI--------");
  assert.equal(cotSidc("a-h-A-M-F-Q"), "SHAPMFQ--------");
  assert.equal(cotSidc("a-n-S"), "SNSP-----------");
  assert.equal(cotSidc("b-a-g"), null); // not an atom: an alert
  assert.equal(cotSidc("a-f-X-U"), null); // no such dimension
  assert.equal(cotSidc(""), null);
  assert.equal(cotSidc("a-f-G-U-C-I-Z-Z-Z-Z").length, 15);
});

test("a track is drawn from the viewer's side", () => {
  const own = { uid: "c1", party: "coalition", type: "a-f-G-U-C-I", air: false };
  assert.equal(trackSidc(own, "coalition"), "SFGPUCI--------");
  assert.equal(trackSidc(own, "russia"), "SNGPUCI--------");
  assert.equal(trackSidc({ uid: "ac", party: null, type: "", air: true }, "coalition"), "SUAP-----------");
  assert.equal(trackSidc({ uid: "g", party: "sdf", type: "junk", air: false }, "sdf"), "SFGP-----------");
  assert.equal(trackLabel({ uid: "ac", air: true, alt_m: 3047.6 }), "ac · 3048 m");
  assert.equal(trackLabel({ uid: "c1", air: false, alt_m: null }), "c1");
});

test("a trail is lines through its points, cut at the antimeridian", async () => {
  const { trailLines, trailSince, TRAIL_MS } = await import("../src/tracks.js");
  assert.equal(trailLines(undefined), null);
  assert.equal(trailLines([{ lon: 1, lat: 2 }]), null);
  assert.deepEqual(trailLines([{ lon: 1, lat: 2 }, { lon: 1.5, lat: 2.5 }]), [[[1, 2], [1.5, 2.5]]]);
  assert.deepEqual(trailLines([{ lon: 179.9, lat: 0 }, { lon: -179.9, lat: 0 }, { lon: -179.8, lat: 0 }]),
    [[[-179.9, 0], [-179.8, 0]]]);
  assert.deepEqual(trailLines([{ lon: 1, lat: 2 }, { lon: "x", lat: 2 }, { lon: 2, lat: 2 }]), [[[1, 2], [2, 2]]]);
  assert.equal(trailSince([]), null);
  const since = trailSince([{ time: "2018-02-07T20:00:00Z" }, { time: "2018-02-07T20:10:00Z" }]);
  assert.equal(Date.parse("2018-02-07T20:10:00Z") - Date.parse(since), TRAIL_MS);
});
