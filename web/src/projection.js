// The map's view: spherical (web) Mercator, so that north is up and angles are
// true, which is what staff expect on a tactical map. The world is the unit
// square [0, 1] x [0, 1] (y down); a view is a centre in world units, a scale in
// pixels per world unit and a size in pixels. Pure functions, no DOM.

export const MAX_LAT = 85.05112878;
const RAD = Math.PI / 180;

export function mercator([lon, lat]) {
  const phi = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * RAD;
  return [(lon + 180) / 360, (1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2];
}

export function inverseMercator([x, y]) {
  const lon = x * 360 - 180;
  const lat = Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) / RAD;
  return [lon, lat];
}

export const MIN_SCALE = 256;
export const MAX_SCALE = 256 * 2 ** 20;

export function makeView(center, scale, width, height) {
  const [cx, cy] = mercator(center);
  return { cx, cy, scale: clampScale(scale), width, height };
}

function clampScale(scale) {
  return Math.max(MIN_SCALE, Math.min(MAX_SCALE, scale));
}

/** Screen pixels of a position. */
export function project(view, lonlat) {
  const [x, y] = mercator(lonlat);
  return [(x - view.cx) * view.scale + view.width / 2, (y - view.cy) * view.scale + view.height / 2];
}

/** The position at screen pixels. */
export function unproject(view, [px, py]) {
  const x = view.cx + (px - view.width / 2) / view.scale;
  const y = view.cy + (py - view.height / 2) / view.scale;
  return inverseMercator([x, y]);
}

export function pan(view, dx, dy) {
  return { ...view, cx: view.cx - dx / view.scale, cy: Math.max(0, Math.min(1, view.cy - dy / view.scale)) };
}

/** Zoom by `factor` keeping the point under `at` (screen pixels; default the centre) where it is. */
export function zoom(view, factor, at = [view.width / 2, view.height / 2]) {
  const scale = clampScale(view.scale * factor);
  const k = scale / view.scale;
  const [px, py] = at;
  const wx = view.cx + (px - view.width / 2) / view.scale;
  const wy = view.cy + (py - view.height / 2) / view.scale;
  return { ...view, scale, cx: wx - (wx - view.cx) / k, cy: wy - (wy - view.cy) / k };
}

export function resize(view, width, height) {
  return { ...view, width, height };
}

/** The view that shows the box [west, south, east, north] with `padding` pixels around it. */
export function fit(view, [west, south, east, north], padding = 40) {
  const [x0, y1] = mercator([west, south]);
  const [x1, y0] = mercator([east, north]);
  const w = Math.max(x1 - x0, 1e-9);
  const h = Math.max(y1 - y0, 1e-9);
  const scale = clampScale(Math.min(
    Math.max(view.width - 2 * padding, 10) / w,
    Math.max(view.height - 2 * padding, 10) / h,
  ));
  return { ...view, scale: Math.min(scale, 256 * 2 ** 14), cx: (x0 + x1) / 2, cy: (y0 + y1) / 2 };
}

/** [west, south, east, north] of what the view shows. */
export function bounds(view) {
  const [west, north] = unproject(view, [0, 0]);
  const [east, south] = unproject(view, [view.width, view.height]);
  return [west, south, east, north];
}

/** Metres per pixel at latitude `lat` (Mercator's scale factor is 1 / cos(lat)). */
export function metresPerPixel(view, lat) {
  return (40075016.686 * Math.cos(lat * RAD)) / view.scale;
}

const STEPS = [30, 10, 5, 2, 1, 0.5, 0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.0025, 0.001];

/** The graticule spacing in degrees so that lines are at least `minPx` pixels apart. */
export function graticuleStep(view, minPx = 90) {
  const pxPerDegree = view.scale / 360;
  let step = STEPS[0];
  for (const s of STEPS) {
    if (s * pxPerDegree >= minPx) step = s;
    else break;
  }
  return step;
}

/** Meridians and parallels every `step` degrees within `box`, as lines of [lon, lat]. */
export function graticule([west, south, east, north], step) {
  const lines = [];
  const lo = Math.max(-MAX_LAT, south);
  const hi = Math.min(MAX_LAT, north);
  const first = (v) => Math.ceil(v / step - 1e-9) * step;
  for (let lon = first(west); lon <= east + 1e-9; lon += step) {
    lines.push({ kind: "meridian", value: round(lon, step), coords: [[lon, lo], [lon, hi]] });
  }
  for (let lat = first(lo); lat <= hi + 1e-9; lat += step) {
    lines.push({ kind: "parallel", value: round(lat, step), coords: [[west, lat], [east, lat]] });
  }
  return lines;
}

function round(v, step) {
  const digits = Math.max(0, Math.ceil(-Math.log10(step)) + 1);
  return Number(v.toFixed(digits));
}

/** A "nice" scale bar length in metres no longer than `maxPx` pixels. */
export function scaleBar(view, lat, maxPx = 120) {
  const mpp = metresPerPixel(view, lat);
  const maxM = mpp * maxPx;
  const pow = 10 ** Math.floor(Math.log10(maxM));
  const nice = [5, 2, 1].map((m) => m * pow).find((m) => m <= maxM) ?? pow;
  return { metres: nice, pixels: nice / mpp, label: nice >= 1000 ? `${nice / 1000} km` : `${nice} m` };
}

/**
 * Screen path data for a line or ring of [lon, lat], breaking it where it jumps
 * across the antimeridian (so no stroke crosses the whole map).
 */
/** Points closer than this on screen (px) to the last one kept add nothing a reader can see. */
export const PATH_MIN_PX = 1;

export function pathData(view, coords, closed = false) {
  let d = "";
  let prev = null;
  let kept = null;
  const last = coords.length - 1;
  coords.forEach((p, i) => {
    const [x, y] = project(view, p);
    const jump = prev !== null && Math.abs(p[0] - prev[0]) > 180;
    prev = p;
    // Thinned on screen: a 100 m circle at theatre scale is a dot, not 64 points.
    if (!jump && kept !== null && i !== last && Math.abs(x - kept[0]) < PATH_MIN_PX && Math.abs(y - kept[1]) < PATH_MIN_PX) return;
    d += `${d === "" || jump ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`;
    kept = [x, y];
  });
  return closed && d ? `${d}Z` : d;
}

/** Whether box a [w, s, e, n] and box b overlap. */
export function intersects(a, b) {
  return a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
}

/** [west, south, east, north] of positions. */
export function bbox(coords) {
  let w = Infinity;
  let s = Infinity;
  let e = -Infinity;
  let n = -Infinity;
  for (const [lon, lat] of coords) {
    if (lon < w) w = lon;
    if (lon > e) e = lon;
    if (lat < s) s = lat;
    if (lat > n) n = lat;
  }
  return [w, s, e, n];
}
