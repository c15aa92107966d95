// The picture: declarations and measures as the API returns them
// (docs/scenario-format.md), what is in force at an instant, the shapes to draw
// for each (geodesic circles and corridors), labels, and exports to GeoJSON and
// KML. Pure functions, no DOM.

import { along, circle, corridor, densify, geodesicPoints, inverse, lineLength } from "./geo.js";

export const LINE_KINDS = new Set(["deconfliction_line", "restrictive_fire_line"]);
export const AREA_MEASURES = new Set(["no_fire_area", "restrictive_fire_area", "restricted_operations_zone"]);

export const KIND_NAMES = {
  site: "site",
  movement: "movement",
  flight: "flight",
  fire: "fire",
  deconfliction_line: "deconfliction line",
  restrictive_fire_line: "restrictive fire line",
  no_fire_area: "no-fire area",
  restrictive_fire_area: "restrictive fire area",
  restricted_operations_zone: "restricted operations zone",
  air_corridor: "air corridor",
};

export const SHORT_NAMES = {
  deconfliction_line: "DL",
  restrictive_fire_line: "RFL",
  no_fire_area: "NFA",
  restrictive_fire_area: "RFA",
  restricted_operations_zone: "ROZ",
  air_corridor: "AC",
};

export function parseTime(s) {
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

/** [start, end) in epoch milliseconds; a 4D trajectory's is its first and last waypoint times. */
export function windowOf(obj) {
  if (obj.window) return [parseTime(obj.window.start), parseTime(obj.window.end)];
  if (Array.isArray(obj.waypoints) && obj.waypoints.length) {
    return [parseTime(obj.waypoints[0].time), parseTime(obj.waypoints.at(-1).time)];
  }
  return [null, null];
}

/** Whether the object is in force at `t` (epoch ms): windows are half-open [start, end). */
export function inForce(obj, t) {
  const [start, end] = windowOf(obj);
  if (start === null || end === null) return true;
  if (start === end) return t === start;
  return start <= t && t < end;
}

/** [earliest start, latest end] over the objects, or null. */
export function timeRange(objects) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const o of objects) {
    const [s, e] = windowOf(o);
    if (s !== null && s < lo) lo = s;
    if (e !== null && e > hi) hi = e;
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * The instant to open the map at: now, if anything transient (not a site or a
 * standing measure) is in force then; otherwise the start of the earliest
 * transient declaration's window, rounded down to the hour; otherwise now.
 */
export function defaultInstant(declarations, now = Date.now()) {
  const transient = declarations.filter((d) => d.kind !== "site");
  if (transient.some((d) => inForce(d, now))) return now;
  const starts = transient.map((d) => windowOf(d)[0]).filter((s) => s !== null);
  const upcoming = starts.filter((s) => s >= now);
  const pick = upcoming.length ? Math.min(...upcoming) : starts.length ? Math.min(...starts) : now;
  return pick === now ? now : Math.floor(pick / 3600000) * 3600000;
}

/**
 * A box [west, south, east, north] around an object without drawing it: its
 * positions (geometry, target, origin, waypoints) grown by its largest distance
 * (protection, effects radius, half width). For fitting the view to thousands of
 * objects at once, where making each one's geodesic shapes would cost seconds.
 */
export function roughBox(obj) {
  const pts = [];
  const walk = (c) => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === "number") pts.push(c);
    else c.forEach(walk);
  };
  for (const g of [obj.geometry, obj.target, obj.origin]) walk(g?.coordinates);
  for (const w of obj.waypoints ?? []) walk(w.coordinates);
  if (!pts.length) return null;
  const m = Math.max(0, obj.protection_m ?? 0, obj.effects_radius_m ?? 0, obj.half_width_m ?? 0);
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [lon, lat] of pts) {
    w = Math.min(w, lon);
    e = Math.max(e, lon);
    s = Math.min(s, lat);
    n = Math.max(n, lat);
  }
  // A degree of latitude is at least 110.5 km; of longitude, that times the cosine of the latitude farthest from the equator.
  const dLat = m / 110500;
  const dLon = m / (110500 * Math.max(0.01, Math.cos((Math.min(89, Math.max(Math.abs(s), Math.abs(n)) + dLat) * Math.PI) / 180)));
  return [w - dLon, s - dLat, e + dLon, n + dLat];
}

/** Midnight UTC of the day containing `t`. */
export function dayStart(t) {
  return Math.floor(t / 86400000) * 86400000;
}

