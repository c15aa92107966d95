// Geodesics on the WGS84 ellipsoid, for drawing: circles (effects radii,
// protection distances), corridors (a line grown by a half width) and lines
// densified along their geodesics, so that what the map shows matches what the
// server checks (docs/geometry.md). Vincenty's direct and inverse solutions;
// the inverse falls back to a sphere for nearly antipodal points, where it does
// not converge (nothing on a tactical map is that far apart).
// Positions are GeoJSON order: [lon, lat] in degrees.

export const WGS84 = Object.freeze({ a: 6378137, f: 1 / 298.257223563 });
const { a, f } = WGS84;
const b = (1 - f) * a;
const RAD = Math.PI / 180;
const DEG = 180 / Math.PI;
const MEAN_RADIUS = 6371008.8;

function wrapLon(lon) {
  const w = ((((lon + 180) % 360) + 360) % 360) - 180;
  return w === -180 && lon > 0 ? 180 : w;
}

function normAzimuth(deg) {
  return ((deg % 360) + 360) % 360;
}

/** The point `distance` metres from `start` along azimuth `azimuth` (degrees clockwise from north). */
export function destination(start, azimuth, distance) {
  const [lon1, lat1] = start;
  if (distance === 0) return [lon1, lat1];
  const alpha1 = azimuth * RAD;
  const sinAlpha1 = Math.sin(alpha1);
  const cosAlpha1 = Math.cos(alpha1);
  const tanU1 = (1 - f) * Math.tan(lat1 * RAD);
  const cosU1 = 1 / Math.sqrt(1 + tanU1 * tanU1);
  const sinU1 = tanU1 * cosU1;
  const sigma1 = Math.atan2(tanU1, cosAlpha1);
  const sinAlpha = cosU1 * sinAlpha1;
  const cosSqAlpha = 1 - sinAlpha * sinAlpha;
  const uSq = (cosSqAlpha * (a * a - b * b)) / (b * b);
  const A = 1 + (uSq / 16384) * (4096 + uSq * (-768 + uSq * (320 - 175 * uSq)));
  const B = (uSq / 1024) * (256 + uSq * (-128 + uSq * (74 - 47 * uSq)));
  let sigma = distance / (b * A);
  let sigmaP;
  let cos2SigmaM;
  let sinSigma;
  let cosSigma;
  let iterations = 0;
  do {
    cos2SigmaM = Math.cos(2 * sigma1 + sigma);
    sinSigma = Math.sin(sigma);
    cosSigma = Math.cos(sigma);
    const deltaSigma = B * sinSigma * (cos2SigmaM + (B / 4) * (cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)
      - (B / 6) * cos2SigmaM * (-3 + 4 * sinSigma * sinSigma) * (-3 + 4 * cos2SigmaM * cos2SigmaM)));
    sigmaP = sigma;
    sigma = distance / (b * A) + deltaSigma;
  } while (Math.abs(sigma - sigmaP) > 1e-12 && ++iterations < 200);
  sinSigma = Math.sin(sigma);
  cosSigma = Math.cos(sigma);
  cos2SigmaM = Math.cos(2 * sigma1 + sigma);
  const tmp = sinU1 * sinSigma - cosU1 * cosSigma * cosAlpha1;
  const lat2 = Math.atan2(sinU1 * cosSigma + cosU1 * sinSigma * cosAlpha1, (1 - f) * Math.sqrt(sinAlpha * sinAlpha + tmp * tmp));
  const lambda = Math.atan2(sinSigma * sinAlpha1, cosU1 * cosSigma - sinU1 * sinSigma * cosAlpha1);
  const C = (f / 16) * cosSqAlpha * (4 + f * (4 - 3 * cosSqAlpha));
  const L = lambda - (1 - C) * f * sinAlpha
    * (sigma + C * sinSigma * (cos2SigmaM + C * cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)));
  return [wrapLon(lon1 + L * DEG), lat2 * DEG];
}

function sphericalInverse(p1, p2) {
  const [lon1, lat1] = p1.map((x) => x * RAD);
  const [lon2, lat2] = p2.map((x) => x * RAD);
  const dLat = lat2 - lat1;
  const dLon = lon2 - lon1;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1) * Math.cos(lat2) * Math.sin(dLon / 2) ** 2;
  const distance = 2 * MEAN_RADIUS * Math.asin(Math.min(1, Math.sqrt(h)));
  const y = Math.sin(dLon) * Math.cos(lat2);
  const x = Math.cos(lat1) * Math.sin(lat2) - Math.sin(lat1) * Math.cos(lat2) * Math.cos(dLon);
  const azimuth1 = normAzimuth(Math.atan2(y, x) * DEG);
  const y2 = Math.sin(-dLon) * Math.cos(lat1);
  const x2 = Math.cos(lat2) * Math.sin(lat1) - Math.sin(lat2) * Math.cos(lat1) * Math.cos(-dLon);
  const azimuth2 = normAzimuth(Math.atan2(y2, x2) * DEG + 180);
  return { distance, azimuth1, azimuth2 };
}

