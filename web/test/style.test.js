import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import ms from "milsymbol";

import { affiliation, DASHES, PALETTE, partyStyles, sidcFor } from "../src/style.js";

const scenario = JSON.parse(readFileSync(new URL("../../src/deconflict/data/euphrates-2018.json", import.meta.url)));

test("every party has its own colour and dash pattern, in a stable order", () => {
  const styles = partyStyles(scenario.parties);
  const ids = Object.keys(styles);
  assert.deepEqual(ids, ["coalition", "regime", "relief", "russia", "sdf"]);
  assert.equal(new Set(ids.map((id) => styles[id].colour)).size, ids.length);
  assert.equal(new Set(ids.map((id) => styles[id].dash)).size, ids.length);
  assert.ok(PALETTE.length >= 8 && DASHES.length === PALETTE.length);
});

test("standard identity from the viewer's side", () => {
  assert.equal(affiliation("russia", "russia"), "F");
  assert.equal(affiliation("coalition", "russia"), "N");
  assert.equal(affiliation("", "russia"), "U");
});

test("SIDCs are 15 characters and valid for milsymbol", () => {
  const decls = [...scenario.declarations, scenario.checks.find((c) => c.id === "C5").activity];
  let drawn = 0;
  for (const d of decls) {
    for (const role of ["anchor", "origin"]) {
      const code = sidcFor({ owner: "coalition", ...d }, "russia", role);
      if (code === null) continue;
      assert.equal(code.length, 15, code);
      const sym = new ms.Symbol(code, { size: 30 });
      assert.ok(sym.isValid(), `${d.id ?? d.kind} ${code}`);
      assert.match(sym.asSVG(), /^<svg/);
      drawn += 1;
    }
  }
  assert.ok(drawn >= 6);
  assert.equal(sidcFor(scenario.declarations.find((d) => d.id === "S2"), "relief"), null, "protected sites get their own emblem");
  assert.equal(sidcFor(scenario.declarations.find((d) => d.id === "S1"), "coalition"), "SFGPU-----A----");
});
