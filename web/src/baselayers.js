// The base layers' styles and the user's tile sets as layers. Pure data, no DOM,
// no OpenLayers: olmap.js makes the layers from what these return.

/** Styles of the built-in base (Natural Earth) and of user vector tiles. */
export function baseStyles() {
  return {
    country: { fill: "#f4f1ea", stroke: "#8a8a8a", width: 1, text: "italic 12px system-ui, sans-serif", textColour: "#6b6b6b" },
    tiles: { stroke: "#5b6b78", width: 1, fill: "rgba(200,200,190,0.25)", point: 2.5, text: "11px system-ui, sans-serif", textColour: "#333" },
  };
}

const RASTER = new Set(["png", "jpg", "jpeg", "webp"]);

/**
 * The layers for the tile sets the server offers (GET /tiles): each with its
 * XYZ address, kind ("raster" or "vector") and zoom range. Sets in a format the
 * map cannot draw are left out, not guessed at.
 */
export function tileLayerSpecs(catalog) {
  const out = [];
  for (const t of catalog?.tilesets ?? []) {
    const format = String(t.format ?? "").toLowerCase();
    const kind = format === "pbf" || format === "mvt" ? "vector" : RASTER.has(format) ? "raster" : null;
    if (!kind || typeof t.name !== "string") continue;
    out.push({
      name: t.name,
      title: t.title || t.name,
      kind,
      url: `tiles/${encodeURIComponent(t.name)}/{z}/{x}/{y}`,
      minZoom: Number.isInteger(t.minzoom) ? t.minzoom : 0,
      maxZoom: Number.isInteger(t.maxzoom) ? t.maxzoom : 14,
      attribution: t.attribution || undefined,
    });
  }
  return out;
}