function altitudeValue(band, key) {
  if (!band) return null;
  if (band[`${key}_m`] !== undefined) return { value: band[`${key}_m`], unit: "m" };
  if (band[`${key}_ft`] !== undefined) return { value: band[`${key}_ft`], unit: "ft" };
  if (band[key] && typeof band[key] === "object") return { value: band[key].value, unit: band[key].unit ?? "m" };
  return null;
}

function fmtNumber(v) {
  return Math.round(v).toLocaleString("en-GB");
}

/** "1,500–7,500 m AMSL", "FL: 9,000 ft–10,000 ft AMSL" from an altitude band. */
export function altitudeLabel(band) {
  const lo = altitudeValue(band, "lower");
  const hi = altitudeValue(band, "upper");
  if (!lo && !hi) return "";
  if (lo && hi && lo.unit === hi.unit) return `${fmtNumber(lo.value)}–${fmtNumber(hi.value)} ${lo.unit} AMSL`;
  const part = (a) => (a ? `${fmtNumber(a.value)} ${a.unit}` : "?");
  return `${part(lo)}–${part(hi)} AMSL`;
}

/** The altitude label of a 4D flight: the band its waypoints span. */
function waypointAltitudes(obj) {
  const alts = (obj.waypoints ?? []).map((w) => w.altitude ?? (w.altitude_m !== undefined ? { value: w.altitude_m, unit: "m" }
    : w.altitude_ft !== undefined ? { value: w.altitude_ft, unit: "ft" } : null)).filter(Boolean);
  if (!alts.length) return "";
  const toM = (a) => (a.unit === "ft" ? a.value * 0.3048 : a.value);
  const lo = alts.reduce((m, a) => (toM(a) < toM(m) ? a : m));
  const hi = alts.reduce((m, a) => (toM(a) > toM(m) ? a : m));
  return `${fmtNumber(lo.value)} ${lo.unit}–${fmtNumber(hi.value)} ${hi.unit} AMSL`;
}

export function altitudeText(obj) {
  if (obj.altitude) return altitudeLabel(obj.altitude);
  if (obj.kind === "flight" && obj.waypoints) return waypointAltitudes(obj);
  if (obj.kind === "fire" && obj.max_ordinate) {
    const a = obj.max_ordinate;
    return `max ordinate ${fmtNumber(a.value ?? a)} ${a.unit ?? "m"} AMSL`;
  }
  return "";
}

function pointOf(geometry) {
  if (!geometry) return null;
  if (Array.isArray(geometry)) return geometry;
  if (geometry.type === "Point") return geometry.coordinates;
  return null;
}

function centroid(coords) {
  let x = 0;
  let y = 0;
  const pts = coords.length > 1 && coords[0][0] === coords.at(-1)[0] && coords[0][1] === coords.at(-1)[1]
    ? coords.slice(0, -1) : coords;
  for (const [lon, lat] of pts) {
    x += lon;
    y += lat;
  }
  return [x / pts.length, y / pts.length];
}

/** The position of a 4D trajectory at `t`, interpolated along the geodesic between waypoints. */
export function positionAt(waypoints, t) {
  if (!waypoints?.length) return null;
  const times = waypoints.map((w) => parseTime(w.time));
  if (t <= times[0]) return { position: waypoints[0].coordinates, azimuth: azimuthAt(waypoints, 0) };
  for (let i = 1; i < waypoints.length; i += 1) {
    if (t <= times[i]) {
      const span = times[i] - times[i - 1];
      const k = span > 0 ? (t - times[i - 1]) / span : 1;
      const a = waypoints[i - 1].coordinates;
      const b = waypoints[i].coordinates;
      return { position: along([a, b], k), azimuth: inverse(a, b).azimuth1 };
    }
  }
  return { position: waypoints.at(-1).coordinates, azimuth: azimuthAt(waypoints, waypoints.length - 2) };
}

function azimuthAt(waypoints, i) {
  if (waypoints.length < 2) return 0;
  const j = Math.max(0, Math.min(i, waypoints.length - 2));
  return inverse(waypoints[j].coordinates, waypoints[j + 1].coordinates).azimuth1;
}

/**
 * What to draw for an object, in [lon, lat]: a list of shapes
 * `{type: "area" | "line" | "point", role, coords}` and an `anchor` (where its
 * symbol and label go). Roles: protection, route, corridor, area, effects,
 * trajectory, target, origin, position, line.
 */
