import assert from "node:assert/strict";
import { test } from "node:test";

import {
  answersHTML, currentFindingsHTML, facilityOptionsHTML, inboxItemHTML, noticeBadges, noticeContext, referenceBadge,
  shareChooserHTML,
} from "../src/hotline-view.js";

const NOW = Date.parse("2018-02-07T16:05:00Z");

test("the answers list marks each state and escapes comments", () => {
  const html = answersHTML({ acknowledgements: [
    { party: "coalition", status: "acknowledged", answered_at: "2018-02-07T14:02:00Z", reference: "DC-000124" },
    { party: "russia", status: "sent", deadline: "2018-02-07T14:05:00Z" },
    { party: "sdf", status: "objected", answered_at: "2018-02-07T15:00:00Z", comment: "<b>no</b>" },
  ] }, NOW);
  assert.match(html, /data-party="coalition" data-state="acknowledged">coalition 14:02 <code class="ref">DC-000124<\/code>/);
  assert.match(html, /class="answer overdue" data-party="russia" data-state="pending">russia pending \(overdue 2 h\)/);
  assert.match(html, /&lt;b&gt;no&lt;\/b&gt;/);
  assert.equal(answersHTML({}, NOW), "");
});

test("the share chooser leaves out the caller and ticks the chosen", () => {
  const parties = [{ id: "coalition" }, { id: "russia" }, { id: "sdf" }];
  const html = shareChooserHTML(parties, "russia", ["sdf"]);
  assert.doesNotMatch(html, /value="russia"/);
  assert.match(html, /value="sdf" checked/);
  assert.match(html, /value="coalition">/);
});

test("facility options, current findings, reference badges", () => {
  const opts = facilityOptionsHTML("school");
  assert.equal((opts.match(/<option/g) ?? []).length, 9);
  assert.match(opts, /value="school" selected>School/);
  assert.match(opts, /value="forces">Position of forces/);
  assert.equal(currentFindingsHTML(null), "");
  assert.match(currentFindingsHTML([]), /None/);
  assert.match(currentFindingsHTML([{ kind: "violation", rule: "fire_in_nfa", object: { id: "X1", owner: "coalition" } }]),
    /<li class="finding violation">violation: X1 \(coalition\) — fire_in_nfa<\/li>/);
  assert.equal(referenceBadge({ reference: "DC-000001" }), '<code class="ref">DC-000001</code>');
  assert.equal(referenceBadge({}), "");
});

test("a notification's badges and context: urgent, open objection, reference, reason, comment", () => {
  const n = { id: "n1", kind: "override", subject: "F7", urgent: true, status: "delivered", needs_answer: true,
    objection: null, detail: { about: { reference: "DC-000041" }, override_reason: "Coordinated <by phone>" } };
  const badges = noticeBadges(n, true);
  assert.match(badges, /URGENT/);
  assert.match(badges, /overdue/);
  const ctx = noticeContext(n);
  assert.match(ctx, /about F7 \(DC-000041\)/);
  assert.match(ctx, /Reason given: Coordinated &lt;by phone&gt;/);
  const answer = { kind: "answer", subject: "F7", from_party: "coalition", needs_answer: true, status: "sent",
    objection: null, detail: { comment: "Advisers at S1", in_reply_to_reference: "DC-000042", by: { party: "coalition" } } };
  assert.match(noticeContext(answer), /in reply to DC-000042/);
  assert.match(noticeContext(answer), /coalition: Advisers at S1/);
  assert.match(noticeBadges({ objection: { open: true } }, false), /objection open/);
  assert.match(noticeBadges({ objection: { open: false, resolved: "withdrawn" } }, false), /objection withdrawn/);
  assert.match(noticeBadges({ needs_answer: false, status: "delivered" }, false), /for information/);
});

