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

/**
 * The smallest place labelled at a zoom: only the large cities on a theatre map,
 * every town on a tactical one. Decluttering then drops what still overlaps.
 */
export function placeMinPopulation(zoom) {
  if (zoom < 5) return 1_000_000;
  if (zoom < 6.5) return 250_000;
  if (zoom < 8) return 50_000;
  if (zoom < 9.5) return 10_000;
  return 0;
}

/** The places of build.mjs's compact file as {lon, lat, population, name, capital}. */
export function placesOf(doc) {
  const f = doc?.fields ?? [];
  const at = (name) => f.indexOf(name);
  const [lon, lat, pop, name, cap] = ["lon", "lat", "population", "name", "capital"].map(at);
  if ([lon, lat, name].some((i) => i < 0)) return [];
  return (doc.rows ?? []).filter((r) => Number.isFinite(r[lon]) && Number.isFinite(r[lat])).map((r) => ({
    lon: r[lon], lat: r[lat], population: pop < 0 ? 0 : Number(r[pop]) || 0, name: String(r[name]), capital: cap < 0 ? "" : r[cap],
  }));
}