export function shapesOf(obj, t = null) {
  const shapes = [];
  let anchor = null;
  let azimuth = null;
  const g = obj.geometry;
  const hw = obj.half_width_m ?? 0;
  switch (obj.kind) {
    case "site": {
      if (g?.type === "Point") {
        shapes.push({ type: "area", role: "protection", coords: circle(g.coordinates, obj.protection_m || 1) });
        anchor = g.coordinates;
      } else if (g?.type === "LineString") {
        if (obj.protection_m > 0) shapes.push({ type: "area", role: "protection", coords: corridor(g.coordinates, obj.protection_m) });
        shapes.push({ type: "line", role: "line", coords: densify(g.coordinates) });
        anchor = along(g.coordinates, 0.5);
      } else if (g?.type === "Polygon") {
        shapes.push({ type: "area", role: "area", coords: g.coordinates[0] });
        anchor = centroid(g.coordinates[0]);
      }
      break;
    }
    case "movement":
    case "flight": {
      let route = null;
      if (obj.waypoints?.length) route = obj.waypoints.map((w) => w.coordinates);
      else if (g?.type === "LineString") route = g.coordinates;
      if (route) {
        if (hw > 0) shapes.push({ type: "area", role: "corridor", coords: corridor(route, hw) });
        shapes.push({ type: "line", role: "route", coords: densify(route) });
        anchor = along(route, 0.5);
        azimuth = route.length > 1 ? inverse(route.at(-2), route.at(-1)).azimuth2 : null;
        if (obj.waypoints?.length && t !== null) {
          const at = positionAt(obj.waypoints, t);
          if (at) {
            shapes.push({ type: "point", role: "position", coords: at.position });
            anchor = at.position;
            azimuth = at.azimuth;
          }
        }
      } else if (g?.type === "Polygon") {
        shapes.push({ type: "area", role: "area", coords: g.coordinates[0] });
        anchor = centroid(g.coordinates[0]);
      } else if (g?.type === "Point") {
        shapes.push({ type: "area", role: "area", coords: circle(g.coordinates, hw || 1) });
        anchor = g.coordinates;
      }
      break;
    }
    case "fire": {
      const target = pointOf(obj.target);
      if (target) {
        shapes.push({ type: "area", role: "effects", coords: circle(target, obj.effects_radius_m || 1) });
        shapes.push({ type: "point", role: "target", coords: target });
        anchor = target;
      } else if (obj.target?.type === "Polygon") {
        shapes.push({ type: "area", role: "effects", coords: obj.target.coordinates[0] });
        anchor = centroid(obj.target.coordinates[0]);
      }
      const origin = pointOf(obj.origin);
      if (origin && anchor) {
        const n = Math.max(2, Math.ceil(lineLength([origin, anchor]) / 1000));
        shapes.push({ type: "line", role: "trajectory", coords: geodesicPoints(origin, anchor, n) });
        if (obj.trajectory_half_width_m) {
          shapes.push({ type: "area", role: "trajectory-band", coords: corridor([origin, anchor], obj.trajectory_half_width_m) });
        }
        shapes.push({ type: "point", role: "origin", coords: origin });
      }
      break;
    }
    default: {
      if (LINE_KINDS.has(obj.kind) && g?.type === "LineString") {
        shapes.push({ type: "line", role: "line", coords: densify(g.coordinates) });
        anchor = along(g.coordinates, 0.5);
      } else if (g?.type === "LineString") {
        if (hw > 0) shapes.push({ type: "area", role: "corridor", coords: corridor(g.coordinates, hw) });
        shapes.push({ type: "line", role: "route", coords: densify(g.coordinates) });
        anchor = along(g.coordinates, 0.5);
      } else if (g?.type === "Polygon") {
        shapes.push({ type: "area", role: "area", coords: g.coordinates[0] });
        anchor = centroid(g.coordinates[0]);
      } else if (g?.type === "Point") {
        shapes.push({ type: "area", role: "area", coords: circle(g.coordinates, hw || 1) });
        anchor = g.coordinates;
      }
    }
  }
  return { shapes, anchor, azimuth };
}

/** Parties on each side of a deconfliction line: {left: [...], right: [...]}. */
export function sidesOf(measure) {
  const out = { left: [], right: [] };
  for (const [party, side] of Object.entries(measure.sides ?? {})) {
    if (side === "left" || side === "right") out[side].push(party);
  }
  out.left.sort();
  out.right.sort();
  return out;
}