/**
 * Distance in metres between two positions, the azimuth at the first toward
 * the second (`azimuth1`) and the forward azimuth at the second (`azimuth2`).
 */
export function inverse(p1, p2) {
  const [lon1, lat1] = p1;
  const [lon2, lat2] = p2;
  const L = wrapLon(lon2 - lon1) * RAD;
  const tanU1 = (1 - f) * Math.tan(lat1 * RAD);
  const cosU1 = 1 / Math.sqrt(1 + tanU1 * tanU1);
  const sinU1 = tanU1 * cosU1;
  const tanU2 = (1 - f) * Math.tan(lat2 * RAD);
  const cosU2 = 1 / Math.sqrt(1 + tanU2 * tanU2);
  const sinU2 = tanU2 * cosU2;
  let lambda = L;
  let lambdaP;
  let iterations = 0;
  let sinLambda;
  let cosLambda;
  let sinSigma;
  let cosSigma;
  let sigma;
  let sinAlpha;
  let cosSqAlpha;
  let cos2SigmaM;
  do {
    sinLambda = Math.sin(lambda);
    cosLambda = Math.cos(lambda);
    const t1 = cosU2 * sinLambda;
    const t2 = cosU1 * sinU2 - sinU1 * cosU2 * cosLambda;
    sinSigma = Math.sqrt(t1 * t1 + t2 * t2);
    if (sinSigma === 0) return { distance: 0, azimuth1: 0, azimuth2: 0 };
    cosSigma = sinU1 * sinU2 + cosU1 * cosU2 * cosLambda;
    sigma = Math.atan2(sinSigma, cosSigma);
    sinAlpha = (cosU1 * cosU2 * sinLambda) / sinSigma;
    cosSqAlpha = 1 - sinAlpha * sinAlpha;
    cos2SigmaM = cosSqAlpha !== 0 ? cosSigma - (2 * sinU1 * sinU2) / cosSqAlpha : 0;
    const C = (f / 16) * cosSqAlpha * (4 + f * (4 - 3 * cosSqAlpha));
    lambdaP = lambda;
    lambda = L + (1 - C) * f * sinAlpha
      * (sigma + C * sinSigma * (cos2SigmaM + C * cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)));
    if (Math.abs(lambda) > Math.PI + 1e-9 && iterations > 10) return sphericalInverse(p1, p2);
  } while (Math.abs(lambda - lambdaP) > 1e-12 && ++iterations < 200);
  if (iterations >= 200) return sphericalInverse(p1, p2);
  const uSq = (cosSqAlpha * (a * a - b * b)) / (b * b);
  const A = 1 + (uSq / 16384) * (4096 + uSq * (-768 + uSq * (320 - 175 * uSq)));
  const B = (uSq / 1024) * (256 + uSq * (-128 + uSq * (74 - 47 * uSq)));
  const deltaSigma = B * sinSigma * (cos2SigmaM + (B / 4) * (cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)
    - (B / 6) * cos2SigmaM * (-3 + 4 * sinSigma * sinSigma) * (-3 + 4 * cos2SigmaM * cos2SigmaM)));
  const distance = b * A * (sigma - deltaSigma);
  const azimuth1 = normAzimuth(Math.atan2(cosU2 * sinLambda, cosU1 * sinU2 - sinU1 * cosU2 * cosLambda) * DEG);
  const azimuth2 = normAzimuth(Math.atan2(cosU1 * sinLambda, -sinU1 * cosU2 + cosU1 * sinU2 * cosLambda) * DEG);
  return { distance, azimuth1, azimuth2 };
}

export function distance(p1, p2) {
  return inverse(p1, p2).distance;
}

/** `n` + 1 points along the geodesic from p1 to p2, both ends included. */
export function geodesicPoints(p1, p2, n) {
  const { distance: d, azimuth1 } = inverse(p1, p2);
  const out = [[p1[0], p1[1]]];
  for (let i = 1; i < n; i += 1) out.push(destination(p1, azimuth1, (d * i) / n));
  out.push([p2[0], p2[1]]);
  return out;
}

