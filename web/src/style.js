// How objects look: a colour-blind-safe palette (Okabe & Ito), with a dash
// pattern and a text label for every party so that nothing is told by colour
// alone; and the MIL-STD-2525C / APP-6 symbol identification codes (SIDC)
// that milsymbol draws.

import { viewerSidc } from "./symbol.js";

export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];
export const DASHES = ["", "10 4", "2 4", "12 4 2 4", "6 6", "14 4 2 4 2 4", "1 3", "20 6"];

/** {party: {colour, dash, index}} in a stable order (by party id). */
export function partyStyles(parties) {
  const ids = [...new Set(parties.map((p) => (typeof p === "string" ? p : p.id)))].sort();
  const out = {};
  ids.forEach((id, i) => {
    out[id] = { colour: PALETTE[i % PALETTE.length], dash: DASHES[i % DASHES.length], index: i };
  });
  return out;
}

/**
 * Standard identity from the viewer's side: its own party is a friend; every
 * other party shares the battlespace without being declared hostile here, so
 * neutral; an owner withheld by disclosure is unknown.
 */
export function affiliation(owner, viewer) {
  if (!owner) return "U";
  return owner === viewer ? "F" : "N";
}

function sidc(scheme, aff, dimension, fn) {
  const code = `${scheme}${aff}${dimension}P${fn}`;
  return code.padEnd(15, "-");
}

/**
 * The 2525C SIDC for a declaration, or null for what is drawn with another
 * emblem (a protected site). The owner's declared code when there is one;
 * else sites of forces are ground units, movements ground units, flights military fixed-wing
 * aircraft, a fire's firing position field artillery.
 */
export function sidcFor(decl, viewer, role = "anchor") {
  const aff = affiliation(decl.owner, viewer);
  // A symbol the owner declared (sidc), drawn with this viewer's identity; a protected
  // site keeps its emblem and a fire's target its mark whatever the code.
  const own = decl.sidc && !(decl.kind === "site" && decl.category === "protected") && (decl.kind !== "fire" || role === "origin")
    ? viewerSidc(decl.sidc, aff) : null;
  if (own) return own;
  switch (decl.kind) {
    case "site": {
      if (decl.category === "protected") return null;
      return sidc("S", aff, "G", "U");
    }
    case "movement":
      return sidc("S", aff, "G", "U");
    case "flight":
      return sidc("S", aff, "A", "MF");
    case "fire":
      return role === "origin" ? sidc("S", aff, "G", "UCF") : null;
    default:
      return null;
  }
}

export const VERDICT_TEXT = {
  clear: { icon: "✓", text: "Clear" },
  caution: { icon: "!", text: "Caution" },
  coordination_required: { icon: "⇄", text: "Coordination required" },
  conflict: { icon: "✕", text: "Conflict" },
  violation: { icon: "✖", text: "Violation" },
};
