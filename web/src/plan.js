// Planning: the activity document a plan form describes (the API's
// declaration format, docs/scenario-format.md), the findings of a check as the
// map highlights them, and the notifications inbox order. Pure functions.

function iso(t) {
  return new Date(t).toISOString().replace(/\.000Z$/, "Z");
}

/** A UTC time typed as "2018-02-07T20:00", "2018-02-07 20:00", with or without "Z" or seconds. */
export function parseUTC(text) {
  const t = String(text ?? "").trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|UTC)?$/i.exec(t);
  if (!m) return null;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0));
  return Number.isNaN(ms) ? null : ms;
}

/** "2018-02-07T20:00" (the value of a datetime-local input, read as UTC). */
export function formatUTCInput(t) {
  return iso(t).slice(0, 16);
}

export class PlanError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

function positive(v, field, what) {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new PlanError(field, `${what} must be a positive number of metres`);
  return n;
}

/**
 * The activity document of a plan:
 * `{kind: "fire" | "flight" | "movement", label, start, end (epoch ms),
 *   target, radius, origin, maxOrdinate            (fire)
 *   points, halfWidth, lower, upper, altUnit       (flight, movement)}`.
 * Throws a PlanError naming the field that is missing or wrong.
 */
export function activityDoc(plan) {
  const doc = { kind: plan.kind };
  if (plan.label) doc.label = plan.label;
  if (plan.start === null || plan.start === undefined || Number.isNaN(plan.start)) {
    throw new PlanError("start", "give the start of the window (UTC)");
  }
  if (plan.end === null || plan.end === undefined || Number.isNaN(plan.end)) {
    throw new PlanError("end", "give the end of the window (UTC)");
  }
  if (plan.end <= plan.start) throw new PlanError("end", "the window must end after it starts");
  if (plan.kind === "fire") {
    if (!plan.target) throw new PlanError("target", "place the target on the map or type its position");
    doc.target = { type: "Point", coordinates: plan.target };
    doc.effects_radius_m = positive(plan.radius, "radius", "the effects radius");
    if (plan.origin) {
      const mo = Number(plan.maxOrdinate);
      if (!Number.isFinite(mo)) throw new PlanError("maxOrdinate", "a firing position needs the maximum ordinate");
      doc.origin = { type: "Point", coordinates: plan.origin };
      doc.max_ordinate = { value: mo, unit: plan.altUnit === "ft" ? "ft" : "m", datum: "AMSL" };
    }
  } else if (plan.kind === "flight" || plan.kind === "movement") {
    const pts = plan.points ?? [];
    if (pts.length < 2) throw new PlanError("points", "draw the route: at least two points");
    doc.geometry = { type: "LineString", coordinates: pts };
    doc.half_width_m = positive(plan.halfWidth, "halfWidth", "the half width");
    if (plan.kind === "flight") {
      const lo = Number(plan.lower);
      const hi = Number(plan.upper);
      if (plan.lower === "" || plan.lower === null || plan.lower === undefined || !Number.isFinite(lo)) {
        throw new PlanError("lower", "give the lower altitude (AMSL)");
      }
      if (plan.upper === "" || plan.upper === null || plan.upper === undefined || !Number.isFinite(hi)) {
        throw new PlanError("upper", "give the upper altitude (AMSL)");
      }
      if (lo > hi) throw new PlanError("lower", "the lower altitude is above the upper altitude");
      const u = plan.altUnit === "ft" ? "ft" : "m";
      doc.altitude = { [`lower_${u}`]: lo, [`upper_${u}`]: hi };
    }
  } else {
    throw new PlanError("kind", `cannot plan a ${plan.kind}`);
  }
  doc.window = { start: iso(plan.start), end: iso(plan.end) };
  return doc;
}

const SEVERITY = { violation: 4, conflict: 3, coordination_required: 2, caution: 1 };

/** Findings worst first; `highlight`: object id -> worst finding kind (redacted findings have no id). */
export function findingsView(result) {
  const findings = [...(result?.findings ?? [])].sort((x, y) => (SEVERITY[y.kind] ?? 0) - (SEVERITY[x.kind] ?? 0));
  const highlight = {};
  for (const f of findings) {
    const id = f.object?.id;
    if (id && !(id in highlight)) highlight[id] = f.kind;
  }
  const blocking = result ? ["violation", "conflict"].includes(result.verdict) : false;
  return { findings, highlight, blocking, undisclosed: findings.filter((f) => !f.object?.id).length };
}

/** Whether a notification is overdue at `now` (unanswered and past its deadline). */
export function overdue(n, now = Date.now()) {
  if (n.status === "acknowledged" || n.status === "objected") return false;
  const d = Date.parse(n.deadline);
  return n.overdue === true || (!Number.isNaN(d) && now >= d);
}

/** The inbox order: unanswered first, overdue first among them, then newest. */
export function sortInbox(list, now = Date.now()) {
  const answered = (n) => n.status === "acknowledged" || n.status === "objected";
  return [...list].sort((x, y) => {
    const a = [answered(x), !overdue(x, now), -Date.parse(x.sent_at ?? 0)];
    const b = [answered(y), !overdue(y, now), -Date.parse(y.sent_at ?? 0)];
    for (let i = 0; i < a.length; i += 1) {
      if (a[i] < b[i]) return -1;
      if (a[i] > b[i]) return 1;
    }
    return 0;
  });
}
