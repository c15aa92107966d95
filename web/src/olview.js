// The map's view as the rest of the app reads it ({cx, cy, scale, width, height}:
// a centre in the unit square of spherical Mercator, y down, and pixels per world
// unit; see projection.js) and as OpenLayers keeps it (a centre in EPSG:3857
// metres and a resolution in metres per pixel). OpenLayers owns the view; the app
// reads it through these conversions each frame. Pure functions, no DOM.

/** The circumference of the sphere EPSG:3857 projects (WGS 84's semi-major axis). */
export const WORLD_M = 2 * Math.PI * 6378137;

/** The app's view of OpenLayers' centre (metres), resolution (metres per pixel) and size (pixels). */
export function fromOL(center, resolution, [width, height]) {
  return {
    cx: (center[0] + WORLD_M / 2) / WORLD_M,
    cy: (WORLD_M / 2 - center[1]) / WORLD_M,
    scale: WORLD_M / resolution,
    width,
    height,
  };
}

/** OpenLayers' centre and resolution for the app's view. */
export function toOL(view) {
  return {
    center: [view.cx * WORLD_M - WORLD_M / 2, WORLD_M / 2 - view.cy * WORLD_M],
    resolution: WORLD_M / view.scale,
  };
}

/** An extent in EPSG:3857 metres of a [west, south, east, north] box in degrees. */
export function extentOf([w, s, e, n]) {
  const x = (lon) => (lon / 360) * WORLD_M;
  const y = (lat) => {
    const phi = (Math.max(-85.05112878, Math.min(85.05112878, lat)) * Math.PI) / 180;
    return (Math.log(Math.tan(Math.PI / 4 + phi / 2)) * WORLD_M) / (2 * Math.PI);
  };
  return [x(w), y(s), x(e), y(n)];
}

/** OpenLayers' zoom level for a scale in pixels per world unit (zoom 0 is one 256 px tile). */
export function zoomOf(scale) {
  return Math.log2(scale / 256);
}
