// Live tracks (GET /v1/tracks, when `deconflict serve` runs with live tracks): each
// asset's latest report, drawn with a MIL-STD-2525 symbol made from its
// Cursor-on-Target type, from the viewer's side. Pure functions; drawn in app.js.

// CoT's affiliation letter (a-<affiliation>-...) to 2525B/C's standard identity.
const AFFILIATION = { f: "F", h: "H", n: "N", u: "U", a: "A", s: "S", j: "J", k: "K", p: "P", o: "U" };
// CoT's battle dimension letters are 2525B/C's.
const DIMENSIONS = "PAGSUF";

/**
 * The 15-character 2525B/C code of a CoT atom type (`a-f-G-U-C-I` is
 * `SFGPUCI--------`: scheme S, identity, dimension, status P, the function
 * letters, the modifiers left blank), or null when the type is not an atom.
 */
export function cotSidc(type) {
  const m = /^a-([a-z])-([A-Z])((?:-[A-Za-z0-9]+)*)$/.exec(String(type ?? ""));
  if (!m || !DIMENSIONS.includes(m[2])) return null;
  const fn = m[3].split("-").filter(Boolean).join("").toUpperCase().slice(0, 6).padEnd(6, "-");
  return `S${AFFILIATION[m[1]] ?? "U"}${m[2]}P${fn}-----`;
}

/**
 * The code a track is drawn with by party `me`: its CoT type's, or a plain air or
 * ground track, with the identity of the viewer's side: its own assets friend,
 * another party's neutral (as declarations are drawn), an aircraft no party owns
 * (an ADS-B feed) unknown.
 */
export function trackSidc(track, me) {
  const base = cotSidc(track.type) ?? (track.air ? "SUAP-----------" : "SUGP-----------");
  const identity = !track.party ? "U" : track.party === me ? "F" : "N";
  return `${base[0]}${identity}${base.slice(2)}`;
}

/** The track's label: its uid, and for an aircraft its altitude. */
export function trackLabel(track) {
  const alt = track.air && Number.isFinite(track.alt_m) ? ` · ${Math.round(track.alt_m)} m` : "";
  return `${track.uid}${alt}`;
}

/** How far back a trail goes behind each track's latest point (ms). */
export const TRAIL_MS = 15 * 60 * 1000;

/**
 * The `since` to ask `GET /v1/tracks/history` for trails: the trail window behind
 * the latest report among `tracks` (report times, not the viewer's clock: a feed
 * may replay an exercise), or null with no tracks.
 */
export function trailSince(tracks) {
  const times = tracks.map((t) => Date.parse(t.time)).filter(Number.isFinite);
  if (!times.length) return null;
  return new Date(Math.max(...times) - TRAIL_MS).toISOString();
}

/**
 * A trail's points (oldest first) as lines of [lon, lat] for the map's tracks layer;
 * a jump of more than half the world in longitude (the antimeridian) starts a new
 * line, and a line needs two points. Null when nothing is left to draw.
 */
export function trailLines(points) {
  if (!Array.isArray(points)) return null;
  const lines = [];
  let line = [];
  let prevLon = null;
  for (const p of points) {
    if (!Number.isFinite(p?.lon) || !Number.isFinite(p?.lat)) continue;
    if (prevLon !== null && Math.abs(p.lon - prevLon) > 180) {
      if (line.length >= 2) lines.push(line);
      line = [];
    }
    line.push([p.lon, p.lat]);
    prevLon = p.lon;
  }
  if (line.length >= 2) lines.push(line);
  return lines.length ? lines : null;
}