/** A line with points added so that no piece is longer than `maxStep` metres along its geodesic. */
export function densify(coords, maxStep = 2000) {
  if (coords.length < 2) return coords.map((p) => [p[0], p[1]]);
  const out = [[coords[0][0], coords[0][1]]];
  for (let i = 1; i < coords.length; i += 1) {
    const d = distance(coords[i - 1], coords[i]);
    const n = Math.max(1, Math.ceil(d / maxStep));
    out.push(...geodesicPoints(coords[i - 1], coords[i], n).slice(1));
  }
  return out;
}

/** A closed ring of `segments` points at `radius` metres from `center` (geodesic distance). */
export function circle(center, radius, segments = 72) {
  const ring = [];
  for (let i = 0; i < segments; i += 1) ring.push(destination(center, (360 * i) / segments, radius));
  ring.push(ring[0]);
  return ring;
}

function arc(center, radius, fromAz, toAz, stepDeg = 10) {
  // Clockwise from fromAz to toAz.
  let sweep = normAzimuth(toAz - fromAz);
  if (sweep === 0) sweep = 360;
  const n = Math.max(1, Math.ceil(sweep / stepDeg));
  const out = [];
  for (let i = 0; i <= n; i += 1) out.push(destination(center, fromAz + (sweep * i) / n, radius));
  return out;
}

/**
 * The outline of a line grown by `halfWidth` metres on each side, with round
 * ends and round outer joins (what a buffer is): a closed ring.
 */
export function corridor(coords, halfWidth, maxStep = 5000) {
  const line = densify(coords, maxStep).filter((p, i, all) => i === 0 || distance(all[i - 1], p) > 0.01);
  if (line.length === 0) return [];
  if (line.length === 1) return circle(line[0], halfWidth);
  const n = line.length;
  const fwd = [];
  const back = [];
  for (let i = 0; i < n - 1; i += 1) {
    const inv = inverse(line[i], line[i + 1]);
    fwd.push(inv.azimuth1);
    back.push(inv.azimuth2);
  }
  const left = [];
  const right = [];
  for (let i = 0; i < n; i += 1) {
    const azIn = i > 0 ? back[i - 1] : fwd[0];
    const azOut = i < n - 1 ? fwd[i] : back[n - 2];
    const turn = ((azOut - azIn + 540) % 360) - 180; // positive: turning right (clockwise)
    const mean = azIn + turn / 2;
    if (Math.abs(turn) < 20 || i === 0 || i === n - 1) {
      const scale = 1 / Math.max(Math.cos((turn / 2) * RAD), 0.5);
      left.push(destination(line[i], mean - 90, halfWidth * scale));
      right.push(destination(line[i], mean + 90, halfWidth * scale));
    } else if (turn > 0) {
      // Turning right: the left side is outside, round it; the right side is inside.
      left.push(...arc(line[i], halfWidth, azIn - 90, azOut - 90));
      right.push(destination(line[i], mean + 90, halfWidth / Math.max(Math.cos((turn / 2) * RAD), 0.5)));
    } else {
      right.push(...arc(line[i], halfWidth, azOut + 90, azIn + 90).reverse());
      left.push(destination(line[i], mean - 90, halfWidth / Math.max(Math.cos((turn / 2) * RAD), 0.5)));
    }
  }
  const endAz = back[n - 2];
  const startAz = fwd[0];
  const ring = [
    ...left,
    ...arc(line[n - 1], halfWidth, endAz - 90, endAz + 90).slice(1, -1),
    ...right.reverse(),
    ...arc(line[0], halfWidth, startAz + 90, startAz + 270).slice(1, -1),
  ];
  ring.push(ring[0]);
  return ring;
}

/** The point at fraction `t` (0..1) of a line's geodesic length. */
export function along(coords, t) {
  if (coords.length === 0) return null;
  if (coords.length === 1 || t <= 0) return [coords[0][0], coords[0][1]];
  const legs = [];
  let total = 0;
  for (let i = 1; i < coords.length; i += 1) {
    const inv = inverse(coords[i - 1], coords[i]);
    legs.push(inv);
    total += inv.distance;
  }
  let target = Math.min(1, t) * total;
  for (let i = 0; i < legs.length; i += 1) {
    if (target <= legs[i].distance || i === legs.length - 1) {
      return destination(coords[i], legs[i].azimuth1, Math.min(target, legs[i].distance));
    }
    target -= legs[i].distance;
  }
  return [coords.at(-1)[0], coords.at(-1)[1]];
}

/** The geodesic length of a line in metres. */
export function lineLength(coords) {
  let total = 0;
  for (let i = 1; i < coords.length; i += 1) total += distance(coords[i - 1], coords[i]);
  return total;
}
