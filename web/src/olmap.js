// The map itself: OpenLayers (the full build, vendored as vendor/ol.js and read
// from window.ol) owns the view, its projection, pan, zoom, pinch and tiles, and
// draws the base layers. The operational picture is added by opslayers.js as
// vector layers of its own, drawn on canvas with the base.
// docs/map.md says why OpenLayers.

import { baseStyles, placeMinPopulation, placesOf, tileLayerSpecs } from "./baselayers.js";

const ol = () => window.ol;

/** Natural Earth's countries at three scales, each for the zooms where it is detailed enough and not too heavy. */
const ATLAS = [["110m", 0, 4], ["50m", 4, 7], ["10m", 7, 24]];

function vectorStyle(spec) {
  const { Fill, Stroke, Style, Text, Circle } = ol().style;
  const fill = spec.fill ? new Fill({ color: spec.fill }) : undefined;
  const stroke = spec.stroke ? new Stroke({ color: spec.stroke, width: spec.width ?? 1, lineDash: spec.dash }) : undefined;
  return new Style({
    fill,
    stroke,
    image: spec.point ? new Circle({ radius: spec.point, fill: new Fill({ color: spec.stroke ?? "#333" }) }) : undefined,
    text: spec.text ? new Text({ font: spec.text, fill: new Fill({ color: spec.textColour ?? "#555" }),
      stroke: new Stroke({ color: "#fff", width: 3 }), overflow: false }) : undefined,
  });
}

/** A style function for a base vector layer: one cached style per spec, the feature's name as its label. */
function styleFunction(spec, labels) {
  const style = vectorStyle(spec);
  return (feature) => {
    if (style.getText()) style.getText().setText(labels() ? String(feature.get("name") ?? "").toUpperCase() : "");
    return style;
  };
}

