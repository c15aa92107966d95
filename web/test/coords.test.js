import assert from "node:assert/strict";
import { test } from "node:test";

import * as mgrs from "../node_modules/mgrs/dist/mgrs.esm.js";
import { formatDMS, formatLatLon, formatMGRS, looksLikeMGRS, parsePosition } from "../src/coords.js";

const near = (p, q, eps = 1e-4) => assert.ok(Math.abs(p[0] - q[0]) < eps && Math.abs(p[1] - q[1]) < eps, `${p} != ${q}`);

test("lat, lon in every way staff type it", () => {
  const want = [40.325, 35.355];
  near(parsePosition("35.355, 40.325"), want);
  near(parsePosition("35.355 40.325"), want);
  near(parsePosition("35.355N 40.325E"), want);
  near(parsePosition("N35.355, E40.325"), want);
  near(parsePosition("40.325E, 35.355N"), want);
  near(parsePosition("35°21'18\"N 40°19'30\"E"), want);
  near(parsePosition("35 21 18 N, 40 19 30 E"), want);
  near(parsePosition("-35.355, -40.325"), [-40.325, -35.355]);
  near(parsePosition("35.355S 40.325W"), [-40.325, -35.355]);
});

test("bad positions are refused with a reason", () => {
  assert.throws(() => parsePosition(""), /enter a position/);
  assert.throws(() => parsePosition("95, 40"), /latitude/);
  assert.throws(() => parsePosition("35, 190"), /longitude/);
  assert.throws(() => parsePosition("35N, 40N"), /one latitude/);
  assert.throws(() => parsePosition("hello"), /lat, lon/);
  assert.throws(() => parsePosition("35 61 00N, 40E"), /could not read/);
  assert.throws(() => parsePosition("37SFV 2038 132", mgrs), /as many easting/);
});

test("MGRS both ways, with the mgrs library (C2's target)", () => {
  assert.ok(looksLikeMGRS("37SFV 20387 13217"));
  assert.ok(!looksLikeMGRS("35.355, 40.325"));
  assert.equal(formatMGRS(mgrs, [40.325, 35.355]), "37SFV 20387 13217");
  near(parsePosition("37SFV 20387 13217", mgrs), [40.325, 35.355]);
  near(parsePosition("37sfv2038713217", mgrs), [40.325, 35.355]);
  assert.equal(formatMGRS(mgrs, [40.325, 35.355], 3), "37SFV 203 132");
  assert.equal(formatMGRS(mgrs, [0, 85]), "");
});

test("display formats", () => {
  assert.equal(formatLatLon([40.325, 35.355]), "35.35500° N 40.32500° E");
  assert.equal(formatLatLon([-0.5, -1.25], 2), "1.25° S 0.50° W");
  assert.equal(formatDMS([40.325, 35.355]), "35°21'18.0\"N 40°19'30.0\"E");
});