test("an inbox item offers an answer to a role that may give one, and shows one given", () => {
  const n = {
    id: "n1", kind: "conflict_notice", status: "delivered", summary: "F7 <hits> S1", from_party: "russia",
    sent_at: "2018-02-07T20:00:00Z", deadline: "2018-02-07T20:15:00Z", reference: "DC-000007",
    detail: { activity: { id: "F7" }, findings: [{ kind: "conflict", object: { id: "S1" }, rule: "fire-effects-on-site" }] },
  };
  const open = inboxItemHTML(n, true, true);
  assert.match(open, /class="note-item overdue"/);
  assert.match(open, /F7 &lt;hits&gt; S1/);
  assert.match(open, /answer by 2018-02-07 20:15Z/);
  assert.match(open, /<button type="button" class="ack" data-id="n1">Acknowledge/);
  assert.match(open, /<code>fire-effects-on-site<\/code>/);
  assert.match(open, /class="show-activity"/);
  assert.match(inboxItemHTML(n, false, false), /class="ack" data-id="n1" disabled>/);
  const answered = inboxItemHTML({ ...n, status: "objected", answered_by: "coalition", answered_at: "2018-02-07T20:03:00Z",
    comment: "advisers \"there\"" }, false, true);
  assert.match(answered, /note-item answered/);
  assert.match(answered, /objected by coalition at 2018-02-07 20:03Z: “advisers &quot;there&quot;”/);
  assert.doesNotMatch(answered, /textarea/);
});

test("the details of a selected object: its rows, and Withdraw at its stage", async () => {
  const { detailRows, detailsWithdrawHTML } = await import("../src/details.js");
  const mgrs = { forward: () => "37SFV2038713217" };
  const site = { id: "S1", kind: "site", category: "forces", owner: "coalition", protection_m: 1500,
    geometry: { type: "Point", coordinates: [40.32, 35.36] }, share_with: "all",
    window: { start: "2018-02-01T00:00:00Z", end: "2018-03-01T00:00:00Z" } };
  const rows = Object.fromEntries(detailRows(site, { ...site, reference: "DC-000001" }, [40.32, 35.36], mgrs));
  assert.equal(rows.Reference, "DC-000001");
  assert.equal(rows.Owner, "coalition");
  assert.equal(rows.Window, "2018-02-01 00:00Z – 2018-03-01 00:00Z");
  assert.equal(rows.Protection, "1500 m");
  assert.ok(rows.Position && rows.MGRS !== undefined);
  assert.equal(detailRows(site, site, null, mgrs).some(([k]) => k === "Position"), false);
  assert.match(detailsWithdrawHTML(null), />Withdraw</);
  assert.match(detailsWithdrawHTML({ stage: "confirm" }), /press again to confirm/);
  assert.match(detailsWithdrawHTML({ stage: "sending" }), /disabled>Withdrawing/);
});

test("a list's object button, the time bar's spans, an object's map label", async () => {
  const { objectButtonHTML, timelineHTML } = await import("../src/details.js");
  const { objectLabel } = await import("../src/labels.js");
  const fire = { id: "russia:F7", kind: "fire", owner: "russia", label: "Strike <C2>",
    window: { start: "2018-02-07T20:00:00Z", end: "2018-02-07T20:15:00Z" } };
  const button = objectButtonHTML({ obj: fire }, "DC-000007");
  assert.match(button, /data-id="russia:F7"/);
  assert.match(button, /Strike &lt;C2&gt;/);
  assert.match(button, /of russia · DC-000007<\/small>/);
  assert.match(objectButtonHTML({ obj: fire }, null, "menuitem"), /role="menuitem"/);
  const day = Date.parse("2018-02-07T00:00:00Z");
  assert.match(timelineHTML([fire, { ...fire, id: "S", kind: "site" }], day), /^<span title="russia:F7" style="left:83\.33%;width:1\.04%"><\/span>$/);
  assert.equal(timelineHTML([fire], day + 86400000), "");
  const label = objectLabel({ obj: fire }, "DC-000007", true);
  assert.match(label, /russia/);
  assert.match(label, /!! overdue$/);
  assert.doesNotMatch(objectLabel({ obj: fire }, null, false), /overdue/);
});

test("the map's keys: arrows pan, + and - zoom, Enter, Escape and Backspace act", async () => {
  const { mapKeys, PAN_STEP } = await import("../src/keys.js");
  const calls = [];
  const keys = mapKeys({
    panBy: (x, y) => calls.push(["pan", x, y]), zoomBy: (f) => calls.push(["zoom", f]),
    place: () => calls.push(["place"]), finish: () => calls.push(["finish"]), dropPoint: () => calls.push(["drop"]),
  });
  for (const k of ["ArrowLeft", "ArrowDown", "+", "-", "Enter", "Escape", "Backspace"]) keys[k]();
  assert.deepEqual(calls, [["pan", PAN_STEP, 0], ["pan", 0, -PAN_STEP], ["zoom", 2], ["zoom", 0.5], ["place"], ["finish"], ["drop"]]);
  assert.equal(keys.q, undefined);
});
