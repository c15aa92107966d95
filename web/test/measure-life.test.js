import assert from "node:assert/strict";
import { test } from "node:test";

import { declineHTML, historyLines, inForceHTML, proposalHTML } from "../src/measure-life.js";

const HISTORY = [
  { event: "agreement.proposed", actor: "coalition", at: "2018-02-07T19:50:00Z", reference: "DC-000050", version: 1 },
  { event: "agreement.declined", actor: "russia", party: "russia", at: "2018-02-07T19:55:00Z", reference: "DC-000051", version: 1, comment: "Too wide" },
  { event: "agreement.proposed", actor: "coalition", at: "2018-02-07T20:00:00Z", reference: "DC-000053", version: 2 },
  { event: "agreement.accepted", actor: "russia", party: "russia", at: "2018-02-07T20:05:00Z", reference: "DC-000054", version: 2 },
  { event: "agreement.in_force", actor: "coalition", at: "2018-02-07T20:05:00Z", reference: "DC-000055", version: 2, completed_by: "russia" },
];

test("the agreement history, step by step, with references and comments", () => {
  assert.deepEqual(historyLines(HISTORY), [
    "2018-02-07 19:50Z · v1 proposed by coalition (DC-000050)",
    "2018-02-07 19:55Z · v1 declined by russia (DC-000051): “Too wide”",
    "2018-02-07 20:00Z · v2 proposed by coalition (DC-000053)",
    "2018-02-07 20:05Z · v2 accepted by russia (DC-000054)",
    "2018-02-07 20:05Z · v2 in force by coalition, agreement completed by russia (DC-000055)",
  ]);
  assert.deepEqual(historyLines(undefined), []);
});

test("measures in force list who agreed; only the owner may withdraw; comments escaped", () => {
  const m = { id: "X1", kind: "no_fire_area", owner: "coalition", label: "Village <north>" };
  const agreements = { X1: { version: 2, in_force_since: "2018-02-07T20:05:00Z", put_in_force_by: "coalition", accepted_by: ["russia"], history: HISTORY } };
  const mine = inForceHTML([m], agreements, "coalition");
  assert.match(mine, /version 2 · in force since 2018-02-07 20:05Z · put in force by coalition · accepted by russia/);
  assert.match(mine, /Agreement history \(5\)/);
  assert.match(mine, /class="withdraw danger"/);
  assert.match(mine, /&lt;north&gt;/);
  assert.doesNotMatch(inForceHTML([m], agreements, "russia"), /withdraw/);
  assert.match(inForceHTML([], {}, "russia"), /No measure is in force/);
  assert.match(declineHTML("X1", 2), /data-version="2">Decline version 2</);
});

test("a withdrawal's stage survives the list being redrawn", () => {
  // The list is redrawn by every picture reload; a confirmation kept in the button was
  // lost, and the second press only asked again (the measure was never withdrawn).
  const m = { id: "X1", kind: "no_fire_area", owner: "coalition", label: "Village" };
  assert.match(inForceHTML([m], {}, "coalition", { what: "measure", id: "X1", stage: "confirm" }),
    /data-confirm="yes">Withdraw: press again to confirm</);
  assert.match(inForceHTML([m], {}, "coalition", { what: "measure", id: "X1", stage: "sending" }), /disabled>Withdrawing/);
  assert.match(inForceHTML([m], {}, "coalition", { what: "measure", id: "X1", stage: "failed", error: "gone <now>" }),
    /role="alert">gone &lt;now&gt;</);
  assert.doesNotMatch(inForceHTML([m], {}, "coalition", { what: "measure", id: "X2", stage: "confirm" }), /confirm/);
});

test("a proposal offers Accept and Decline only to a bound party, and only live", () => {
  const p = {
    version: 2, proposed_by: "coalition", bound: ["russia", "regime"], accepted_by: ["regime"],
    measure: { id: "M9", kind: "no_fire_area", label: "Hospital <NFA>", window: { start: "2018-02-07T20:00:00Z", end: "2018-02-08T20:00:00Z" } },
  };
  const mine = proposalHTML(p, true, true);
  assert.match(mine, /class="mine-to-accept"/);
  assert.match(mine, /Accept version 2/);
  assert.match(mine, /decline-row/);
  assert.match(mine, /bound: russia, regime · accepted by: regime/);
  assert.match(mine, /2018-02-07 20:00Z – 2018-02-08 20:00Z/);
  assert.doesNotMatch(mine, /<NFA>/);
  assert.doesNotMatch(proposalHTML(p, true, false), /Accept version/);
  const theirs = proposalHTML(p, false, true);
  assert.doesNotMatch(theirs, /Accept version|decline-row|mine-to-accept/);
  assert.match(theirs, /class="show" data-id="M9"/);
});
