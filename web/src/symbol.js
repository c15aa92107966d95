// A declaration's own military symbol (its sidc and designation, model/symbol.py):
// checked as the server checks it, with the echelon set from the form, and drawn
// with each viewer's standard identity. Pure functions, no DOM.

import { PlanError } from "./plan.js";

const LETTER = /^[SGWIOE][A-Z*-][A-Z*-][A-Z*-][A-Z0-9*-]{6}[A-Z0-9*-]{2}[A-Z*-]{2}[A-Z*-]$/;
const NUMBER = /^\d{20}(\d{10})?$/;
export const MAX_DESIGNATION = 30;

/** 2525C character 12 (the echelon) by name. */
export const ECHELONS = {
  team: "A", squad: "B", section: "C", platoon: "D", company: "E", battalion: "F",
  regiment: "G", brigade: "H", division: "I", corps: "J", army: "K",
};

/** The code as typed, upper-cased, with the echelon chosen (2525C only); "" for none; a PlanError if it is not one. */
export function symbolCode(text, echelon = "") {
  let code = String(text ?? "").trim().toUpperCase();
  if (!code) {
    if (echelon) throw new PlanError("sidc", "an echelon needs a symbol code (e.g. SFGPUCI---------)");
    return "";
  }
  if (!LETTER.test(code) && !NUMBER.test(code)) {
    throw new PlanError("sidc", "a MIL-STD-2525 code: 15 characters (2525C, e.g. SFGPUCI----D---) or 20 or 30 digits (2525D)");
  }
  if (echelon) {
    if (!LETTER.test(code)) throw new PlanError("sidc", "the echelon is part of a 2525D code: choose none here");
    const e = ECHELONS[echelon];
    if (!e) throw new PlanError("sidc", `unknown echelon ${echelon}`);
    code = `${code.slice(0, 11)}${e}${code.slice(12)}`;
  }
  return code;
}

/**
 * The declared code drawn from the viewer's side: its standard identity
 * replaced by the viewer's (F own, N another party's, U withheld), as the
 * default symbols are (style.js).
 */
export function viewerSidc(code, aff) {
  if (LETTER.test(code)) return `${code[0]}${aff}${code.slice(2)}`;
  if (NUMBER.test(code)) {
    const identity = { F: "3", N: "4", U: "1" }[aff] ?? "1";
    return `${code.slice(0, 3)}${identity}${code.slice(4)}`;
  }
  return null;
}

export function checkDesignation(text) {
  const t = String(text ?? "").trim();
  if (t.length > MAX_DESIGNATION) throw new PlanError("designation", `at most ${MAX_DESIGNATION} characters`);
  return t;
}
