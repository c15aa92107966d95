// Measures in force with their agreement history (GET /v1/measures: `agreements`),
// and the answers a bound party or an owner gives on the map: decline a proposal
// with a comment, withdraw a measure. Pure string builders.

import { esc } from "./hotline-view.js";
import { KIND_NAMES, labelOf } from "./picture.js";
import { proposalLabel } from "./measure.js";

const STEP = {
  "agreement.proposed": "proposed",
  "agreement.accepted": "accepted",
  "agreement.declined": "declined",
  "agreement.in_force": "in force",
  "agreement.withdrawn": "proposal withdrawn",
  "measure.added": "in force",
  "measure.changed": "changed",
  "measure.withdrawn": "withdrawn",
};

function when(s) {
  return s ? `${String(s).slice(0, 16).replace("T", " ")}Z` : "—";
}

/** One line per step: "2018-02-07 20:05Z · v1 accepted by russia (DC-000051): “comment”". */
export function historyLines(history) {
  return (history ?? []).map((s) => {
    const what = STEP[s.event] ?? String(s.event ?? "").replace(/^[a-z]+\./, "").replaceAll("_", " ");
    const who = s.party ?? s.actor ?? "";
    const v = s.version ? `v${s.version} ` : "";
    const imposed = s.imposed ? " (imposed)" : "";
    const done = s.completed_by && s.completed_by !== who ? `, agreement completed by ${s.completed_by}` : "";
    const ref = s.reference ? ` (${s.reference})` : "";
    const comment = s.comment ? `: “${s.comment}”` : "";
    return `${when(s.at)} · ${v}${what}${imposed} by ${who}${done}${ref}${comment}`;
  });
}

/** The Withdraw control of a measure, in the stage the user left it: the list is
 * redrawn whenever the picture reloads (a stream event, another party's step), and
 * a confirmation pressed once must survive that, or the second press only asks again. */
function withdrawHTML(m, withdrawal) {
  const id = esc(m.id);
  const w = withdrawal?.id === m.id ? withdrawal : null;
  if (w?.stage === "confirm") {
    return `<button type="button" class="withdraw danger" data-id="${id}" data-confirm="yes">Withdraw: press again to confirm</button>`;
  }
  if (w?.stage === "sending") {
    return `<button type="button" class="withdraw danger" data-id="${id}" disabled>Withdrawing…</button>`;
  }
  return `<button type="button" class="withdraw danger" data-id="${id}">Withdraw</button>`;
}

/** The measures in force, each with its version, who put it in force, who agreed, and its history.
 * ``withdrawal`` is the one the user is withdrawing: {id, stage: "confirm" | "sending" | "failed", error}. */
export function inForceHTML(measures, agreements, me, withdrawal = null) {
  if (!measures?.length) return '<li class="note">No measure is in force.</li>';
  return measures.map((m) => {
    const a = agreements?.[m.id] ?? {};
    const lines = historyLines(a.history);
    const withdraw = me && m.owner === me ? withdrawHTML(m, withdrawal) : "";
    const error = withdrawal?.id === m.id && withdrawal.stage === "failed" ? esc(withdrawal.error ?? "") : "";
    return `<li data-id="${esc(m.id)}">
      <p class="summary">${esc(labelOf(m))}</p>
      <p class="meta">${esc(KIND_NAMES[m.kind] ?? m.kind)} of ${esc(m.owner)}${a.version ? ` · version ${a.version}` : ""}`
      + `${a.in_force_since ? ` · in force since ${esc(when(a.in_force_since))}` : ""}`
      + `${a.put_in_force_by ? ` · put in force by ${esc(a.put_in_force_by)}${a.imposed ? " (imposed)" : ""}` : ""}`
      + `${a.accepted_by?.length ? ` · accepted by ${esc(a.accepted_by.join(", "))}` : ""}</p>
      ${lines.length ? `<details class="history"><summary>Agreement history (${lines.length})</summary><ol>${lines.map((l) => `<li>${esc(l)}</li>`).join("")}</ol></details>` : ""}
      <div class="row"><button type="button" class="show" data-id="${esc(m.id)}">Show on map</button>${withdraw}</div>
      <p class="error" role="alert">${error}</p>
    </li>`;
  }).join("");
}

/** The decline control of a proposal the party is asked to accept. */
export function declineHTML(id, version) {
  return `<label for="decline-${esc(id)}" class="visually-hidden">Why decline</label>`
    + `<textarea id="decline-${esc(id)}" class="comment" rows="2" placeholder="Comment (needed to decline): the proposer receives it"></textarea>`
    + `<button type="button" class="decline" data-id="${esc(id)}" data-version="${Number(version)}">Decline version ${Number(version)}</button>`;
}

/**
 * One measure waiting for agreement: what it is, who proposed it, its window, whom it
 * binds and who accepted; with Accept and Decline when it is `mine` to accept and the
 * picture is `live` (not "as known at" a past instant).
 */
export function proposalHTML(p, mine, live) {
  const m = p.measure;
  const fmt = (s) => (s ? `${s.slice(0, 16).replace("T", " ")}Z` : "—");
  const accept = mine && live
    ? `<button type="button" class="accept primary" data-id="${esc(m.id)}" data-version="${p.version}">Accept version ${p.version}</button>` : "";
  return `<li data-id="${esc(m.id)}" data-version="${p.version}" class="${mine ? "mine-to-accept" : ""}">
    <p class="summary">${esc(proposalLabel(p))}</p>
    <p class="meta">${esc(KIND_NAMES[m.kind] ?? m.kind)} proposed by ${esc(p.proposed_by)} · ${fmt(m.window?.start)} – ${fmt(m.window?.end)}
      · bound: ${esc((p.bound ?? []).join(", "))} · accepted by: ${esc((p.accepted_by ?? []).join(", ") || "—")}</p>
    <div class="row"><button type="button" class="show" data-id="${esc(m.id)}">Show on map</button>${accept}</div>
    ${accept ? `<div class="row decline-row">${declineHTML(m.id, p.version)}</div>` : ""}
    <p class="error" role="alert"></p>
  </li>`;
}
