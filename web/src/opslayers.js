// The operational picture as OpenLayers vector layers, drawn on canvas: areas,
// lines (with the side labels of deconfliction lines), the findings of the last
// check, the plan being drawn, symbols, labels and live tracks. Each layer has
// its own source; its features carry the object (id, role) and are made when the
// data, the instant or the layers change, not when the view does: panning and
// zooming are OpenLayers' own (the rendered canvas is moved while interacting and
// redrawn once still). Styles come from opsstyle.js and read the app's state
// (selection, overdue, labels) through `ctx` when OpenLayers asks for them.
// Symbols and labels are one layer, decluttered: a symbol is an obstacle (drawn
// first, always), a label that would overlap a symbol or another label is left out.

import { areaSpec, dashOf, dottedAt, endAngle, lineSpec, sideSpots, toWorld, withAlpha } from "./opsstyle.js";
import { crowded } from "./labels.js";
import { facilitySymbol } from "./facility.js";
import { PROTECTED_EMBLEM } from "./emblem.js";

const ol = () => window.ol;
const FONT = 'system-ui, "DejaVu Sans", sans-serif';

// -- patterns: the SVG map's hatches, as canvas patterns ------------------------------------

function tile(size, draw) {
  const c = document.createElement("canvas");
  c.width = size;
  c.height = size;
  draw(c.getContext("2d"), size);
  return c;
}

function pattern(name) {
  const ctx2 = document.createElement("canvas").getContext("2d");
  const line = (ctx, size, colour, width, dash) => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    if (dash) ctx.setLineDash(dash);
    ctx.beginPath();
    ctx.moveTo(0, 0);
    ctx.lineTo(0, size);
    ctx.stroke();
  };
  const specs = {
    "hatch-nfa": [10, 45, (ctx, s) => { ctx.fillStyle = "rgba(255,255,255,.35)"; ctx.fillRect(0, 0, s, s); line(ctx, s, "#000", 2); }],
    "hatch-rfa": [10, 45, (ctx, s) => {
      line(ctx, s, "#000", 1.2);
      ctx.beginPath(); ctx.moveTo(0, 0); ctx.lineTo(s, 0); ctx.stroke();
    }],
    "dots-roz": [12, 0, (ctx) => { ctx.fillStyle = "#222"; ctx.beginPath(); ctx.arc(6, 6, 1.6, 0, 2 * Math.PI); ctx.fill(); }],
    "hatch-ac": [14, -45, (ctx, s) => line(ctx, s, "#222", 0.8, [3, 3])],
    "hatch-plan": [8, -45, (ctx, s) => line(ctx, s, "#000", 1.5)],
    "hatch-plan-light": [8, -45, (ctx, s) => line(ctx, s, "rgba(0,0,0,.6)", 1.5)],
    "hatch-hl": [12, 30, (ctx, s) => { ctx.fillStyle = "rgba(240,228,66,.25)"; ctx.fillRect(0, 0, s, s); line(ctx, s, "rgba(0,0,0,.5)", 1); }],
    "protected-fill": [8, 0, (ctx, s) => {
      ctx.fillStyle = "rgba(255,255,255,.45)"; ctx.fillRect(0, 0, s, s);
      ctx.strokeStyle = "#000"; ctx.lineWidth = 0.8; ctx.beginPath(); ctx.moveTo(4, 2); ctx.lineTo(4, 6); ctx.moveTo(2, 4); ctx.lineTo(6, 4); ctx.stroke();
    }],
  };
  const [size, angle, draw] = specs[name];
  const p = ctx2.createPattern(tile(size, draw), "repeat");
  if (angle) p.setTransform(new DOMMatrix().rotate(angle));
  return p;
}

// -- icons -----------------------------------------------------------------------------------

function svgIcon(inner, { w = 64, h = 40, ax = 18, ay = 20 } = {}) {
  const src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="${-ax} ${-ay} ${w} ${h}">`
    + `<style>text{font-family:system-ui,"DejaVu Sans",sans-serif}</style>${inner}</svg>`)}`;
  return new (ol().style.Icon)({ src, anchor: [ax, ay], anchorXUnits: "pixels", anchorYUnits: "pixels", declutterMode: "obstacle" });
}