/** The one-line label of an object: "ROZ M2 Conoco close air support ROZ · 1,500–7,500 m AMSL". */
export function labelOf(obj) {
  const short = SHORT_NAMES[obj.kind];
  const parts = [short ? `${short} ${obj.id}` : obj.id];
  if (obj.label) parts.push(obj.label);
  const alt = altitudeText(obj);
  return alt ? `${parts.join(" ")} · ${alt}` : parts.join(" ");
}

export function isMeasure(obj) {
  return Object.hasOwn(KIND_NAMES, obj.kind) && !["site", "movement", "flight", "fire"].includes(obj.kind);
}

// -- exports -------------------------------------------------------------------------

function mainGeometryKey(obj) {
  return obj.kind === "fire" ? "target" : "geometry";
}

/**
 * One GeoJSON Feature per object, in the format `deconflict import` reads
 * (docs/scenario-format.md): properties carry the object's fields, the
 * geometry is its main geometry (a fire's target; a 4D trajectory's path).
 */
export function toFeature(obj) {
  const props = structuredClone(obj);
  const key = mainGeometryKey(obj);
  let geometry = props[key] ?? null;
  delete props[key];
  if (obj.waypoints?.length) geometry = { type: "LineString", coordinates: obj.waypoints.map((w) => w.coordinates) };
  return { type: "Feature", id: obj.id, geometry, properties: props };
}

export function toGeoJSON(objects, meta = {}) {
  return { type: "FeatureCollection", features: objects.map(toFeature), ...(Object.keys(meta).length ? { deconflict: meta } : {}) };
}

function xml(s) {
  return String(s ?? "").replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]);
}

function kmlCoords(coords) {
  return coords.map(([lon, lat]) => `${+lon.toFixed(7)},${+lat.toFixed(7)}`).join(" ");
}

function kmlGeometry(shape) {
  if (shape.type === "point") return `<Point><coordinates>${kmlCoords([shape.coords])}</coordinates></Point>`;
  if (shape.type === "line") return `<LineString><tessellate>1</tessellate><coordinates>${kmlCoords(shape.coords)}</coordinates></LineString>`;
  return `<Polygon><tessellate>1</tessellate><outerBoundaryIs><LinearRing><coordinates>${kmlCoords(shape.coords)}</coordinates></LinearRing></outerBoundaryIs></Polygon>`;
}

/** KML 2.2 of the objects, drawn as on the map (circles and corridors as polygons), one Folder per kind. */
export function toKML(objects, { name = "Deconflict picture", colours = {} } = {}) {
  const kmlColour = (hex, alpha) => {
    const h = (hex ?? "#000000").replace("#", "");
    return `${alpha}${h.slice(4, 6)}${h.slice(2, 4)}${h.slice(0, 2)}`.toLowerCase();
  };
  const owners = [...new Set(objects.map((o) => o.owner))].sort();
  const styles = owners.map((o) => `<Style id="party-${xml(o)}"><LineStyle><color>${kmlColour(colours[o], "ff")}</color><width>2</width></LineStyle>`
    + `<PolyStyle><color>${kmlColour(colours[o], "40")}</color></PolyStyle></Style>`).join("");
  const byKind = new Map();
  for (const o of objects) {
    if (!byKind.has(o.kind)) byKind.set(o.kind, []);
    byKind.get(o.kind).push(o);
  }
  const folders = [...byKind.entries()].map(([kind, objs]) => {
    const marks = objs.map((o) => {
      const { shapes } = shapesOf(o);
      const [s, e] = windowOf(o);
      const span = s !== null && e !== null
        ? `<TimeSpan><begin>${new Date(s).toISOString()}</begin><end>${new Date(e).toISOString()}</end></TimeSpan>` : "";
      const desc = [`${KIND_NAMES[o.kind] ?? o.kind} of ${o.owner}`, altitudeText(o)].filter(Boolean).join("; ");
      const geoms = shapes.map(kmlGeometry).join("");
      return `<Placemark id="${xml(o.id)}"><name>${xml(labelOf(o))}</name><description>${xml(desc)}</description>${span}`
        + `<styleUrl>#party-${xml(o.owner)}</styleUrl><MultiGeometry>${geoms}</MultiGeometry></Placemark>`;
    }).join("");
    return `<Folder><name>${xml(KIND_NAMES[kind] ?? kind)}</name>${marks}</Folder>`;
  }).join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>${xml(name)}</name>${styles}${folders}</Document></kml>\n`;
}
