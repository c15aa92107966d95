import assert from "node:assert/strict";
import { test } from "node:test";

import { checkDesignation, symbolCode, viewerSidc } from "../src/symbol.js";

test("a 2525C code is upper-cased and takes the chosen echelon at character 12", () => {
  assert.equal(symbolCode("sfgpuci--------"), "SFGPUCI--------");
  assert.equal(symbolCode("SFGPUCI--------", "platoon"), "SFGPUCI----D---");
  assert.equal(symbolCode("SFGPUCI----D---", "brigade"), "SFGPUCI----H---");
  assert.equal(symbolCode("", ""), "");
});

test("what is not a code is refused, on the sidc field", () => {
  for (const bad of ["SFGPU", "XFGPUCI--------", "12345"]) {
    assert.throws(() => symbolCode(bad), (e) => e.field === "sidc");
  }
  assert.throws(() => symbolCode("", "platoon"), (e) => e.field === "sidc");
  assert.throws(() => symbolCode("10031000141211000000", "platoon"), /2525D/);
});

test("each viewer sees the symbol with its own standard identity", () => {
  assert.equal(viewerSidc("SHGPUCI----D---", "F"), "SFGPUCI----D---");
  assert.equal(viewerSidc("SFGPUCI----D---", "N"), "SNGPUCI----D---");
  assert.equal(viewerSidc("10061000141211000000", "F"), "10031000141211000000");
  assert.equal(viewerSidc("nonsense", "F"), null);
});

test("a designation is short", () => {
  assert.equal(checkDesignation(" 2-22 INF "), "2-22 INF");
  assert.throws(() => checkDesignation("x".repeat(31)), (e) => e.field === "designation");
});