export function createOps(map, ctx) {
  const { Vector: VectorLayer } = ol().layer;
  const { Vector: VectorSource } = ol().source;
  const { Feature } = ol();
  const { Point, LineString, MultiLineString, Polygon } = ol().geom;
  const { Style, Fill, Stroke, Text, Circle, RegularShape } = ol().style;

  const patterns = new Map();
  const pat = (name) => {
    if (!patterns.has(name)) patterns.set(name, pattern(name));
    return patterns.get(name);
  };
  const styleCache = new Map();
  const cached = (key, make) => {
    let s = styleCache.get(key);
    if (!s) {
      s = make();
      styleCache.set(key, s);
    }
    return s;
  };
  const stroke = (sp) => new Stroke({ color: sp.stroke, width: sp.width, lineDash: sp.dash, lineCap: sp.cap ?? "butt", lineJoin: "round" });
  const text = (t, { size = 12, bold = false, italic = false, colour = "#111", offsetY = 0, rotation = 0, declutter = "declutter" } = {}) => new Text({
    text: t,
    font: `${italic ? "italic " : ""}${bold ? "700 " : ""}${size}px ${FONT}`,
    fill: new Fill({ color: colour }),
    stroke: new Stroke({ color: "#fff", width: 3.5, lineJoin: "round" }),
    offsetY,
    rotation,
    overflow: true,
    declutterMode: declutter,
  });

  // Areas, lines, findings and the plan are drawn once into an image for a view and
  // moved with it while it moves (VectorImage): with a thousand objects in view,
  // replaying every path each frame of a pan would cost more than a frame.
  const imageLayer = (name, zIndex, style, extra = {}) => new (ol().layer.VectorImage)({
    properties: { name, group: "ops" },
    source: new VectorSource({ wrapX: false }),
    zIndex,
    style,
    imageRatio: 1.5,
    ...extra,
  });
  const layer = (name, zIndex, style, extra = {}) => new VectorLayer({
    properties: { name, group: "ops" },
    source: new VectorSource({ wrapX: false }),
    zIndex,
    style,
    updateWhileAnimating: false,
    updateWhileInteracting: false,
    ...extra,
  });

  // -- areas and lines ------------------------------------------------------------------------
  const flags = (f) => ({
    measure: f.get("measure"), proposed: f.get("proposed"), selected: ctx.selected() === f.get("id"),
    overdue: !f.get("measure") && ctx.overdue(f.get("id")),
  });
  const areaStyle = (f) => {
    const obj = f.get("obj");
    const fl = flags(f);
    const party = ctx.partyStyle(obj.owner);
    const key = `a|${obj.kind}|${obj.category ?? ""}|${f.get("role")}|${obj.owner}|${fl.measure}|${fl.proposed}|${fl.selected}|${fl.overdue}`;
    const { style, paint } = cached(key, () => {
      const sp = areaSpec(obj, f.get("role"), party, fl);
      return { style: new Style({ fill: new Fill({ color: sp.pattern ? pat(sp.pattern) : sp.fill }), stroke: stroke(sp) }),
        paint: sp.pattern ? `pattern:${sp.pattern}` : sp.fill };
    });
    f.set("paint", paint, true);
    return style;
  };
  const arrowStyle = (colour, at, angle) => new Style({
    geometry: new Point(at),
    image: new RegularShape({ points: 3, radius: 7, rotation: angle + Math.PI / 2, rotateWithView: false, fill: new Fill({ color: colour }) }),
  });
  const lineStyle = (f, resolution) => {
    const obj = f.get("obj");
    const fl = flags(f);
    const party = ctx.partyStyle(obj.owner);
    const key = `l|${obj.kind}|${f.get("role")}|${obj.owner}|${fl.measure}|${fl.proposed}|${fl.selected}`;
    const base = cached(key, () => {
      const sp = lineSpec(obj, f.get("role"), party, fl);
      return { styles: sp.strokes.map((s) => new Style({ stroke: stroke(s) })), arrow: sp.arrow, colour: sp.strokes.at(-1).stroke };
    });
    const out = [...base.styles];
    const coords = f.getGeometry().getCoordinates();
    if (base.arrow && coords.length > 1) out.push(arrowStyle(base.colour, coords.at(-1), endAngle(coords)));
    if (f.get("sides") && ctx.labels()) out.push(...sideStyles(f, coords, resolution));
    return out;
  };
  // The side labels of a deconfliction or restrictive fire line, for this zoom.
  const sideStyles = (f, coords, resolution) => {
    const memo = f.get("sideMemo");
    if (memo?.resolution === resolution) return memo.styles;
    const sides = f.get("sides");
    const styles = sideSpots(coords, resolution, sides).map((s) => {
      const names = sides[s.side];
      const colour = names.length === 1 ? ctx.partyStyle(names[0]).colour : "#111";
      return [
        new Style({ geometry: new LineString(s.tick), stroke: new Stroke({ color: "#111", width: 2 }) }),
        new Style({ geometry: new Point(s.label), text: text(names.join(" · "), { bold: true, colour, rotation: s.rotation, declutter: "none" }) }),
      ];
    }).flat();
    f.set("sideMemo", { resolution, styles }, true);
    return styles;
  };

  // -- symbols and labels -----------------------------------------------------------------------
  const symbolCache = new Map();
  const milIcon = (sidc, options) => {
    const key = `${sidc}|${JSON.stringify(options)}`;
    let s = symbolCache.get(key);
    if (!s) {
      const ratio = window.devicePixelRatio || 1;
      const sym = new window.ms.Symbol(sidc, { size: 22, ...options });
      const canvas = sym.asCanvas(ratio);
      const a = sym.getAnchor();
      s = new Style({
        image: new (ol().style.Icon)({ img: canvas, anchor: [a.x * ratio, a.y * ratio], anchorXUnits: "pixels", anchorYUnits: "pixels",
          scale: 1 / ratio, declutterMode: "obstacle" }),
      });
      symbolCache.set(key, s);
    }
    return s;
  };
  const facilityIcon = (type, overdue) => cached(`fac|${type}|${overdue}`, () => new Style({
    image: svgIcon(overdue ? facilitySymbol(type).replace('stroke="#000" stroke-width="2.5"', 'stroke="#F0E442" stroke-width="4"') : facilitySymbol(type)),
  }));
  const emblemIcon = (overdue) => cached(`emb|${overdue}`, () => new Style({
    image: svgIcon(overdue ? PROTECTED_EMBLEM.replace('stroke="#000" stroke-width="2.5"', 'stroke="#F0E442" stroke-width="4"') : PROTECTED_EMBLEM),
  }));
  const targetMark = (r, width = 2) => cached(`target|${r}|${width}`, () => [
    new Style({ image: new Circle({ radius: r, stroke: new Stroke({ color: "#000", width }) }) }),
    new Style({ image: new RegularShape({ points: 4, radius: r + 5, radius2: 0, angle: 0, stroke: new Stroke({ color: "#000", width: 1.5 }) }) }),
  ]);
  const dotStyle = (colour) => cached(`dot|${colour}`, () => new Style({
    image: new Circle({ radius: 3.5, fill: new Fill({ color: colour }), declutterMode: "none" }),
  }));

  // Which symbols are dots at a resolution: computed over every symbol at once, in drawing order.
  let dots = { resolution: null, set: new Set() };
  const dotted = (f, resolution) => {
    if (dots.resolution !== resolution || dots.version !== symbolsVersion) {
      const features = symbols.getSource().getFeatures().filter((x) => x.get("dottable")).sort((a, b) => a.get("order") - b.get("order"));
      const set = dottedAt(features.map((x) => x.getGeometry().getCoordinates()), resolution, crowded);
      dots = { resolution, version: symbolsVersion, set: new Set([...set].map((i) => features[i])) };
    }
    return dots.set.has(f);
  };
  // A military symbol's code, or null for what has its own emblem (a facility, a protected site, a fire's target).
  const symbolSidc = (f) => {
    const obj = f.get("obj");
    const role = f.get("role");
    if (obj.kind === "site" && (obj.facility || obj.category === "protected")) return null;
    if (obj.kind === "fire" && role === "target") return null;
    return ctx.sidcFor(obj, role);
  };
  const symbolStyle = (f, resolution) => {
    const obj = f.get("obj");
    const role = f.get("role");
    const overdue = ctx.overdue(obj.id);
    if (obj.kind === "site" && obj.facility) return facilityIcon(obj.facility, overdue);
    if (obj.kind === "site" && obj.category === "protected") return emblemIcon(overdue);
    if (obj.kind === "fire" && role === "target") return targetMark(9);
    if (f.get("dottable") && dotted(f, resolution)) return dotStyle(ctx.partyStyle(obj.owner).colour);
    const sidc = symbolSidc(f);
    if (!sidc || !window.ms) return null;
    const opts = { uniqueDesignation: obj.designation || obj.id };
    const az = f.get("azimuth");
    if (az !== null && az !== undefined && (obj.kind === "movement" || obj.kind === "flight")) opts.direction = Math.round(az);
    return milIcon(sidc, opts);
  };
  const labelStyles = new Map();
  const labelStyle = (f, resolution) => {
    if (!ctx.labels()) return null;
    // A symbol drawn as a dot (piled up with others) has no label: it would be left out anyway.
    const symbol = f.get("symbol");
    if (symbol && dotted(symbol, resolution)) return null;
    const t = ctx.labelText(f.get("item"));
    f.set("text", t, true);
    const item = f.get("item");
    const measure = Boolean(f.get("measure"));
    const key = `${item.proposed ? 1 : 0}${measure ? 1 : 0}|${t}`;
    let style = labelStyles.get(key);
    if (!style) {
      if (labelStyles.size > 20000) labelStyles.clear();
      const offsetY = item.proposed ? 24 : measure ? -12 : 34;
      // A measure's label (its kind, name and altitude band; a proposal's state) is always
      // drawn, and the labels of activities keep clear of it as of symbols.
      style = new Style({ text: text(t, { italic: item.proposed, offsetY, declutter: measure ? "obstacle" : "declutter" }) });
      labelStyles.set(key, style);
    }
    return style;
  };

  // -- findings, the plan, the go-to mark, tracks -------------------------------------------------
  const hlStyle = (f, resolution) => {
    const part = f.get("part");
    switch (part) {
      case "fill": return cached("hl-fill", () => new Style({ fill: new Fill({ color: pat("hatch-hl") }) }));
      case "over": return cached("hl-over", () => [
        new Style({ stroke: new Stroke({ color: "rgba(0,0,0,.85)", width: 8, lineJoin: "round" }) }),
        new Style({ stroke: new Stroke({ color: "#F0E442", width: 4, lineDash: [10, 6], lineJoin: "round" }) }),
      ]);
      case "separation": {
        const styles = [cached("hl-sep", () => new Style({ stroke: new Stroke({ color: "#000", width: 2, lineDash: [4, 3] }) }))];
        const label = f.get("label");
        if (label && f.getGeometry().getLength() / resolution > 24) {
          const c = f.getGeometry().getCoordinates();
          styles.push(new Style({ geometry: new Point([(c[0][0] + c[1][0]) / 2, (c[0][1] + c[1][1]) / 2]),
            text: text(label, { size: 11, bold: true, offsetY: -8, declutter: "none" }) }));
        }
        return styles;
      }
      case "closest": return cached("hl-closest", () => new Style({
        image: new Circle({ radius: 3.5, fill: new Fill({ color: "#F0E442" }), stroke: new Stroke({ color: "#000", width: 1.5 }) }) }));
      case "badge": return new Style({ text: text(f.get("text"), { bold: true, offsetY: -22, declutter: "none" }) });
      default: return null;
    }
  };
  const planStyle = (f) => {
    const part = f.get("part");
    const draft = f.get("draft");
    switch (part) {
      case "area": return cached(`plan-area|${draft}`, () => new Style({
        fill: new Fill({ color: pat(draft ? "hatch-plan-light" : "hatch-plan") }),
        stroke: new Stroke({ color: "#000", width: 2.5, lineDash: [6, 3] }) }));
      case "line": return cached(`plan-line|${draft}`, () => new Style({ stroke: new Stroke({ color: "#000", width: draft ? 3 : 2.5, lineDash: [6, 3] }) }));
      case "mark": return targetMark(7, 2);
      case "vertex": return cached("vertex", () => new Style({
        image: new Circle({ radius: 5, fill: new Fill({ color: "#fff" }), stroke: new Stroke({ color: "#000", width: 2 }) }) }));
      case "label": return ctx.labels() ? new Style({ text: text(f.get("text"), { offsetY: 34, declutter: "none" }) }) : null;
      case "goto": return cached("goto", () => [
        new Style({ image: new Circle({ radius: 12, stroke: new Stroke({ color: "#000", width: 2.5 }) }) }),
        new Style({ image: new Circle({ radius: 3, fill: new Fill({ color: "#000" }) }) }),
      ]);
      default: return null;
    }
  };
  const trackStyle = (f) => {
    if (f.get("part") === "trail") {
      return cached("trail", () => new Style({ stroke: new Stroke({ color: "rgba(51,51,51,.7)", width: 1.5, lineDash: [4, 3] }) }));
    }
    if (!window.ms) return null;
    const t = f.get("track");
    const opts = { uniqueDesignation: f.get("text") };
    if (Number.isFinite(t.course)) opts.direction = Math.round(t.course);
    return milIcon(f.get("sidc"), opts);
  };

  const areas = imageLayer("ops-areas", 100, areaStyle);
  const lines = imageLayer("ops-lines", 101, lineStyle);
  const hl = imageLayer("ops-findings", 102, hlStyle);
  const plan = imageLayer("ops-plan", 103, planStyle);
  // Symbols before labels in the declutter pass (a higher zIndex goes first): labels keep clear of them.
  const onTop = (style) => {
    for (const x of [style].flat()) x?.setZIndex(1);
    return style;
  };
  const symbols = imageLayer("ops-symbols", 105, (f, resolution) => (f.get("label") === true ? labelStyle(f, resolution) : onTop(symbolStyle(f, resolution))),
    { declutter: "ops", renderOrder: (a, b) => a.get("order") - b.get("order") });
  const labels = symbols;
  const tracks = layer("ops-tracks", 106, trackStyle);
  const all = [areas, lines, hl, plan, symbols, tracks];
  all.forEach((l) => map.addLayer(l));
  let symbolsVersion = 0;

  // What the declutter pass drew in the symbols' last image: the labels and symbols really
  // on the map (for the test hook; OpenLayers keeps the image's declutter tree to itself).
  let decluttered = { entries: [], extent: null };
  const vectorRenderer = symbols.getRenderer().vectorRenderer_;
  if (vectorRenderer?.renderDeclutter) {
    const renderDeclutter = vectorRenderer.renderDeclutter.bind(vectorRenderer);
    vectorRenderer.renderDeclutter = (frameState, ...rest) => {
      renderDeclutter(frameState, ...rest);
      decluttered = { entries: frameState.declutter?.ops?.all() ?? [], extent: frameState.extent, ratio: frameState.pixelRatio };
    };
  }

  // -- features ---------------------------------------------------------------------------------
  const ring = (coords) => coords.map(toWorld);
  const featureCache = new WeakMap(); // shapes object -> its area and line features (views change, shapes do not)
  const shapeFeatures = (item, s) => {
    let out = featureCache.get(s);
    if (!out) {
      const { obj, proposed } = item;
      out = { areas: [], lines: [] };
      for (const sh of s.shapes) {
        const props = { id: obj.id, obj, item, role: sh.role, measure: item.measure, proposed: Boolean(proposed) };
        if (sh.type === "area") out.areas.push(new Feature({ geometry: new Polygon([ring(sh.coords)]), ...props }));
        else if (sh.type === "line") {
          out.lines.push(new Feature({ geometry: new LineString(ring(sh.coords)), ...props, sides: item.sides ?? null }));
        }
      }
      featureCache.set(s, out);
    }
    // The item (proposal version, label) may be new with the same shapes.
    for (const f of [...out.areas, ...out.lines]) f.setProperties({ item, obj: item.obj, proposed: Boolean(item.proposed) }, true);
    return out;
  };

  function replace(l, features) {
    const src = l.getSource();
    src.clear(true);
    src.addFeatures(features);
  }

  return {
    layers: all,
    /**
     * The objects in force: [{item: {obj, proposed, proposal, measure, sides}, shapes, anchor, azimuth, marks}]
     * in drawing order (measures under declarations); marks: [{role, at}] extra symbol points (a fire's origin).
     */
    setObjects(list) {
      const a = [];
      const l = [];
      const sym = [];
      const lab = [];
      list.forEach(({ item, shapes, anchor, azimuth, marks }, order) => {
        const f = shapeFeatures(item, shapes);
        a.push(...f.areas);
        l.push(...f.lines);
        const { obj } = item;
        if (!anchor) return;
        const at = toWorld(anchor);
        const props = { id: obj.id, obj, item, measure: item.measure, proposed: Boolean(item.proposed), order };
        let symbol = null;
        if (!item.measure) {
          const dottable = !(obj.kind === "site" && (obj.facility || obj.category === "protected")) && obj.kind !== "fire";
          symbol = new Feature({ geometry: new Point(at), ...props, role: obj.kind === "fire" ? "target" : "anchor", azimuth, dottable });
          sym.push(symbol);
          for (const m of marks ?? []) sym.push(new Feature({ geometry: new Point(toWorld(m.at)), ...props, role: m.role, dottable: false }));
        }
        lab.push(new Feature({ geometry: new Point(at), ...props, label: true, symbol: symbol?.get("dottable") ? symbol : null }));
      });
      replace(areas, a);
      replace(lines, l);
      replace(symbols, [...sym, ...lab]);
      symbolsVersion += 1;
    },
    /** The findings of the last check: [{id, kind, over: [coords], fill: [rings], separation: {from, to, label}, badge: {at, text}}]. */
    setHighlights(parts) {
      const out = [];
      for (const p of parts) {
        const props = { id: p.id, hl: p.kind, separationM: p.separationM };
        for (const r of p.fill) out.push(new Feature({ geometry: new Polygon([ring(r)]), ...props, part: "fill" }));
        for (const c of p.over) out.push(new Feature({ geometry: new LineString(ring(c)), ...props, part: "over" }));
        if (p.separation) {
          const { from, to, label } = p.separation;
          out.push(new Feature({ geometry: new LineString([toWorld(from), toWorld(to)]), ...props, part: "separation", label }));
          out.push(new Feature({ geometry: new Point(toWorld(from)), ...props, part: "closest" }));
          out.push(new Feature({ geometry: new Point(toWorld(to)), ...props, part: "closest" }));
        }
        out.push(new Feature({ geometry: new Point(toWorld(p.badge.at)), ...props, part: "badge", text: p.badge.text }));
      }
      replace(hl, out);
    },
    /** The plan being drawn and the measure draft: [{part, coords | at, draft, text}], and the go-to mark. */
    setPlan(parts, gotoMark) {
      const out = parts.map((p) => new Feature({
        geometry: p.part === "area" ? new Polygon([ring(p.coords)]) : p.part === "line" ? new LineString(ring(p.coords)) : new Point(toWorld(p.at)),
        id: "plan", part: p.part, draft: Boolean(p.draft), text: p.text ?? "",
      }));
      if (gotoMark) out.push(new Feature({ geometry: new Point(toWorld(gotoMark)), id: "goto", part: "goto" }));
      replace(plan, out);
    },
    /** Live tracks: [{track, sidc, text, trail}], a trail being lines of [lon, lat] (or null) drawn under its symbol. */
    setTracks(list) {
      const trails = list.filter((x) => x.trail).map(({ track, trail }) => new Feature({
        geometry: new MultiLineString(trail.map(ring)), id: `trail:${track.uid}`, uid: track.uid, part: "trail",
      }));
      replace(tracks, [...trails, ...list.map(({ track, sidc, text: t }) => new Feature({
        geometry: new Point(toWorld([track.lon, track.lat])), id: `track:${track.uid}`, uid: track.uid, track, sidc, text: t,
      }))]);
    },
    /** Styles read the selection, what is overdue and the labels switch: drawn again when they change. */
    restyle() {
      for (const l of [areas, lines, symbols]) l.changed();
    },
    /** The objects under a pixel, top first (one id once), for a click and the stacked-object picker. */
    idsAt(pixel) {
      const ids = [];
      map.forEachFeatureAtPixel(pixel, (f) => {
        const id = f.get("obj")?.id;
        if (id && !ids.includes(id)) ids.push(id);
      }, { layerFilter: (l) => [areas, lines, symbols].includes(l), hitTolerance: 3 });
      return ids;
    },
    /**
     * For tests and the console: every feature of the picture whose extent meets the
     * view (and a tenth of it around), as {layer, id, role, part, kind, owner, state, version, classes, ...}.
     */
    drawn() {
      // The view and a tenth of it around (drawn there too, as OpenLayers does, for a pan).
      const view = map.getView().calculateExtent(map.getSize());
      const extent = ol().extent.buffer(view, (view[2] - view[0]) / 10);
      const out = [];
      for (const l of all) {
        for (const f of l.getSource().getFeaturesInExtent(extent)) {
          const obj = f.get("obj");
          const g = f.getGeometry();
          out.push({
            layer: f.get("label") === true ? "labels" : l.get("name").replace("ops-", ""),
            id: f.get("id"), role: f.get("role") ?? null, part: f.get("part") ?? null, kind: obj?.kind ?? null,
            owner: obj?.owner ?? null, measure: Boolean(f.get("measure")), proposed: Boolean(f.get("proposed")),
            state: obj ? (f.get("proposed") ? "proposed" : f.get("measure") ? "in_force" : null) : null,
            version: f.get("item")?.proposal?.version ?? null,
            selected: obj ? ctx.selected() === obj.id : false, overdue: obj && !f.get("measure") ? ctx.overdue(obj.id) : false,
            facility: obj?.facility ?? null, category: obj?.category ?? null, designation: obj?.designation ?? null,
            sidc: l === symbols && f.get("label") !== true ? symbolSidc(f) : f.get("sidc") ?? null,
            dot: l === symbols && Boolean(f.get("dottable")) && dotted(f, map.getView().getResolution()), hl: f.get("hl") ?? null, uid: f.get("uid") ?? null,
            text: f.get("label") === true ? ctx.labelText(f.get("item")) : f.get("text") ?? null, label: f.get("label") ?? null, separation_m: f.get("separationM") ?? null,
            length: g.getLength ? g.getLength() : null, paint: f.get("paint") ?? null, draft: Boolean(f.get("draft")),
            sides: f.get("sides") ? sideSpots(g.getCoordinates(), map.getView().getResolution(), f.get("sides"))
              .map((x) => ({ side: x.side, text: f.get("sides")[x.side].join(" · ") })) : null,
            pixel: g.getType() === "Point" ? map.getPixelFromCoordinate(g.getCoordinates()) : null,
            ends: g.getType() === "MultiLineString"
              ? [g.getFirstCoordinate(), g.getLastCoordinate()].map((c) => map.getPixelFromCoordinate(c)) : null,
          });
        }
      }
      return out;
    },
    /** For tests: the labels and symbols the last image drew after decluttering, with their boxes on the screen (CSS pixels). */
    decluttered() {
      if (!decluttered.extent) return [];
      // The image's pixels start at its extent's top left corner.
      const [ox, oy] = map.getPixelFromCoordinate([decluttered.extent[0], decluttered.extent[3]]);
      const r = decluttered.ratio || 1;
      return decluttered.entries.map((e) => ({
        id: e.value.get("id"), what: e.value.get("label") === true ? "label" : "symbol",
        text: e.value.get("label") === true ? e.value.get("text") : null,
        box: [ox + e.minX / r, oy + e.minY / r, ox + e.maxX / r, oy + e.maxY / r],
      }));
    },
  };
}

export { dashOf, withAlpha };
