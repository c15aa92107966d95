import assert from "node:assert/strict";
import { test } from "node:test";

import { FACILITY_CODES, FACILITY_NAMES, FACILITY_TYPES, facilitySymbol } from "../src/facility.js";
import {
  answersOf, answersSummary, currentFindings, findingsLines, lateBy, mergeActivity, notifiedText, overdueCount, overdueSubjects, referenceOf,
  shareText, warningsText, willNotify, willNotifyText, withReference,
} from "../src/hotline.js";

const NOW = Date.parse("2018-02-07T16:05:00Z");

test("each party's answer, with its time; pending and overdue", () => {
  const decl = { id: "S9", acknowledgements: [
    { party: "russia", status: "delivered", sent_at: "2018-02-07T13:55:00Z", deadline: "2018-02-07T14:05:00Z", reference: "DC-000125" },
    { party: "coalition", status: "acknowledged", answered_at: "2018-02-07T14:02:10Z", reference: "DC-000124" },
  ] };
  assert.equal(answersSummary(decl, NOW), "coalition 14:02, russia pending (overdue 2 h)");
  const [c, r] = answersOf(decl, NOW);
  assert.equal(c.reference, "DC-000124");
  assert.equal(r.state, "pending");
  assert.equal(r.overdueMs, 2 * 3600000);
  const objected = { recipients: [{ party: "sdf", status: "objected", objected_at: "2018-02-07T14:30:00Z", comment: "Our patrol" }] };
  assert.equal(answersSummary(objected, NOW), "sdf objected 14:30: “Our patrol”");
  assert.equal(answersSummary({ answers: [{ party: "regime", status: "sent", deadline: "2018-02-07T17:00:00Z" }] }, NOW), "regime pending");
  assert.equal(answersSummary({}, NOW), "");
});

test("how long overdue reads", () => {
  assert.equal(lateBy(59 * 60000), "59 min");
  assert.equal(lateBy(2 * 3600000 + 1), "2 h");
  assert.equal(lateBy(3 * 86400000), "3 d");
  assert.equal(lateBy(-5), "0 min");
});

test("the overdue count and what is overdue", () => {
  const notes = [
    { id: "n1", status: "delivered", deadline: "2018-02-07T16:00:00Z", subject: "F7" },
    { id: "n2", status: "acknowledged", deadline: "2018-02-07T15:00:00Z", subject: "F8" },
    { id: "n3", status: "sent", deadline: "2018-02-07T17:00:00Z", subject: "F9" },
    { id: "n4", status: "sent", overdue: true, subject: "F10" },
  ];
  assert.equal(overdueCount(notes, NOW), 2);
  const decls = [{ id: "S9", acknowledgements: [{ party: "russia", status: "sent", deadline: "2018-02-07T16:00:00Z" }] },
    { id: "S10", acknowledgements: [{ party: "russia", status: "acknowledged", answered_at: "2018-02-07T15:00:00Z" }] }];
  assert.deepEqual([...overdueSubjects(decls, notes, NOW)].sort(), ["F10", "F7", "S9"]);
});

test("a dry run says who WILL be notified and never that anyone was told", () => {
  const result = { verdict: "violation", findings: [
    { kind: "violation", object: { id: "M1", owner: "coalition" } },
    { kind: "conflict", object: { id: "", owner: "sdf" } },
    { kind: "caution", object: { id: "S3", owner: "russia" } },
  ] };
  assert.deepEqual(willNotify(result, "russia"), ["coalition", "sdf"]);
  assert.deepEqual(willNotify({ ...result, will_notify: ["relief", "coalition", "russia"] }, "russia"), ["coalition", "relief"]);
  const text = willNotifyText(result, "russia");
  assert.match(text, /will be notified/);
  assert.match(text, /Nothing has been sent/);
  assert.doesNotMatch(text, /\b(notified:|has been told|have been notified|was notified)/i);
  assert.match(willNotifyText({ verdict: "clear", findings: [] }, "russia"), /no party would be notified/);
  assert.equal(notifiedText({ notified: ["coalition", { party: "sdf" }] }), "Notified: coalition, sdf.");
  assert.equal(notifiedText({}), "No party notified.");
});

