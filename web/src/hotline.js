// The hotline on the map: references read out on a radio, with whom an activity
// is shared, who will be told on submit (a dry run tells nobody), each party's
// answer to an activity ("coalition 14:02, russia pending (overdue 2 h)"), what
// is overdue, and an accepted activity's current findings. Pure functions over
// the API's documents (docs/api.md); fields a server does not send yet are
// simply not shown.

import { overdue } from "./plan.js";

const ANSWERED = new Set(["acknowledged", "objected"]);

function hhmm(iso) {
  const t = Date.parse(iso ?? "");
  return Number.isNaN(t) ? "" : new Date(t).toISOString().slice(11, 16);
}

/** "2 h", "45 min", "3 d": how long something has been overdue. */
export function lateBy(ms) {
  const min = Math.max(0, Math.floor(ms / 60000));
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

/** The short reference of an activity, notification or answer ("DC-000123"), or "". */
export function referenceOf(obj) {
  return String(obj?.reference ?? obj?.ref ?? "");
}

/** "id · DC-000123" where a reference exists. */
export function withReference(id, obj) {
  const ref = referenceOf(obj);
  return ref && ref !== id ? `${id} · ${ref}` : String(id ?? "");
}

/** With whom a declaration is shared, for a result or the details panel. */
export function shareText(shareWith, owner = "") {
  if (shareWith === undefined || shareWith === null || shareWith === "all") return "all parties";
  const others = [...shareWith].filter((p) => p !== owner);
  return others.length ? `${others.join(", ")} only` : `nobody but ${owner || "its owner"}`;
}

/**
 * The parties a submit would notify, from a dry-run check: the server's list
 * when it gives one (`will_notify`), else the owners of what the findings touch
 * (other than the caller). Never who *has been* told: a check tells nobody.
 */
export function willNotify(result, me = "") {
  if (Array.isArray(result?.will_notify)) return [...new Set(result.will_notify)].filter((p) => p !== me).sort();
  const owners = new Set();
  for (const f of result?.findings ?? []) {
    const o = f.object?.owner ?? f.owner;
    if (o && o !== me) owners.add(o);
  }
  return [...owners].sort();
}

/** The sentence under a dry-run result. */
export function willNotifyText(result, me = "") {
  const parties = willNotify(result, me);
  const nobody = "Nothing has been sent: this was a check.";
  if (!parties.length) return `${nobody} On submit, no party would be notified.`;
  return `${nobody} On submit, ${parties.join(", ")} will be notified.`;
}

/** The sentence after a submit: whom the server says it notified. */
export function notifiedText(out) {
  const parties = out?.notified ?? [];
  const names = parties.map((p) => (typeof p === "string" ? p : p.party)).filter(Boolean);
  return names.length ? `Notified: ${names.join(", ")}.` : "No party notified.";
}

/**
 * The answers to an activity from the originator's side, one per recipient
 * party: `{party, state: "acknowledged" | "objected" | "pending", at, reference,
 * comment, overdueMs, text}`. Accepts `acknowledgements`, `recipients` or
 * `answers` on the declaration (whichever the server sends).
 */
export function answersOf(decl, now = Date.now()) {
  const list = [decl?.recipients, decl?.answers, decl?.acknowledgements].find((l) => Array.isArray(l) && l.length) ?? [];
  return list.filter((r) => r && typeof r === "object" && r.party).map((r) => {
    // The last notification to the party decides (GET /v1/activities/{id}: recipients[].notifications).
    const last = r.notifications?.length ? r.notifications[r.notifications.length - 1] : r;
    const status = r.status ?? r.state ?? last.status ?? "sent";
    const answered = ANSWERED.has(status);
    const at = answered ? (r.answered_at ?? r[`${status}_at`] ?? last.answered_at ?? r.at) : (last.delivered_at ?? last.sent_at);
    const deadline = r.deadline ?? last.deadline;
    const late = !answered && overdue({ status, deadline, overdue: r.overdue ?? last.overdue }, now);
    const d = Date.parse(deadline ?? "");
    const given = last.overdue_s ?? r.overdue_s;
    const overdueMs = late ? (Number.isNaN(d) ? (given ?? 0) * 1000 : Math.max(now - d, (given ?? 0) * 1000)) : 0;
    let text;
    if (status === "acknowledged") text = `${r.party} ${hhmm(at)}`;
    else if (status === "objected") {
      const comment = r.comment ?? last.comment;
      text = `${r.party} objected ${hhmm(at)}${comment ? `: “${comment}”` : ""}`;
    }
    else text = `${r.party} pending${late ? ` (overdue ${lateBy(overdueMs)})` : ""}`;
    return {
      party: r.party, state: answered ? status : "pending", at: at ?? null, reference: referenceOf(r),
      comment: r.comment ?? last.comment ?? "", overdueMs, text: text.replace(/ $/, ""),
    };
  }).sort((a, b) => String(a.party).localeCompare(String(b.party)));
}

/** "coalition 14:02, russia pending (overdue 2 h)", or "" when nobody was asked. */
export function answersSummary(decl, now = Date.now()) {
  return answersOf(decl, now).map((a) => a.text).join(", ");
}

/** Unanswered notifications past their deadline: the inbox tab's overdue count. */
export function overdueCount(notifications, now = Date.now()) {
  return (notifications ?? []).filter((n) => overdue(n, now)).length;
}

/** The ids of declarations with an overdue answer (the originator's view) or an overdue notification about them. */
export function overdueSubjects(declarations, notifications, now = Date.now()) {
  const ids = new Set();
  for (const n of notifications ?? []) if (overdue(n, now) && n.subject) ids.add(n.subject);
  for (const d of declarations ?? []) if (answersOf(d, now).some((a) => a.state === "pending" && a.text.includes("overdue"))) ids.add(d.id);
  return ids;
}

/** An accepted activity's current findings (as re-checked by the server), if it sends them. */
export function currentFindings(decl) {
  return decl?.current?.findings ?? decl?.current_findings ?? decl?.findings ?? null;
}

/**
 * A declaration with what GET /v1/activities/{id} adds (the originator's view:
 * reference, sharing, current findings, each recipient's answers), merged in.
 */
export function mergeActivity(decl, view) {
  if (!view || typeof view !== "object") return decl;
  const base = view.declaration && typeof view.declaration === "object" ? view.declaration : {};
  const out = { ...decl, ...base };
  for (const key of ["reference", "current", "recipients", "open_objections", "at_submit"]) {
    if (view[key] !== undefined) out[key] = view[key];
  }
  return out;
}

/** What a submit's answer says beyond "accepted": a presence's conflicts are warnings, their owners must answer. */
export function warningsText(out) {
  const n = out?.warnings?.length ?? 0;
  if (!n) return "";
  return `Declared despite ${n} conflict${n === 1 ? "" : "s"} (a site or protected movement is never refused): `
    + "their owners are notified as urgent and must answer.";
}

/** One line per current finding: "violation of M1 (fire_in_nfa)". */
export function findingsLines(findings) {
  return (findings ?? []).map((f) => {
    const o = f.object ?? {};
    const what = o.id ? `${o.id}${o.owner ? ` (${o.owner})` : ""}` : `an undisclosed declaration of ${o.owner ?? f.owner ?? "another party"}`;
    return `${String(f.kind ?? "").replaceAll("_", " ")}: ${what}${f.rule ? ` — ${f.rule}` : ""}`;
  });
}
