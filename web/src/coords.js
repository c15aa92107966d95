// Coordinates as staff read and type them: latitude first, hemisphere letters,
// or MGRS. Internally every position is GeoJSON [lon, lat]. The MGRS library
// (the `mgrs` npm package) is passed in, so this module runs in node's tests
// and in the browser alike.

/** "35.35500° N  40.32500° E" */
export function formatLatLon([lon, lat], digits = 5) {
  const ns = lat >= 0 ? "N" : "S";
  const ew = lon >= 0 ? "E" : "W";
  return `${Math.abs(lat).toFixed(digits)}° ${ns} ${Math.abs(lon).toFixed(digits)}° ${ew}`;
}

/** "35°21'18.0\"N 40°19'30.0\"E" */
export function formatDMS([lon, lat]) {
  const part = (v, pos, neg) => {
    const h = v >= 0 ? pos : neg;
    let s = Math.round(Math.abs(v) * 36000) / 10;
    const d = Math.floor(s / 3600);
    s -= d * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    return `${d}°${String(m).padStart(2, "0")}'${s.toFixed(1).padStart(4, "0")}"${h}`;
  };
  return `${part(lat, "N", "S")} ${part(lon, "E", "W")}`;
}

/** "37SFV 20387 13217" (1 m precision; `digits` 1..5 per easting and northing). */
export function formatMGRS(mgrsLib, [lon, lat], digits = 5) {
  if (lat < -80 || lat > 84) return "";
  const raw = mgrsLib.forward([lon, lat], digits);
  const m = /^(\d{1,2}[C-X])([A-Z]{2})(\d*)$/.exec(raw);
  if (!m) return raw;
  const half = m[3].length / 2;
  return `${m[1]}${m[2]} ${m[3].slice(0, half)} ${m[3].slice(half)}`.trim();
}

const MGRS_RE = /^\s*(\d{1,2})\s*([C-HJ-NP-X])\s*([A-HJ-NP-Z])\s*([A-HJ-NP-V])\s*(\d*)\s*(\d*)\s*$/i;

export function looksLikeMGRS(text) {
  return MGRS_RE.test(text);
}

function number(s) {
  const v = Number(s);
  return Number.isFinite(v) ? v : NaN;
}

// One axis: "35.355", "-35.355", "35.355N", "N35.355", "35 21 18N", "35°21'18\"N".
function axis(text) {
  const t = text.trim().toUpperCase().replace(/[°º'′"″]/g, " ").replace(/\s+/g, " ").trim();
  const m = /^([NSEW])?\s*([-+]?\d+(?:\.\d+)?)(?:\s+(\d+(?:\.\d+)?))?(?:\s+(\d+(?:\.\d+)?))?\s*([NSEW])?$/.exec(t);
  if (!m) return null;
  const hemi = m[1] || m[5] || "";
  if (m[1] && m[5]) return null;
  let v = Math.abs(number(m[2])) + (m[3] ? number(m[3]) / 60 : 0) + (m[4] ? number(m[4]) / 3600 : 0);
  if (Number.isNaN(v)) return null;
  if ((m[3] && number(m[3]) >= 60) || (m[4] && number(m[4]) >= 60)) return null;
  if (m[2].startsWith("-") || hemi === "S" || hemi === "W") v = -v;
  if (m[2].startsWith("-") && (hemi === "S" || hemi === "W")) return null;
  return { value: v, hemi };
}

/**
 * A position typed by a person: "lat, lon" (comma or whitespace between; with
 * or without hemisphere letters; decimal degrees or degrees minutes seconds),
 * or an MGRS reference. Returns [lon, lat] or throws an Error saying why.
 */
export function parsePosition(text, mgrsLib) {
  const t = String(text ?? "").trim();
  if (!t) throw new Error("enter a position: lat, lon or MGRS");
  if (looksLikeMGRS(t)) {
    if (!mgrsLib) throw new Error("MGRS is not available");
    const compact = t.replace(/\s+/g, "").toUpperCase();
    const digits = compact.replace(/^\d{1,2}[A-Z]{3}/, "");
    if (digits.length % 2 !== 0) throw new Error("an MGRS reference needs as many easting as northing digits");
    try {
      const [lon, lat] = mgrsLib.toPoint(compact);
      return [lon, lat];
    } catch (err) {
      throw new Error(`not a valid MGRS reference: ${err.message ?? err}`);
    }
  }
  let parts = t.split(/\s*[,;]\s*/);
  if (parts.length !== 2) {
    // "35.355N 40.325E" or "35.355 40.325"
    const m = /^(.*?[NS])\s+(.*[EW])$/i.exec(t) || /^(\S+)\s+(\S+)$/.exec(t);
    if (!m) throw new Error("enter lat, lon (e.g. 35.355, 40.325) or MGRS (e.g. 37SFV 20387 13217)");
    parts = [m[1], m[2]];
  }
  let first = axis(parts[0]);
  let second = axis(parts[1]);
  if (!first || !second) throw new Error("could not read the latitude and longitude");
  if ((first.hemi === "E" || first.hemi === "W") && (second.hemi === "N" || second.hemi === "S" || !second.hemi)) {
    [first, second] = [second, first];
  }
  if (first.hemi === "E" || first.hemi === "W" || second.hemi === "N" || second.hemi === "S") {
    throw new Error("give one latitude (N/S) and one longitude (E/W)");
  }
  const lat = first.value;
  const lon = second.value;
  if (Math.abs(lat) > 90) throw new Error(`latitude ${lat} is outside -90..90`);
  if (Math.abs(lon) > 180) throw new Error(`longitude ${lon} is outside -180..180`);
  return [lon, lat];
}