export function createMap({ target, labels }) {
  const { Map: OlMap, View } = ol();
  const { Vector: VectorLayer, Graticule } = ol().layer;
  const { Vector: VectorSource } = ol().source;
  const { TopoJSON } = ol().format;
  const { Stroke, Text, Fill } = ol().style;
  const styles = baseStyles();

  const countries = ATLAS.map(([res, minZoom, maxZoom]) => new VectorLayer({
    properties: { name: `countries-${res}`, group: "base" },
    source: new VectorSource({ url: `vendor/world-atlas/countries-${res}.json`, format: new TopoJSON({ layers: ["countries"] }), overlaps: false,
      attributions: "Natural Earth" }),
    style: styleFunction(styles.country, labels),
    minZoom,
    maxZoom,
    declutter: "base",
  }));
  // Populated places: loaded when first zoomed in to where they are drawn.
  const placeStyles = new Map();
  const placeStyle = (capital) => {
    if (!placeStyles.has(capital)) {
      const { Style, Circle } = ol().style;
      placeStyles.set(capital, new Style({
        image: new Circle({ radius: capital === "primary" ? 4 : 2.5, fill: new Fill({ color: "#333" }),
          stroke: new Stroke({ color: "#fff", width: 1 }) }),
        text: new Text({ font: `${capital === "primary" || capital === "admin" ? "600 " : ""}12px system-ui, sans-serif`,
          fill: new Fill({ color: "#222" }), stroke: new Stroke({ color: "#fff", width: 3 }), offsetY: -10 }),
      }));
    }
    return placeStyles.get(capital);
  };
  const placeSource = new VectorSource({
    attributions: "Places: SimpleMaps World Cities (CC BY 4.0)",
    loader: async (_extent, _resolution, projection, success, failure) => {
      try {
        const doc = await fetch("vendor/places.json").then((r) => r.json());
        const { Feature, geom, proj } = ol();
        const features = placesOf(doc).map((p) => new Feature({
          geometry: new geom.Point(proj.fromLonLat([p.lon, p.lat], projection)),
          name: p.name, population: p.population, capital: p.capital,
        }));
        placeSource.addFeatures(features);
        success(features);
      } catch {
        failure();
      }
    },
  });
  const places = new VectorLayer({
    properties: { name: "places", group: "base" },
    source: placeSource,
    minZoom: 4,
    declutter: "base",
    zIndex: 3,
    style: (feature, resolution) => {
      if (feature.get("population") < placeMinPopulation(view.getZoomForResolution(resolution))) return null;
      const style = placeStyle(feature.get("capital"));
      style.getText().setText(labels() ? feature.get("name") : "");
      return style;
    },
  });
  // Rivers and lakes (Natural Earth 1:50m): lakes in the sea's colour, rivers blue over the land.
  const waterStyles = {
    lake: new (ol().style.Style)({ fill: new Fill({ color: "#cfe3ee" }), stroke: new Stroke({ color: "#6f8896", width: 0.8 }) }),
    river: new (ol().style.Style)({ stroke: new Stroke({ color: "#4a90c2", width: 1.4, lineCap: "round", lineJoin: "round" }) }),
  };
  const water = new VectorLayer({
    properties: { name: "water", group: "base" },
    source: new VectorSource({ url: "vendor/water.json", format: new (ol().format.GeoJSON)({ featureProjection: "EPSG:3857" }),
      attributions: "Rivers and lakes: Natural Earth" }),
    style: (feature) => waterStyles[feature.get("kind")] ?? null,
    zIndex: 2,
  });
  const graticule = new Graticule({
    properties: { name: "graticule", group: "graticule" },
    strokeStyle: new Stroke({ color: "rgba(122,139,153,0.55)", width: 0.6 }),
    showLabels: true,
    lonLabelStyle: new Text({ font: "11px system-ui, sans-serif", textBaseline: "bottom", fill: new Fill({ color: "#3b4a55" }),
      stroke: new Stroke({ color: "#fff", width: 3 }) }),
    latLabelStyle: new Text({ font: "11px system-ui, sans-serif", textAlign: "end", fill: new Fill({ color: "#3b4a55" }),
      stroke: new Stroke({ color: "#fff", width: 3 }) }),
    wrapX: false,
  });
  const view = new View({ center: [0, 0], zoom: 2, minZoom: 0, maxZoom: 20, enableRotation: false, constrainResolution: false,
    smoothResolutionConstraint: false });
  const map = new OlMap({
    target,
    layers: [...countries, water, places, graticule],
    view,
    controls: ol().control.defaults.defaults({ zoom: false, rotate: false, attribution: true, attributionOptions: { collapsible: false } }),
    // Keys are app.js's (Enter, Escape and Backspace mean something while picking, and zoom must not animate).
    interactions: ol().interaction.defaults.defaults({ keyboard: false, altShiftDragRotate: false, pinchRotate: false }),
  });
  const user = [];

  return {
    map,
    view,
    /** Show or hide a group of base layers ("base" | "graticule"). */
    setVisible(group, on) {
      if (group === "base") [...countries, water, places].forEach((l) => l.setVisible(on && !user.some((u) => u.getVisible() && u.get("opaque"))));
      if (group === "graticule") graticule.setVisible(on);
      map.render();
    },
    /** Add the user's tile sets (GET /tiles), hidden until chosen. */
    addTiles(catalog) {
      const { VectorTile: VectorTileLayer, Tile: TileLayer } = ol().layer;
      const { VectorTile: VectorTileSource, XYZ } = ol().source;
      const { MVT } = ol().format;
      for (const spec of tileLayerSpecs(catalog)) {
        const layer = spec.kind === "vector"
          ? new VectorTileLayer({
            properties: { name: spec.name, group: "tiles", opaque: false },
            source: new VectorTileSource({ format: new MVT(), url: spec.url, minZoom: spec.minZoom, maxZoom: spec.maxZoom,
              attributions: spec.attribution }),
            style: styleFunction(styles.tiles, labels),
            declutter: true,
            visible: false,
          })
          : new TileLayer({
            properties: { name: spec.name, group: "tiles", opaque: true },
            source: new XYZ({ url: spec.url, minZoom: spec.minZoom, maxZoom: spec.maxZoom, attributions: spec.attribution,
              crossOrigin: "anonymous" }),
            visible: false,
          });
        layer.setZIndex(spec.kind === "vector" ? 5 : 1);
        user.push(layer);
        map.addLayer(layer);
      }
      return user.map((l) => l.get("name"));
    },
    /** Choose the base: "" for Natural Earth alone, or a user tile set's name. */
    chooseBase(name, naturalEarth) {
      for (const l of user) l.setVisible(l.get("name") === name);
      this.setVisible("base", naturalEarth);
    },
    /** What each layer holds now, for tests and the console. */
    describe() {
      const z = view.getZoom();
      return map.getLayers().getArray().map((l) => ({
        name: l.get("name") ?? "graticule",
        visible: l.getVisible(),
        // Drawn at this zoom: visible and within the layer's zoom range.
        drawn: l.getVisible() && z > l.getMinZoom() && z <= l.getMaxZoom(),
        features: l.getSource?.()?.getFeatures?.()?.length
          ?? (l instanceof ol().layer.VectorTile ? l.getFeaturesInExtent(view.calculateExtent(map.getSize())).length : null),
        names: l instanceof ol().layer.VectorTile
          ? l.getFeaturesInExtent(view.calculateExtent(map.getSize())).map((f) => f.get("name")) : undefined,
        loaded: l.getSource?.()?.getState?.() ?? null,
      }));
    },
    /** Every layer as one canvas, as the map shows them (the PNG export). */
    baseCanvas() {
      const size = map.getSize();
      const ratio = window.devicePixelRatio || 1;
      const out = document.createElement("canvas");
      out.width = Math.round(size[0] * ratio);
      out.height = Math.round(size[1] * ratio);
      const ctx = out.getContext("2d");
      for (const canvas of target.querySelectorAll(".ol-layer canvas, canvas.ol-layer")) {
        if (!canvas.width) continue;
        const opacity = canvas.parentNode.style.opacity || canvas.style.opacity;
        ctx.globalAlpha = opacity === "" ? 1 : Number(opacity);
        const m = canvas.style.transform.match(/^matrix\(([^(]*)\)$/);
        if (m) ctx.setTransform(...m[1].split(",").map(Number));
        else ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
        ctx.drawImage(canvas, 0, 0);
      }
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.globalAlpha = 1;
      return out;
    },
  };
}

/**
 * Offer the user's tile files (`catalog`, GET /tiles) as base layers: one option each in
 * `select`, `row` shown when there is any; choosing one switches the base (shown when
 * `baseOn()`).
 */
export function offerTiles(olmap, catalog, select, row, baseOn) {
  const names = olmap.addTiles(catalog);
  if (!names.length) return;
  for (const t of catalog.tilesets.filter((x) => names.includes(x.name))) {
    const opt = document.createElement("option");
    opt.value = t.name;
    opt.textContent = `${t.title || t.name} (${t.kind})`;
    select.append(opt);
  }
  row.hidden = false;
  select.addEventListener("change", () => olmap.chooseBase(select.value, baseOn()));
}
