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
  // "SDF headquarters" declares no code: a unit frame; an HQ is declared, not guessed from the label.
  assert.equal(sidcFor(scenario.declarations.find((d) => d.id === "S1"), "coalition"), "SFGPU----------");
  assert.equal(sidcFor({ ...scenario.declarations.find((d) => d.id === "S1"), sidc: "SHGPU-----A----" }, "coalition"), "SFGPU-----A----");
});

import { sidcFor as sidcOf } from "../src/style.js";

test("a declared symbol is drawn with the viewer's identity; without one, the kind's frame, never guessed from the label", () => {
  const hq = { kind: "site", category: "forces", owner: "sdf", label: "SDF headquarters", sidc: "SHGPUH----AF---" };
  assert.equal(sidcOf(hq, "sdf"), "SFGPUH----AF---");
  assert.equal(sidcOf(hq, "russia"), "SNGPUH----AF---");
  assert.equal(sidcOf({ ...hq, sidc: undefined }, "sdf"), "SFGPU----------");
  assert.equal(sidcOf({ ...hq, category: "protected" }, "sdf"), null);
  const fire = { kind: "fire", owner: "russia", sidc: "SHGPUCFRMS-----" };
  assert.equal(sidcOf(fire, "russia", "target"), null);
  assert.equal(sidcOf(fire, "russia", "origin"), "SFGPUCFRMS-----");
  for (const code of [sidcOf(hq, "sdf"), sidcOf(fire, "russia", "origin")]) assert.ok(new ms.Symbol(code, { size: 30 }).isValid(), code);
});
