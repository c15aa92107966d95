// HTML for the hotline's parts of the map: the share chooser, the facility
// choice, each party's answer to an activity, an accepted activity's current
// findings. Pure string builders (escaped here), wired to the page in app.js.

import { FACILITY_NAMES, FACILITY_TYPES } from "./facility.js";
import { answersOf, findingsLines, referenceOf } from "./hotline.js";

export function esc(s) {
  return String(s ?? "").replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Checkboxes for the other parties; `chosen` are ticked. */
export function shareChooserHTML(parties, me, chosen = []) {
  const on = new Set(chosen);
  return parties.filter((p) => p.id !== me).map((p) => `<label><input type="checkbox" name="share-party" value="${esc(p.id)}"`
    + `${on.has(p.id) ? " checked" : ""}> ${esc(p.id)}</label>`).join("");
}

/** The options of "What the site is": the facility types, then a site of forces. */
export function facilityOptionsHTML(selected = "hospital") {
  const opts = FACILITY_TYPES.map((t) => `<option value="${t}"${t === selected ? " selected" : ""}>${esc(FACILITY_NAMES[t])}</option>`);
  opts.push(`<option value="forces"${selected === "forces" ? " selected" : ""}>Position of forces (military symbol)</option>`);
  return opts.join("");
}

/** Each recipient party's answer to an activity, for its originator. */
export function answersHTML(decl, now = Date.now()) {
  const answers = answersOf(decl, now);
  if (!answers.length) return "";
  const items = answers.map((a) => {
    const cls = a.state === "pending" && a.overdueMs > 0 ? "overdue" : a.state;
    const ref = a.reference ? ` <code class="ref">${esc(a.reference)}</code>` : "";
    return `<li class="answer ${cls}" data-party="${esc(a.party)}" data-state="${esc(a.state)}">${esc(a.text)}${ref}</li>`;
  });
  return `<h4>Answers</h4><ul class="answers">${items.join("")}</ul>`;
}

/** An accepted activity's findings as the server re-checked them. */
export function currentFindingsHTML(findings) {
  if (findings === null || findings === undefined) return "";
  if (!findings.length) return '<h4>Current findings</h4><p class="meta current-findings">None: nothing in force touches it now.</p>';
  return `<h4>Current findings</h4><ul class="current-findings">${findingsLines(findings).map((l, i) => `<li class="finding ${esc(findings[i].kind)}">${esc(l)}</li>`).join("")}</ul>`;
}

/** "DC-000123" as a badge, or "". */
export function referenceBadge(obj) {
  const ref = referenceOf(obj);
  return ref ? `<code class="ref">${esc(ref)}</code>` : "";
}

/** The badges of a notification in the inbox, beyond its kind and answer. */
export function noticeBadges(n, late) {
  const out = [];
  if (n.urgent) out.push('<span class="badge urgent">URGENT</span>');
  if (late) out.push('<span class="badge overdue">!! overdue</span>');
  if (n.objection?.open) out.push('<span class="badge open">objection open</span>');
  else if (n.objection?.resolved) out.push(`<span class="badge">objection ${esc(n.objection.resolved)}</span>`);
  if (n.needs_answer === false && !n.status?.match(/acknowledged|objected/)) out.push('<span class="badge">for information</span>');
  return out.join("");
}

/** What a notification is about, with the activity's reference, and what was said: an override's reason, an answer's comment. */
export function noticeContext(n) {
  const about = n.detail?.about ?? {};
  const ref = about.reference ? ` (${about.reference})` : "";
  const parts = [`<p class="meta about">about ${esc(n.subject)}${esc(ref)}${n.detail?.in_reply_to_reference ? ` · in reply to ${esc(n.detail.in_reply_to_reference)}` : ""}</p>`];
  if (n.detail?.override_reason && !String(n.summary ?? "").includes(n.detail.override_reason)) parts.push(`<blockquote class="reason">Reason given: ${esc(n.detail.override_reason)}</blockquote>`);
  if (n.kind === "answer" && n.detail?.comment) parts.push(`<blockquote class="reason">${esc(n.detail.by?.party ?? n.from_party)}: ${esc(n.detail.comment)}</blockquote>`);
  return parts.join("");
}

/** When a notification's time was, to the minute ("—" when it has none). */
function when(s) {
  return s ? `${s.slice(0, 16).replace("T", " ")}Z` : "—";
}

/**
 * One notification of the inbox: its kind and state, summary, sender and deadline,
 * context and findings, and either its answer or the means to give one (a comment,
 * Acknowledge and Object; disabled for a role that may not answer).
 */
export function inboxItemHTML(n, late, canAnswer) {
  const answered = n.status === "acknowledged" || n.status === "objected";
  const findings = n.detail?.findings ?? [];
  const badges = [`<span class="badge">${esc(n.kind.replaceAll("_", " "))}</span>`];
  badges.push(noticeBadges(n, late));
  if (answered) badges.push(`<span class="badge">${n.status === "acknowledged" ? "✓" : "✕"} ${esc(n.status)}</span>`);
  const off = canAnswer ? "" : " disabled";
  const answer = answered
    ? `<p class="meta">${esc(n.status)} by ${esc(n.answered_by ?? "")} at ${when(n.answered_at)}${n.comment ? `: “${esc(n.comment)}”` : ""}</p>`
    : `<label for="c-${esc(n.id)}" class="visually-hidden">Comment</label><textarea id="c-${esc(n.id)}" class="comment" placeholder="Comment (needed to object)"${off}></textarea>
       <div class="row"><button type="button" class="ack" data-id="${esc(n.id)}"${off}>Acknowledge</button>
       <button type="button" class="object" data-id="${esc(n.id)}"${off}>Object</button></div>`;
  return `<li class="note-item${late ? " overdue" : ""}${answered ? " answered" : ""}" data-id="${esc(n.id)}" data-status="${esc(n.status)}">
    <div>${badges.join("")}</div>
    <p class="summary">${referenceBadge(n)} ${esc(n.summary)}</p>
    <p class="meta">from ${esc(n.from_party)} · sent ${when(n.sent_at)} · answer by ${when(n.deadline)}</p>
    ${noticeContext(n)}
    ${findings.length ? `<ul class="nf">${findings.map((f) => `<li>${esc(f.kind)}: ${esc(f.object?.id || "?")} <code>${esc(f.rule)}</code></li>`).join("")}</ul>` : ""}
    ${n.detail?.activity || n.detail?.measure ? `<button type="button" class="show-activity" data-id="${esc(n.id)}">Show on map</button>` : ""}
    ${answer}
    <p class="error" role="alert"></p>
  </li>`;
}