test("references and sharing as shown", () => {
  assert.equal(referenceOf({ reference: "DC-000123" }), "DC-000123");
  assert.equal(referenceOf({}), "");
  assert.equal(withReference("F7", { reference: "DC-000123" }), "F7 · DC-000123");
  assert.equal(withReference("F7", {}), "F7");
  assert.equal(shareText("all"), "all parties");
  assert.equal(shareText(["coalition", "russia"], "russia"), "coalition only");
  assert.equal(shareText([], "relief"), "nobody but relief");
});

test("current findings of an accepted activity", () => {
  assert.equal(currentFindings({}), null);
  const f = [{ kind: "violation", rule: "fire_in_nfa", object: { id: "X1", owner: "coalition" } }, { kind: "conflict", owner: "sdf", object: { id: "" } }];
  assert.deepEqual(currentFindings({ current_findings: f }), f);
  assert.deepEqual(findingsLines(f), ["violation: X1 (coalition) — fire_in_nfa", "conflict: an undisclosed declaration of sdf"]);
});

test("eight facility types, each with its own symbol and code, none a military frame", () => {
  assert.equal(FACILITY_TYPES.length, 8);
  const symbols = new Set(FACILITY_TYPES.map(facilitySymbol));
  assert.equal(symbols.size, 8);
  assert.equal(new Set(Object.values(FACILITY_CODES)).size, 8);
  for (const t of FACILITY_TYPES) {
    assert.ok(FACILITY_NAMES[t]);
    const s = facilitySymbol(t);
    assert.match(s, /class="shield"/);
    assert.doesNotMatch(s, /https?:/); // offline: nothing fetched
  }
});

test("the originator's view as GET /v1/activities/{id} gives it", () => {
  const view = {
    id: "S9", reference: "DC-000031", declaration: { id: "S9", kind: "site", owner: "relief" }, owner: "relief",
    current: { verdict: "conflict", findings: [{ kind: "conflict", rule: "site_in_effects", object: { id: "F7", owner: "russia" } }] },
    recipients: [
      { party: "coalition", status: "acknowledged", answered_at: "2018-02-07T14:02:00Z", overdue: false, reference: "DC-000033",
        notifications: [{ status: "acknowledged", deadline: "2018-02-07T14:10:00Z", answered_at: "2018-02-07T14:02:00Z" }] },
      { party: "russia", status: "delivered", answered_at: null, overdue: true, reference: "DC-000032",
        notifications: [{ status: "delivered", sent_at: "2018-02-07T13:50:00Z", deadline: "2018-02-07T14:05:00Z", overdue: true, overdue_s: 7200 }] },
    ],
    acknowledgements: ["coalition acknowledged 14:02Z (DC-000033)", "russia pending (overdue 2 h 0 min)"],
  };
  const merged = mergeActivity({ id: "S9", label: "Clinic" }, view);
  assert.equal(merged.label, "Clinic");
  assert.equal(merged.reference, "DC-000031");
  assert.equal(answersSummary(merged, NOW), "coalition 14:02, russia pending (overdue 2 h)");
  assert.deepEqual(currentFindings(merged).map((f) => f.object.id), ["F7"]);
  // Summaries given as strings alone are not mistaken for answers.
  assert.equal(answersSummary({ acknowledgements: ["coalition acknowledged"] }, NOW), "");
  assert.equal(mergeActivity({ id: "x" }, null).id, "x");
  assert.match(warningsText({ warnings: [{}, {}] }), /2 conflicts.*never refused.*urgent/);
  assert.equal(warningsText({ warnings: [] }), "");
});
