import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { activityDoc, findingsView, formatUTCInput, overdue, parseUTC, PlanError, sortInbox } from "../src/plan.js";

const scenario = JSON.parse(readFileSync(new URL("../../src/deconflict/data/euphrates-2018.json", import.meta.url)));
const check = (id) => scenario.checks.find((c) => c.id === id).activity;

test("C2 planned on the map is C2 of the scenario", () => {
  const doc = activityDoc({
    kind: "fire", label: "Air strike near the Conoco plant", target: [40.325, 35.355], radius: "500",
    start: parseUTC("2018-02-07T20:00"), end: parseUTC("2018-02-07 20:15Z"),
  });
  assert.deepEqual(doc, check("C2"));
});

test("a flight with a corridor and a band; a movement", () => {
  const c4 = check("C4");
  const doc = activityDoc({
    kind: "flight", label: c4.label, points: c4.geometry.coordinates, halfWidth: 1000, lower: 4000, upper: "5000",
    start: Date.parse(c4.window.start), end: Date.parse(c4.window.end),
  });
  assert.deepEqual(doc, c4);
  const c3 = check("C3");
  assert.deepEqual(activityDoc({
    kind: "movement", label: c3.label, points: c3.geometry.coordinates, halfWidth: 300,
    start: Date.parse(c3.window.start), end: Date.parse(c3.window.end),
  }), c3);
  const ft = activityDoc({ kind: "flight", points: [[40, 35], [40.1, 35]], halfWidth: 500, lower: 9000, upper: 10000,
    altUnit: "ft", start: 0, end: 60000 });
  assert.deepEqual(ft.altitude, { lower_ft: 9000, upper_ft: 10000 });
});

test("a fire with a firing position carries the maximum ordinate", () => {
  const doc = activityDoc({ kind: "fire", target: [40.62, 34.88], radius: 200, origin: [40.5, 34.98], maxOrdinate: 3500,
    start: 0, end: 1800000 });
  assert.deepEqual(doc.origin, { type: "Point", coordinates: [40.5, 34.98] });
  assert.deepEqual(doc.max_ordinate, { value: 3500, unit: "m", datum: "AMSL" });
});

test("what is missing is named", () => {
  const base = { kind: "fire", target: [40, 35], radius: 100, start: 0, end: 1000 };
  const field = (plan) => {
    try {
      activityDoc(plan);
    } catch (e) {
      assert.ok(e instanceof PlanError);
      return e.field;
    }
    return null;
  };
  assert.equal(field({ ...base, target: null }), "target");
  assert.equal(field({ ...base, radius: "-3" }), "radius");
  assert.equal(field({ ...base, start: null }), "start");
  assert.equal(field({ ...base, end: 0 }), "end");
  assert.equal(field({ ...base, origin: [40, 35.1] }), "maxOrdinate");
  assert.equal(field({ kind: "flight", points: [[40, 35]], halfWidth: 1, start: 0, end: 1 }), "points");
  assert.equal(field({ kind: "flight", points: [[40, 35], [41, 35]], halfWidth: 1, lower: "", upper: 2, start: 0, end: 1 }), "lower");
  assert.equal(field({ kind: "flight", points: [[40, 35], [41, 35]], halfWidth: 1, lower: 3, upper: 2, start: 0, end: 1 }), "lower");
  assert.equal(field(base), null);
});

test("UTC times typed and shown", () => {
  assert.equal(parseUTC("2018-02-07T20:00:30Z"), Date.UTC(2018, 1, 7, 20, 0, 30));
  assert.equal(parseUTC("2018-02-07 20:00 UTC"), Date.UTC(2018, 1, 7, 20, 0));
  assert.equal(parseUTC("yesterday"), null);
  assert.equal(formatUTCInput(Date.UTC(2018, 1, 7, 20, 5)), "2018-02-07T20:05");
});

test("findings worst first; what to highlight; redacted findings counted", () => {
  const view = findingsView({ verdict: "violation", findings: [
    { kind: "caution", object: { id: "S2" } },
    { kind: "conflict", object: { id: "S1" } },
    { kind: "violation", object: { id: "M1" } },
    { kind: "conflict", object: { id: "" } },
  ] });
  assert.deepEqual(view.findings.map((f) => f.kind), ["violation", "conflict", "conflict", "caution"]);
  assert.deepEqual(view.highlight, { M1: "violation", S1: "conflict", S2: "caution" });
  assert.equal(view.blocking, true);
  assert.equal(view.undisclosed, 1);
  assert.equal(findingsView({ verdict: "clear", findings: [] }).blocking, false);
});

test("the inbox: unanswered first, overdue first among them, then newest", () => {
  const now = Date.parse("2018-02-07T21:00:00Z");
  const n = (id, status, sent, deadline) => ({ id, status, sent_at: sent, deadline });
  const list = [
    n("answered", "acknowledged", "2018-02-07T20:59:00Z", "2018-02-07T20:00:00Z"),
    n("new", "delivered", "2018-02-07T20:58:00Z", "2018-02-07T21:13:00Z"),
    n("late", "delivered", "2018-02-07T20:00:00Z", "2018-02-07T20:15:00Z"),
    n("newer", "sent", "2018-02-07T20:59:30Z", "2018-02-07T21:14:30Z"),
  ];
  assert.deepEqual(sortInbox(list, now).map((x) => x.id), ["late", "newer", "new", "answered"]);
  assert.equal(overdue(list[2], now), true);
  assert.equal(overdue(list[0], now), false);
});
