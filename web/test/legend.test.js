import assert from "node:assert/strict";
import { test } from "node:test";

import { FACILITY_NAMES } from "../src/facility.js";
import { legendHTML } from "../src/legend.js";
import { partyStyles } from "../src/style.js";

const parties = [{ id: "sdf", name: "Syrian Democratic Forces" }, { id: "russia", name: "Russian Federation" }];

test("the legend names every party with its colour and dash, the viewer as friend", () => {
  const html = legendHTML({ styles: partyStyles(parties), parties, me: "sdf", symbolSVG: null });
  assert.match(html, /<b>sdf<\/b> — Syrian Democratic Forces \(you: friend\)/);
  assert.match(html, /<b>russia<\/b> — Russian Federation<\/span>/);
  const { sdf } = partyStyles(parties);
  assert.ok(html.includes(`stroke="${sdf.colour}" stroke-width="4" stroke-dasharray="${sdf.dash}"`));
});

test("the legend explains the measures' hatches, each facility, findings and the base layers", () => {
  const html = legendHTML({ styles: {}, parties: [], me: null, symbolSVG: null });
  for (const text of ["No-fire area (hatched)", "Restricted operations zone", "Separation between the closest points",
    "Populated place", "River and lake", ...Object.values(FACILITY_NAMES)]) {
    assert.ok(html.includes(text), text);
  }
  // The hatches a swatch fills with are defined beside it.
  for (const id of ["hatch-nfa", "hatch-rfa", "dots-roz", "hatch-ac"]) assert.ok(html.includes(`<pattern id="${id}"`), id);
  // Without milsymbol there are no symbol swatches; with it, the unit's and the track's.
  assert.ok(!html.includes("echelon and designation"));
  const drawn = [];
  const withSymbols = legendHTML({ styles: {}, parties: [], me: null, symbolSVG: (sidc) => { drawn.push(sidc); return `<svg data-sidc="${sidc}"/>`; } });
  assert.deepEqual(drawn, ["SFGPUCI----E---", "SFAP-----------"]);
  assert.ok(withSymbols.includes("echelon and designation") && withSymbols.includes('data-sidc="SFAP-----------"'));
});

test("party names are escaped", () => {
  const html = legendHTML({ styles: partyStyles(["x"]), parties: [{ id: "x", name: "<b>X</b>" }], me: null, symbolSVG: null });
  assert.ok(html.includes("&lt;b&gt;X&lt;/b&gt;"));
});
