// Where a finding happens: the closest points between the checked activity and
// the object it touches, and the stretch of a long line near them, so the map
// highlights that part and draws the separation instead of the whole line.
// Computed on the map from the two geometries it already has, in a local flat
// frame around the activity (the errors of that frame over tens of km are far
// below a pixel at the zooms this is drawn at). The distance shown is the
// service's (the finding's separation_m); these points are for drawing only.
// Pure functions, no DOM.

const R = 6371008.8; // mean Earth radius, m
const RAD = Math.PI / 180;

function frame(origin) {
  const k = Math.cos(origin[1] * RAD);
  return {
    to: ([lon, lat]) => [(lon - origin[0]) * RAD * R * k, (lat - origin[1]) * RAD * R],
    from: ([x, y]) => [origin[0] + x / (R * k) / RAD, origin[1] + y / R / RAD],
  };
}

/** The segments of a shape ({type, coords}) in the frame; a point is a segment of length 0. */
function segments(shape, to) {
  if (shape.type === "point") {
    const p = to(shape.coords);
    return [[p, p]];
  }
  const pts = shape.coords.map(to);
  const out = [];
  for (let i = 1; i < pts.length; i += 1) out.push([pts[i - 1], pts[i]]);
  if (shape.type === "area" && pts.length > 2) out.push([pts[pts.length - 1], pts[0]]);
  return out;
}

function nearestOn(p, [a, b]) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  return [a[0] + t * dx, a[1] + t * dy];
}

function crossing([a, b], [c, d]) {
  const r = [b[0] - a[0], b[1] - a[1]];
  const s = [d[0] - c[0], d[1] - c[1]];
  const den = r[0] * s[1] - r[1] * s[0];
  if (den === 0) return null;
  const t = ((c[0] - a[0]) * s[1] - (c[1] - a[1]) * s[0]) / den;
  const u = ((c[0] - a[0]) * r[1] - (c[1] - a[1]) * r[0]) / den;
  return t >= 0 && t <= 1 && u >= 0 && u <= 1 ? [a[0] + t * r[0], a[1] + t * r[1]] : null;
}

function inside(p, ring) {
  let odd = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) odd = !odd;
  }
  return odd;
}

const dist = (p, q) => Math.hypot(p[0] - q[0], p[1] - q[1]);

/**
 * The closest points of an activity's shapes and an object's: {from} on the
 * activity, {to} on the object, {distance_m}, and which of the object's shapes
 * ({shape}) and edges ({edge}) holds {to}. Touching or inside: distance 0 at a
 * common point. null when either has no shape.
 */
export function closestPair(activity, object) {
  const first = activity.find((s) => s.coords?.length)?.coords;
  if (!first || !object.length) return null;
  const { to, from } = frame(Array.isArray(first[0]) ? first[0] : first);
  let best = null;
  const consider = (p, q, shape, edge) => {
    const d = dist(p, q);
    if (!best || d < best.d) best = { p, q, d, shape, edge };
  };
  const mine = activity.flatMap((s) => segments(s, to));
  object.forEach((shape, si) => {
    const theirs = segments(shape, to);
    theirs.forEach((seg, ei) => {
      for (const m of mine) {
        const x = crossing(m, seg);
        if (x) {
          consider(x, x, si, ei);
          continue;
        }
        consider(m[0], nearestOn(m[0], seg), si, ei);
        consider(m[1], nearestOn(m[1], seg), si, ei);
        consider(nearestOn(seg[0], m), seg[0], si, ei);
        consider(nearestOn(seg[1], m), seg[1], si, ei);
      }
    });
    if (shape.type === "area") {
      const ring = shape.coords.map(to);
      for (const m of mine) {
        if (inside(m[0], ring)) consider(m[0], m[0], si, 0);
      }
    }
  });
  if (!best) return null;
  return { from: from(best.p), to: from(best.q), distance_m: best.d, shape: best.shape, edge: best.edge };
}

/**
 * The stretch of a line ([lon, lat] points) within `half_m` along it either side
 * of the point `at` on its edge `edge` (edge i runs from point i to point i + 1).
 */
export function stretchAround(coords, edge, at, half_m) {
  if (coords.length < 2) return coords.slice();
  const { to, from } = frame(at);
  const pts = coords.map(to);
  const centre = [0, 0];
  const e = Math.max(0, Math.min(edge, pts.length - 2));
  const walk = (start, step) => {
    const out = [];
    let left = half_m;
    let prev = centre;
    for (let i = start; i >= 0 && i < pts.length; i += step) {
      const d = dist(prev, pts[i]);
      if (d >= left) {
        const t = d === 0 ? 0 : left / d;
        out.push([prev[0] + (pts[i][0] - prev[0]) * t, prev[1] + (pts[i][1] - prev[1]) * t]);
        return out;
      }
      out.push(pts[i]);
      left -= d;
      prev = pts[i];
    }
    return out;
  };
  const back = walk(e, -1).reverse();
  const ahead = walk(e + 1, 1);
  return [...back, centre, ...ahead].map(from);
}

/** The shapes of the activity a finding is about: its named part when there is one (e.g. "effects"), else all. */
export function partShapes(shapes, part) {
  const named = part ? shapes.filter((s) => s.role === part || (part === "trajectory" && s.role === "trajectory-band")) : [];
  return named.length ? named : shapes;
}
