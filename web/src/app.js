// The Deconflict map: sign in with a party member's token, see what that party
// may see, move through time, plan and check activities, answer notifications.
// Plain ES modules; no framework. The logic lives in small modules with unit
// tests (geo, projection, coords, picture, plan, style, sse); this one wires
// them to the page.

import * as mgrs from "./vendor/mgrs.js";
import { formatLatLon, formatMGRS, parsePosition } from "./coords.js";
import {
  findingsView, formatUTCInput, overdue, parseUTC, PlanError, sortInbox,
} from "./plan.js";
import {
  dayStart, defaultInstant, inForce, isMeasure, labelOf, shapesOf,
  roughBox, toGeoJSON, toKML, windowOf,
} from "./picture.js";
import {
  bbox, fit, makeView, project, scaleBar, unproject,
} from "./projection.js";
import { createApi } from "./api.js";
import { createMap, offerTiles } from "./olmap.js";
import { createOps } from "./opslayers.js";
import { drawList, findingParts, highlightsOf, measureDraftParts, planParts, sameKey } from "./scene.js";
import { legendHTML } from "./legend.js";
import { fromOL, toOL } from "./olview.js";
import {
  BANDED_MEASURES, canAccept, formatAsOf, measureDoc, parseAsOf, pictureQuery, POLYGON_MEASURES, SIDED_MEASURES,
  sortProposals, suggestId,
} from "./measure.js";
import { stream } from "./sse.js";
import { debounce, latestOnly } from "./latest.js";
import { esc, objectLabel } from "./labels.js";
import { inForceHTML, proposalHTML } from "./measure-life.js";
import { declarationDoc, defaultShare, planFromDeclaration } from "./declare.js";
import {
  currentFindings, mergeActivity, notifiedText, warningsText, overdueCount, overdueSubjects, shareText, willNotifyText,
} from "./hotline.js";
import {
  answersHTML, currentFindingsHTML, facilityOptionsHTML, inboxItemHTML, shareChooserHTML,
} from "./hotline-view.js";
import { partyStyles, sidcFor, VERDICT_TEXT } from "./style.js";
import { trackLabel, trackSidc, trailLines, trailSince } from "./tracks.js";
import { download, mapPNG, stampOf } from "./exporting.js";
import { detailRows, detailsWithdrawHTML, objectButtonHTML, timelineHTML } from "./details.js";
import { mapKeys } from "./keys.js";

const TOKEN_KEY = "deconflict.token";
const DAY = 86400000;
const MINUTE = 60000;
const $ = (sel) => document.querySelector(sel);
const mapEl = $("#map");

const state = {
  token: null,
  me: null,
  parties: [],
  styles: {},
  declarations: [],
  measures: { in_force: [], proposed: [] },
  notifications: [],
  views: new Map(), // declaration id -> GET /v1/activities/{id} (reference, current findings, answers)
  refs: new Map(), // declaration id -> its radio reference (DC-000123)
  t: Date.now(),
  view: makeView([40.3, 35.2], 256 * 2 ** 8, 800, 600),
  layers: { base: true, graticule: true, measures: true, proposed: true, site: true, movement: true, flight: true, fire: true, tracks: true, labels: true },
  tracks: [], // live tracks (GET /v1/tracks): each asset's latest report the party may see
  tracksTimer: null,
  trails: {}, // uid -> its recent points (GET /v1/tracks/history), drawn under the symbols
  pick: null, // "target" | "origin" | "route" | "measure"
  asOf: null, // epoch ms: the picture as the service knew it then; null: live
  result: null,
  checked: null, // the activity document the result is about
  selected: null,
  gotoMark: null,
  streamAbort: null,
  playing: null,
  withdrawal: null, // {what: "measure" | "declaration", id, stage: "confirm" | "sending" | "failed", error}
  amending: null, // {id, label, reference}: the plan form amends this accepted activity of the party's
};

// -- the API -----------------------------------------------------------------------

const { api, apiAll } = createApi({
  token: () => state.token,
  // A session that was signed in has lost its token; while signing in, the sign-in says why.
  onUnauthorized: (path) => {
    if (path !== "/v1/me" && state.me) signOut("Your sign-in is no longer valid; sign in again.");
  },
});

function can(action) {
  const role = state.me?.role;
  if (action === "check") return role === "planner" || role === "liaison";
  if (action === "answer" || action === "propose") return role === "liaison";
  return true;
}

// -- sign in -----------------------------------------------------------------------

async function signIn(token) {
  state.token = token;
  // The log's head is read before the picture (the stream then carries every change after
  // it); then the picture, the longest read, is under way while the rest is asked.
  const ready = await fetch("/ready", { cache: "no-store" }).then((r) => r.json()).catch(() => ({ head: 0 }));
  const picture = loadPicture();
  // Awaited below; a bad token fails it too, and that is said by the sign-in, not left unhandled.
  picture.catch(() => {});
  const me = await api("/v1/me");
  sessionStorage.setItem(TOKEN_KEY, token);
  state.me = me;
  $("#signin").hidden = true;
  $("#whoami").textContent = `${me.party ?? "administrator"} · ${me.member} · ${me.role}`;
  const planNote = $("#plan-role");
  planNote.hidden = can("check");
  planNote.textContent = can("check") ? "" : `A ${me.role} may look but not plan: checking and submitting need a planner or liaison token.`;
  for (const el of $("#plan-form").elements) el.disabled = !can("check");
  const inboxNote = $("#inbox-role");
  inboxNote.hidden = can("answer");
  inboxNote.textContent = can("answer") ? "" : "Only a liaison may acknowledge or object; you can read.";
  const measureNote = $("#measure-role");
  measureNote.hidden = can("propose");
  measureNote.textContent = can("propose") ? "" : "Only a liaison proposes and accepts measures; you can read.";
  for (const el of $("#measure-form").elements) el.disabled = !can("propose");
  // The party's settings give the plan form's default sharing (best effort: a viewer may not read them).
  const settings = me.party ? api(`/v1/parties/${encodeURIComponent(me.party)}/settings`).catch(() => null) : null;
  performance.mark("deconflict:signed-in");
  // The parties after the settings: the share chooser starts as the settings say.
  const parties = Promise.resolve(settings).then((x) => {
    if (me.party) state.me.settings = x;
    return loadParties();
  });
  await Promise.all([parties, picture, loadInbox()]);
  performance.mark("deconflict:picture-read");
  showMeasureKind();
  state.t = defaultInstant(state.declarations);
  setTime(state.t);
  fitAll();
  performance.mark("deconflict:drawn");
  startStream(ready.head ?? 0);
  startTracks();
  mapEl.focus({ preventScroll: true });
}

// -- live tracks: polled while the server has them (404: it runs without) ------------

const TRACKS_EVERY_MS = 2000;

function startTracks() {
  clearInterval(state.tracksTimer);
  const poll = async () => {
    if (!state.me) return;
    try {
      state.tracks = await api("/v1/tracks");
      const since = trailSince(state.tracks);
      if (since !== null && state.layers.tracks) {
        state.trails = (await api(`/v1/tracks/history?since=${encodeURIComponent(since)}`)).tracks ?? {};
      }
      scheduleRender();
    } catch (err) {
      if (err.status === 404) {  // no live tracks on this server: stop asking
        clearInterval(state.tracksTimer);
        state.tracksTimer = null;
      }
    }
  };
  state.tracksTimer = setInterval(poll, TRACKS_EVERY_MS);
  poll();
}

function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  state.streamAbort?.abort();
  clearInterval(state.tracksTimer);
  state.tracksTimer = null;
  state.tracks = [];
  state.trails = {};
  state.token = null;
  state.me = null;
  state.declarations = [];
  state.measures = { in_force: [], proposed: [] };
  state.notifications = [];
  state.result = null;
  state.shareDefaulted = false;
  state.views.clear();
  state.refs.clear();
  setAsOf(null, false);
  stopPlay();
  $("#signin").hidden = false;
  $("#signin-error").textContent = message;
  $("#token").value = "";
  $("#token").focus();
  render();
  renderInbox();
  renderProposals();
}

$("#signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const token = $("#token").value.trim();
  $("#signin-error").textContent = "";
  try {
    await signIn(token);
  } catch (err) {
    state.token = null;
    $("#signin-error").textContent = err.status === 401 ? "That token is not valid (unknown, expired or revoked)." : `Could not sign in: ${err.message}`;
  }
});
$("#signout").addEventListener("click", () => signOut());

// -- data --------------------------------------------------------------------------

async function loadParties() {
  state.parties = await api("/v1/parties");
  state.styles = partyStyles(state.parties);
  renderLegend();
  renderMeasureParties();
  renderShareParties();
}

/** The share chooser: the parties, ticked as before or, the first time, as the party's setting says. */
function renderShareParties() {
  const box = $("#share-parties");
  let chosen = [...box.querySelectorAll("input:checked")].map((i) => i.value);
  if (!state.shareDefaulted && state.me) {
    const d = defaultShare(state.me.settings ?? state.me);
    $(d.mode === "all" ? "#share-all" : "#share-listed").checked = true;
    chosen = d.parties;
    state.shareDefaulted = true;
  }
  box.innerHTML = shareChooserHTML(state.parties, state.me?.party ?? "", chosen);
  for (const el of box.querySelectorAll("input")) el.disabled = !can("check");
}

const pictureReads = latestOnly();

async function loadPicture() {
  const read = pictureReads.ask();
  if (state.asOf !== null) {
    // As known at a past instant: rebuilt by the server from its log, disclosed as the live reads are.
    const asOf = state.asOf;
    const pic = await api(pictureQuery(asOf));
    if (state.asOf !== asOf || !pictureReads.accept(read)) return;
    state.declarations = pic.declarations;
    state.measures = pic.measures;
  } else {
    // The largest page the API gives (service/listing.py MAX_PAGE): each page is a pass over every declaration.
    const [decls, measures] = await Promise.all([apiAll("/v1/declarations?references=true&limit=5000"), api("/v1/measures")]);
    // A read started before a change (say a withdrawal) may answer after one started after it: never shown over it.
    if (state.asOf !== null || !pictureReads.accept(read)) return;
    // References are kept apart, so the declarations stay in the import format (exports).
    for (const d of decls) {
      if (d.reference) state.refs.set(d.id, d.reference);
      delete d.reference;
    }
    state.declarations = decls;
    state.measures = measures;
  }
  shapeCache.clear();
  render();
  renderProposals();
  if (state.selected && !$("#details").hidden) selectObject(state.selected, false, true);
}

async function loadInbox() {
  state.notifications = await api("/v1/notifications");
  renderInbox();
}

const refreshPicture = debounce(loadPicture, 150);
const refreshInbox = debounce(loadInbox, 150);
const refreshParties = debounce(loadParties, 150);
const refreshSelected = debounce(async () => { if (state.selected) selectObject(state.selected, false, true); }, 300);

function startStream(after) {
  state.streamAbort?.abort();
  const ctrl = new AbortController();
  state.streamAbort = ctrl;
  const el = $("#stream-state");
  stream("/v1/stream?wait=15", {
    headers: { Authorization: `Bearer ${state.token}` },
    signal: ctrl.signal,
    after,
    onState: (s) => {
      el.className = `stream ${s}`;
      el.textContent = s === "live" ? "live" : "reconnecting…";
    },
    onEvent: (e) => {
      const type = e.event;
      if (type.startsWith("notification.")) {
        refreshInbox();
        // An answer to one of this party's activities changes what its details show.
        if (state.selected && !$("#details").hidden) refreshSelected();
        if (type === "notification.sent") announce("New notification in the inbox");
      } else if (type.startsWith("declaration.") || type.startsWith("measure.") || type.startsWith("agreement.") || type === "activity.accepted") {
        refreshPicture();
      } else if (type.startsWith("party.")) {
        refreshParties();
      }
    },
  });
}

function announce(text) {
  const el = $("#announce");
  el.textContent = "";
  setTimeout(() => { el.textContent = text; }, 50);
}

// -- the map ---------------------------------------------------------------------------

// OpenLayers owns the view; state.view is read from it as it moves (olview.js) and
// every change of view the app makes goes through setView. The operational picture
// is OpenLayers vector layers on canvas (opslayers.js): moved with the base by
// OpenLayers while the view moves, its features made again only when the data, the
// instant, the layers or the plan change (draw()).
const olmap = createMap({ target: mapEl, labels: () => state.layers.labels });

function syncView() {
  const size = olmap.map.getSize();
  const center = olmap.view.getCenter();
  const resolution = olmap.view.getResolution();
  if (!size || !center || !resolution) return;
  state.view = fromOL(center, resolution, size);
  const centre = unproject(state.view, [state.view.width / 2, state.view.height / 2]);
  const bar = scaleBar(state.view, centre[1]);
  $("#scale-bar").style.width = `${bar.pixels.toFixed(0)}px`;
  $("#scale-label").textContent = bar.label;
}
olmap.map.on("postrender", syncView);

/** Move the map to a view ({cx, cy, scale, width, height}, projection.js). */
function setView(v) {
  const { center, resolution } = toOL(v);
  olmap.view.cancelAnimations();
  olmap.view.setCenter(center);
  olmap.view.setResolution(resolution);
  state.view = { ...v, width: state.view.width, height: state.view.height };
}

function sized(v) {
  const size = olmap.map.getSize() ?? [mapEl.clientWidth || 800, mapEl.clientHeight || 600];
  return { ...v, width: size[0], height: size[1] };
}

function zoomBy(factor) {
  setView({ ...state.view, scale: state.view.scale * factor });
}

function panBy(dx, dy) {
  setView({ ...state.view, cx: state.view.cx - dx / state.view.scale, cy: Math.max(0, Math.min(1, state.view.cy - dy / state.view.scale)) });
}

// -- operational layers ------------------------------------------------------------------

const shapeCache = new Map();
function shapes(obj) {
  const key = `${obj.id}|${JSON.stringify(obj)}`;
  let s = shapeCache.get(key);
  if (!s) {
    s = shapesOf(obj);
    s.box = bbox(s.shapes.flatMap((x) => (x.type === "point" ? [x.coords] : x.coords)));
    shapeCache.set(key, s);
  }
  return s;
}

function partyStyle(owner) {
  return state.styles[owner] ?? { colour: "#444", dash: "" };
}

// Results that depend on the data, the instant and the layers but not on the view,
// kept between draws (the identity of the arrays changes whenever the data does).
const overdueMemo = { key: null, value: new Set() };
const visibleMemo = { key: null, value: [] };
const listMemo = { key: null };
const drawMemo = { objects: null, highlights: null, tracks: null, restyle: null };
function dataKey() {
  return [state.declarations, state.measures, state.t, JSON.stringify(state.layers), state.me, state.refs.size];
}

function visibleObjects() {
  const key = dataKey();
  if (!sameKey(visibleMemo.key, key)) {
    visibleMemo.key = key;
    visibleMemo.value = computeVisibleObjects();
  }
  return visibleMemo.value;
}

function computeVisibleObjects() {
  const t = state.t;
  const out = [];
  if (state.layers.measures) {
    for (const m of state.measures.in_force ?? []) if (inForce(m, t)) out.push({ obj: m, proposed: false });
  }
  if (state.layers.proposed) {
    for (const p of state.measures.proposed ?? []) if (inForce(p.measure, t)) out.push({ obj: p.measure, proposed: true, proposal: p });
  }
  for (const d of state.declarations) {
    if (state.layers[d.kind] && inForce(d, t)) out.push({ obj: d, proposed: false });
  }
  return out;
}

// milsymbol's SVG, for the legend (the map draws the same symbols on canvas, opslayers.js).
const symbolCache = new Map();
function symbolSVG(sidc, options) {
  const key = `${sidc}|${JSON.stringify(options)}`;
  let s = symbolCache.get(key);
  if (!s) {
    const sym = new window.ms.Symbol(sidc, { size: 22, ...options });
    s = { svg: sym.asSVG(), anchor: sym.getAnchor(), size: sym.getSize() };
    symbolCache.set(key, s);
  }
  return s;
}

/** The map label of an object (labels.js: objectLabel), with its reference and whether it is overdue. */
function labelText(item) {
  const id = item.obj.id;
  return objectLabel(item, state.refs.get(id) ?? state.views.get(id)?.reference, Boolean(state.overdue?.has(id)));
}

const ops = createOps(olmap.map, {
  partyStyle,
  selected: () => state.selected,
  overdue: (id) => Boolean(state.overdue?.has(id)),
  labels: () => state.layers.labels,
  labelText,
  sidcFor: (obj, role) => sidcFor(obj, state.me?.party ?? "", role),
});

/** The objects in force, in drawing order, with their shapes now (scene.js). */
function objectsToDraw() {
  return drawList(visibleObjects(), state.t, shapes);
}

// The part of each object a finding is about (scene.js, finding-geo.js).
function highlightParts() {
  if (!state.checked) return [];
  return findingParts(state.result, checkedShapes(), [...state.declarations, ...(state.measures.in_force ?? [])], shapes);
}

function checkedShapes() {
  const key = JSON.stringify(state.checked);
  if (state.checkedShapes?.key !== key) {
    let list = [];
    try {
      list = shapesOf({ id: "checked", owner: state.me?.party ?? "", ...state.checked }).shapes;
    } catch {
      list = [];
    }
    state.checkedShapes = { key, list };
  }
  return state.checkedShapes.list;
}

/** What to highlight for each finding, in [lon, lat] (opslayers.js draws it). */
function highlights() {
  return highlightsOf(highlightParts(), shapes);
}

/** On Check: the map goes to the activity and the closest points of what it touches. */
function zoomToChecked() {
  const pts = checkedShapes().flatMap((sh) => (sh.type === "point" ? [sh.coords] : sh.coords));
  for (const { pair } of highlightParts()) if (pair) pts.push(pair.to);
  if (!pts.length) return;
  const v = fit(sized(state.view), bbox(pts), 90);
  setView(v.scale > 256 * 2 ** 14 ? { ...v, scale: 256 * 2 ** 14 } : v);
}

function currentPlanShapes() {
  const plan = readPlan(false);
  const doc = { id: "plan", owner: state.me?.party ?? "", kind: plan.kind };
  if (plan.kind === "site") {
    if (!plan.position) return null;
    doc.geometry = { type: "Point", coordinates: plan.position };
    doc.protection_m = Number(plan.protection) > 0 ? Number(plan.protection) : 0;
    return { ...shapesOf(doc), vertices: [plan.position] };
  }
  if (plan.kind === "fire") {
    if (!plan.target) return null;
    doc.target = { type: "Point", coordinates: plan.target };
    doc.effects_radius_m = Number(plan.radius) > 0 ? Number(plan.radius) : 1;
    if (plan.origin) doc.origin = { type: "Point", coordinates: plan.origin };
  } else {
    if (!plan.points?.length) return null;
    if (plan.points.length === 1) return { shapes: [], vertices: plan.points };
    doc.geometry = { type: "LineString", coordinates: plan.points };
    doc.half_width_m = Number(plan.halfWidth) > 0 ? Number(plan.halfWidth) : 1;
  }
  return { ...shapesOf(doc), vertices: plan.kind === "fire" ? [] : plan.points };
}

/** The activity being planned, as parts for the plan layer. */
function planPartsNow() {
  return planParts(currentPlanShapes(), $("input[name=kind]:checked").value);
}

let drawQueued = false;
/** Draw the picture again (at the next frame): its features are made again where the data changed. */
function scheduleRender() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    draw();
  });
}

function render() {
  draw();
}

function draw() {
  const signedIn = Boolean(state.me);
  // What is overdue changes with the data and the clock, not with the view: kept between draws.
  const overdueKey = [state.declarations, state.notifications, state.viewsVersion, Math.floor(Date.now() / 10000)];
  if (!sameKey(overdueMemo.key, overdueKey)) {
    overdueMemo.key = overdueKey;
    overdueMemo.value = overdueSubjects(state.declarations.map((d) => mergeActivity(d, state.views.get(d.id))), state.notifications);
  }
  state.overdue = overdueMemo.value;
  const objectsKey = [...dataKey(), signedIn];
  if (!sameKey(drawMemo.objects, objectsKey)) {
    drawMemo.objects = objectsKey;
    ops.setObjects(signedIn ? objectsToDraw() : []);
  }
  const hlKey = [state.result, state.checked, state.declarations, state.measures, signedIn];
  if (!sameKey(drawMemo.highlights, hlKey)) {
    drawMemo.highlights = hlKey;
    ops.setHighlights(signedIn ? highlights() : []);
  }
  ops.setPlan(signedIn ? [...planPartsNow(), ...measureDraftParts(readMeasure(false), POLYGON_MEASURES)] : [], state.gotoMark);
  // Live positions are now: drawn in the live picture only, not "as known at" a past instant.
  const showTracks = signedIn && state.layers.tracks && state.asOf === null;
  const tracksKey = [state.tracks, state.trails, showTracks, state.me];
  if (!sameKey(drawMemo.tracks, tracksKey)) {
    drawMemo.tracks = tracksKey;
    const me = state.me?.party ?? "";
    ops.setTracks(showTracks ? state.tracks.map((t) => ({
      track: t, sidc: trackSidc(t, me), text: trackLabel(t), trail: trailLines(state.trails[t.uid]),
    })) : []);
  }
  const restyleKey = [state.selected, state.overdue, state.viewsVersion, state.refs.size, state.layers.labels];
  if (!sameKey(drawMemo.restyle, restyleKey)) {
    drawMemo.restyle = restyleKey;
    ops.restyle();
  }
  syncView();
  renderObjectList();
}

function renderLegend() {
  $("#legend").innerHTML = legendHTML({ styles: state.styles, parties: state.parties, me: state.me?.party ?? null,
    symbolSVG: window.ms ? (sidc, options) => symbolSVG(sidc, options).svg : null });
}

function renderObjectList() {
  const ul = $("#object-list");
  if (!ul) return;
  const key = [...dataKey(), state.asOf];
  if (sameKey(listMemo.key, key)) return;
  listMemo.key = key;
  const items = state.me ? visibleObjects() : [];
  ul.innerHTML = items.map((item) => `<li>${objectButtonHTML(item, state.refs.get(item.obj.id))}</li>`).join("")
    || '<li class="note">Nothing in force at this instant.</li>';
}

$("#object-list").addEventListener("click", (e) => {
  const id = e.target.closest("button[data-id]")?.dataset.id;
  if (id) {
    selectObject(id, true);
  }
});

function findObject(id) {
  return state.declarations.find((o) => o.id === id)
    ?? state.measures.in_force?.find((o) => o.id === id)
    ?? state.measures.proposed?.map((p) => p.measure).find((o) => o.id === id);
}

function selectObject(id, centre = false, fetchFresh = true) {
  const obj = findObject(id);
  // The activity as the service sees it now (its reference, current findings and, to
  // its originator, each party's answer) is read fresh, and kept apart from the
  // declaration so exports stay in the import format.
  if (obj && fetchFresh && !isMeasure(obj) && state.asOf === null) {
    api(`/v1/activities/${encodeURIComponent(id)}`).then((view) => {
      if (!view || !state.declarations.some((d) => d.id === id)) return;
      state.views.set(id, view);
      state.viewsVersion = (state.viewsVersion ?? 0) + 1;
      if (state.selected === id) selectObject(id, false, false);
    }).catch(() => {});
  }
  const shown = obj && !isMeasure(obj) ? mergeActivity({ ...obj, reference: state.refs.get(id) }, state.views.get(id)) : obj;
  state.selected = obj ? id : null;
  const box = $("#details");
  if (!obj) {
    box.hidden = true;
    scheduleRender();
    return;
  }
  const withdrawing = state.withdrawal?.what === "declaration" && state.withdrawal.id === id ? state.withdrawal : null;
  const s = shapes(obj);
  if (centre && s.box && Number.isFinite(s.box[0])) {
    const v = fit(sized(state.view), s.box, 80);
    setView(v.scale > 256 * 2 ** 13 ? { ...v, scale: 256 * 2 ** 13 } : v);
  }
  const rows = detailRows(obj, shown, s.anchor, mgrs);
  box.innerHTML = `<h3>${esc(labelOf(obj))}</h3><dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>`
    + (isMeasure(obj) ? "" : answersHTML(shown) + currentFindingsHTML(currentFindings(shown)))
    + '<div class="row"><button type="button" id="details-close">Close</button>'
    + (!isMeasure(obj) && obj.owner === state.me?.party && can("check") && state.asOf === null
      ? (planFromDeclaration(obj, state.me.party) ? '<button type="button" id="details-amend">Amend</button>' : "")
        + detailsWithdrawHTML(withdrawing) : "")
    + `</div><p id="details-status" class="status" role="status">${withdrawing?.stage === "failed"
      ? esc(`Not withdrawn: ${withdrawing.error}`) : ""}</p>`;
  box.hidden = false;
  $("#details-amend")?.addEventListener("click", () => amend(id));
  $("#details-withdraw")?.addEventListener("click", async () => {
    // Withdrawing answers every open objection about it; the parties told of it are notified.
    // The stage lives in state: the details are redrawn by every refresh of the selection.
    const w = state.withdrawal?.what === "declaration" && state.withdrawal.id === id ? state.withdrawal : null;
    if (w?.stage === "sending") return;
    if (w?.stage !== "confirm") {
      state.withdrawal = { what: "declaration", id, stage: "confirm" };
      selectObject(id, false, false);
      return;
    }
    state.withdrawal = { what: "declaration", id, stage: "sending" };
    try {
      await api(`/v1/declarations/${encodeURIComponent(id)}`, { method: "DELETE" });
      state.withdrawal = null;
      const done = `Withdrew ${id}; the parties told of it are notified.`;
      announce(done);
      state.views.delete(id);
      state.viewsVersion = (state.viewsVersion ?? 0) + 1;
      await loadPicture();
      const st = $("#details-status");
      if (st) st.textContent = done;
    } catch (err) {
      state.withdrawal = { what: "declaration", id, stage: "failed", error: err.message };
      const st = $("#details-status");
      if (st) st.textContent = `Not withdrawn: ${err.message}`;
    }
  });
  $("#details-close").addEventListener("click", () => {
    state.selected = null;
    box.hidden = true;
    scheduleRender();
    mapEl.focus();
  });
  scheduleRender();
}

function fitAll() {
  // Declarations are where the activity is; long lines and wide measures would
  // zoom the map out past them. Measures only when there is no declaration.
  // Boxes without shapes: making the geodesic shapes of 10,000 objects would cost seconds.
  const ok = (b) => b && Number.isFinite(b[0]);
  const decls = state.declarations.map(roughBox).filter(ok);
  const all = (state.measures.in_force ?? []).map(roughBox).filter(ok);
  const use = decls.length ? decls : all;
  if (!use.length) return;
  const box = [Math.min(...use.map((b) => b[0])), Math.min(...use.map((b) => b[1])), Math.max(...use.map((b) => b[2])), Math.max(...use.map((b) => b[3]))];
  setView(fit(sized(state.view), box, 50));
}

// -- map interaction ---------------------------------------------------------------------

// Pan, zoom, pinch and the wheel are OpenLayers' interactions; a click selects or
// places a point, and the keys below are the map's own.
olmap.map.on("pointermove", (e) => showCursor(unproject(state.view, e.pixel)));
olmap.map.on("click", (e) => mapClick(e.pixel, e.originalEvent));
// While drawing a line, a double click ends it and does not zoom. OpenLayers calls
// any two clicks within 250 ms a double click, wherever they are; the browser's own
// dblclick also needs them at one spot, so it is the one that ends the line.
olmap.map.on("dblclick", () => !(state.pick === "route" || state.pick === "measure"));
mapEl.addEventListener("dblclick", () => {
  if (state.pick === "route" || state.pick === "measure") finishRoute();
});

function mapClick(xy, e) {
  const lonlat = unproject(state.view, xy);
  if (state.pick) {
    placePick(lonlat);
    return;
  }
  // Everything under the pointer, top first: one object is selected, several are offered in a picker.
  const ids = ops.idsAt(xy).filter((id) => findObject(id));
  closePicker();
  if (ids.length > 1) openPicker(ids, xy);
  else selectObject(ids[0] ?? null);
}

function closePicker() {
  const old = $("#picker");
  if (old) old.remove();
}

function openPicker(ids, [x, y]) {
  const box = document.createElement("div");
  box.id = "picker";
  box.className = "picker card";
  box.setAttribute("role", "menu");
  box.setAttribute("aria-label", "Objects here");
  box.style.left = `${Math.min(x + 8, state.view.width - 260)}px`;
  box.style.top = `${Math.min(y + 8, state.view.height - 40 * ids.length - 20)}px`;
  box.innerHTML = `<p class="note">${ids.length} objects here:</p>`
    + ids.map((id) => objectButtonHTML({ obj: findObject(id) }, null, "menuitem")).join("");
  box.addEventListener("click", (ev) => {
    const id = ev.target.closest("button[data-id]")?.dataset.id;
    if (!id) return;
    closePicker();
    selectObject(id);
  });
  box.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      closePicker();
      mapEl.focus();
    }
  });
  $("#map-wrap").append(box);
  box.querySelector("button")?.focus();
}

const centreOfView = () => unproject(state.view, [state.view.width / 2, state.view.height / 2]);
const keyActions = mapKeys({
  panBy,
  zoomBy,
  place: () => { if (state.pick) placePick(centreOfView()); },
  finish: () => { if (state.pick === "route" || state.pick === "measure") finishRoute(); else setPick(null); },
  dropPoint: () => {
    if (state.pick !== "route" && state.pick !== "measure") return;
    const field = state.pick === "measure" ? "#m-points" : "#plan-points";
    $(field).value = routeLines(field).slice(0, -1).join("\n");
  },
});
mapEl.addEventListener("keydown", (e) => {
  if (e.target !== mapEl || e.ctrlKey || e.metaKey || e.altKey) return;
  const fn = keyActions[e.key];
  if (fn) {
    e.preventDefault();
    fn();
    showCursor(centreOfView());
    scheduleRender();
  }
});

function showCursor(lonlat) {
  $("#cursor").textContent = `${formatLatLon(lonlat)}  ·  MGRS ${formatMGRS(mgrs, lonlat) || "—"}`;
}

$("#zoom-in").addEventListener("click", () => zoomBy(2));
$("#zoom-out").addEventListener("click", () => zoomBy(0.5));
$("#zoom-fit").addEventListener("click", fitAll);

$("#goto-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const err = $("#goto-error");
  err.textContent = "";
  try {
    const p = parsePosition($("#goto").value, mgrs);
    state.gotoMark = p;
    setView(makeView(p, Math.max(state.view.scale, 256 * 2 ** 11), state.view.width, state.view.height));
    showCursor(p);
  } catch (ex) {
    err.textContent = ex.message;
  }
});

// -- time ------------------------------------------------------------------------------

function setTime(t) {
  state.t = t;
  const day = dayStart(t);
  $("#day").value = new Date(day).toISOString().slice(0, 10);
  $("#day").setCustomValidity("");
  $("#time").value = String(Math.round((t - day) / MINUTE));
  $("#time-label").textContent = `${new Date(t).toISOString().slice(0, 16).replace("T", " ")}Z`;
  renderTimeline(day);
  scheduleRender();
}

function renderTimeline(day) {
  $("#timeline").innerHTML = timelineHTML(state.declarations, day);
}

$("#time").addEventListener("input", () => {
  const day = Date.parse(`${$("#day").value}T00:00:00Z`);
  setTime(day + Number($("#time").value) * MINUTE);
});
$("#day").addEventListener("change", () => {
  const text = $("#day").value.trim();
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : NaN;
  if (Number.isNaN(day)) {
    $("#day").setCustomValidity("Write the day as YYYY-MM-DD");
    $("#day").reportValidity();
    return;
  }
  setTime(day + Number($("#time").value) * MINUTE);
});
$("#day-prev").addEventListener("click", () => setTime(state.t - DAY));
$("#day-next").addEventListener("click", () => setTime(state.t + DAY));
$("#now").addEventListener("click", () => setTime(Math.floor(Date.now() / MINUTE) * MINUTE));

function stopPlay() {
  if (state.playing) clearInterval(state.playing);
  state.playing = null;
  $("#play").setAttribute("aria-pressed", "false");
  $("#play").textContent = "▶ Play";
}

$("#play").addEventListener("click", () => {
  if (state.playing) {
    stopPlay();
    return;
  }
  $("#play").setAttribute("aria-pressed", "true");
  $("#play").textContent = "❚❚ Pause";
  state.playing = setInterval(() => {
    const step = Number($("#speed").value) * MINUTE;
    const next = state.t + step;
    if (next >= dayStart(state.t) + DAY) {
      stopPlay();
      return;
    }
    setTime(next);
  }, 600);
});

// -- planning --------------------------------------------------------------------------

function routeLines(field = "#plan-points") {
  return $(field).value.split("\n").map((l) => l.trim()).filter(Boolean);
}

function positionText(p) {
  return `${p[1].toFixed(5)}, ${p[0].toFixed(5)}`;
}

/** The plan as the form says; `strict` throws PlanError on unreadable positions. */
function readPlan(strict = true) {
  const kind = $("input[name=kind]:checked").value;
  const pos = (id, field) => {
    const text = $(id).value.trim();
    if (!text) return null;
    try {
      return parsePosition(text, mgrs);
    } catch (e) {
      if (strict) throw new PlanError(field, e.message);
      return null;
    }
  };
  const plan = {
    kind,
    label: $("#plan-label").value.trim(),
    sidc: $("#plan-sidc").value,
    echelon: $("#plan-echelon").value,
    designation: $("#plan-designation").value,
    start: parseUTC($("#plan-start").value),
    end: parseUTC($("#plan-end").value),
    altUnit: $("#plan-unit").value,
  };
  plan.share = { mode: $("input[name=share]:checked")?.value ?? "all", parties: [...document.querySelectorAll("#share-parties input:checked")].map((i) => i.value) };
  plan.me = state.me?.party ?? "";
  plan.details = Object.fromEntries(Object.entries(DETAIL_FIELDS).map(([k, id]) => [k, $(id).value]));
  if (kind === "site") {
    plan.position = pos("#plan-target", "target");
    plan.facility = $("#plan-facility").value;
    plan.protection = $("#plan-protection").value;
  } else if (kind === "fire") {
    plan.target = pos("#plan-target", "target");
    plan.radius = $("#plan-radius").value;
    plan.origin = pos("#plan-origin", "origin");
    plan.maxOrdinate = $("#plan-maxord").value;
    if (plan.origin) plan.altUnit = "m";
  } else {
    const pts = [];
    for (const [i, line] of routeLines().entries()) {
      try {
        pts.push(parsePosition(line, mgrs));
      } catch (e) {
        if (strict) throw new PlanError("points", `line ${i + 1}: ${e.message}`);
      }
    }
    plan.points = pts;
    plan.halfWidth = $("#plan-halfwidth").value;
    plan.lower = $("#plan-lower").value;
    plan.upper = $("#plan-upper").value;
  }
  if (strict && $("#plan-start").value.trim() && plan.start === null) throw new PlanError("start", "write the time as YYYY-MM-DD HH:MM (UTC)");
  if (strict && $("#plan-end").value.trim() && plan.end === null) throw new PlanError("end", "write the time as YYYY-MM-DD HH:MM (UTC)");
  return plan;
}

const DETAIL_FIELDS = {
  organisation: "#d-organisation", contactName: "#d-contact", phone: "#d-phone", radio: "#d-radio", email: "#d-email",
  people: "#d-people", vehicles: "#d-vehicles", plates: "#d-plates", markings: "#d-markings", cargo: "#d-cargo", remarks: "#d-remarks",
};

function showKind() {
  const kind = $("input[name=kind]:checked").value;
  document.querySelector(".for-point").hidden = kind !== "fire" && kind !== "site";
  $("#plan-target-what").textContent = kind === "site" ? "Position" : "Target";
  document.querySelector(".for-site").hidden = kind !== "site";
  document.querySelector(".for-details").hidden = kind !== "site" && kind !== "movement";
  document.querySelector(".for-fire").hidden = kind !== "fire";
  document.querySelector(".for-route").hidden = kind === "fire" || kind === "site";
  document.querySelector(".for-flight").hidden = kind !== "flight";
  setPick(null);
  planChanged();
}
for (const r of document.querySelectorAll("input[name=kind]")) r.addEventListener("change", showKind);

function setPick(mode) {
  state.pick = mode;
  $("#pick-target").setAttribute("aria-pressed", String(mode === "target"));
  $("#pick-origin").setAttribute("aria-pressed", String(mode === "origin"));
  $("#draw-route").setAttribute("aria-pressed", String(mode === "route"));
  $("#finish-route").hidden = mode !== "route";
  $("#m-draw").setAttribute("aria-pressed", String(mode === "measure"));
  $("#m-finish").hidden = mode !== "measure";
  mapEl.classList.toggle("picking", Boolean(mode));
  $("#crosshair").hidden = !mode;
  if (mode) {
    announce(mode === "route" || mode === "measure" ? "Click the map to add route points; double-click, Escape or Finish ends. Keyboard: Enter adds the centre." : "Click the map, or press Enter to place at the centre cross.");
    mapEl.focus({ preventScroll: true });
  }
}

function placePick(lonlat) {
  if (state.pick === "target") {
    $("#plan-target").value = positionText(lonlat);
    setPick(null);
    $("#plan-target").focus();
  } else if (state.pick === "origin") {
    $("#plan-origin").value = positionText(lonlat);
    setPick(null);
  } else if (state.pick === "route") {
    const pts = routeLines();
    pts.push(positionText(lonlat));
    $("#plan-points").value = pts.join("\n");
  } else if (state.pick === "measure") {
    const pts = routeLines("#m-points");
    pts.push(positionText(lonlat));
    $("#m-points").value = pts.join("\n");
    scheduleRender();
    return;
  }
  planChanged();
}

function finishRoute() {
  const field = state.pick === "measure" ? "#m-points" : "#plan-points";
  setPick(null);
  $(field).focus();
}

$("#pick-target").addEventListener("click", () => setPick(state.pick === "target" ? null : "target"));
$("#pick-origin").addEventListener("click", () => setPick(state.pick === "origin" ? null : "origin"));
$("#draw-route").addEventListener("click", () => setPick(state.pick === "route" ? null : "route"));
$("#finish-route").addEventListener("click", finishRoute);

function planChanged() {
  // A changed plan has not been checked: the verdict shown would be stale.
  if (state.result) {
    state.result = null;
    state.checked = null;
    $("#result").hidden = true;
  }
  scheduleRender();
}
$("#plan-form").addEventListener("input", planChanged);

function clearErrors() {
  for (const el of document.querySelectorAll("#plan-form .error")) el.textContent = "";
}

function fieldError(field, message) {
  const el = $(`#err-${field}`) ?? (field in DETAIL_FIELDS ? $("#err-details") : null) ?? $("#err-start");
  el.textContent = message;
  if (["people", "vehicles", "plates", "email"].includes(field) || field in DETAIL_FIELDS) $("#plan-details").open = true;
  if (field === "sidc" || field === "designation") $("#plan-symbol").open = true;
  const input = { ...DETAIL_FIELDS, facility: "#plan-facility", target: "#plan-target", radius: $("input[name=kind]:checked").value === "site" ? "#plan-protection" : "#plan-radius", origin: "#plan-origin", maxOrdinate: "#plan-maxord", points: "#plan-points",
    sidc: "#plan-sidc", designation: "#plan-designation", halfWidth: "#plan-halfwidth", lower: "#plan-lower", upper: "#plan-upper", start: "#plan-start", end: "#plan-end" }[field];
  if (input) $(input).focus();
}

function prefillWindow() {
  if (!$("#plan-start").value) {
    const start = Math.floor(state.t / (5 * MINUTE)) * 5 * MINUTE;
    $("#plan-start").value = formatUTCInput(start).replace("T", " ");
    $("#plan-end").value = formatUTCInput(start + 15 * MINUTE).replace("T", " ");
  }
}
$("#plan-form").addEventListener("focusin", prefillWindow, { once: true });

$("#plan-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors();
  let doc;
  try {
    doc = declarationDoc(readPlan(true));
    // Same id, same owner: the service takes it as a new version of the activity.
    if (state.amending) doc.id = state.amending.id;
  } catch (err) {
    if (err instanceof PlanError) {
      fieldError(err.field, err.message);
      return;
    }
    throw err;
  }
  $("#plan-check").disabled = true;
  try {
    const result = await api("/v1/checks", { method: "POST", body: { activity: doc } });
    showResult(doc, result);
  } catch (err) {
    showProblem(err);
  } finally {
    $("#plan-check").disabled = !can("check");
  }
});

function showProblem(err) {
  const field = err.problem?.field ?? "";
  const known = { "activity.target": "target", "activity.effects_radius_m": "radius", "activity.geometry": "points", "activity.half_width_m": "halfWidth",
    "activity.window": "start", "activity.window.start": "start", "activity.window.end": "end", "activity.altitude": "lower",
    "activity.geometry.coordinates": "target", "activity.facility": "facility", "activity.protection_m": "radius",
    "activity.details.people": "people", "activity.details.vehicles": "vehicles", "activity.details.contact.email": "email",
    "activity.share_with": "start" };
  if (field.startsWith("activity.details")) {
    const leaf = field.split(".")[2] ?? "";
    fieldError({ vehicles: "vehicles", people: "people", contact: field.endsWith("email") ? "email" : "contactName" }[leaf] ?? (leaf in DETAIL_FIELDS ? leaf : "remarks"), `${field}: ${err.problem?.reason ?? err.message}`);
    return;
  }
  if (field.startsWith("activity.geometry") && $("input[name=kind]:checked").value === "site") {
    fieldError("target", err.message);
    return;
  }
  const key = Object.keys(known).find((k) => field.startsWith(k));
  fieldError(key ? known[key] : "start", err.message);
}

function showResult(doc, result) {
  state.result = result;
  state.checked = doc;
  const view = findingsView(result);
  const v = VERDICT_TEXT[result.verdict] ?? { icon: "?", text: result.verdict };
  const verdict = $("#verdict");
  verdict.className = `verdict ${result.verdict}`;
  verdict.textContent = `${v.icon} ${v.text}`;
  $("#findings").innerHTML = view.findings.map((f) => {
    const o = f.object ?? {};
    const what = o.id ? `${o.id}${o.label ? ` “${o.label}”` : ""} (${(o.kind || o.type || "").replaceAll("_", " ")} of ${o.owner})` : `an undisclosed declaration of ${o.owner}`;
    const sep = o.id && f.separation_m !== null && f.separation_m !== undefined ? ` · ${Math.round(f.separation_m)} m apart` : "";
    const show = o.id && findObject(o.id) ? ` <button type="button" data-show="${esc(o.id)}">Show</button>` : "";
    return `<li class="finding ${esc(f.kind)}" data-object="${esc(o.id)}"><span class="kind">${esc(VERDICT_TEXT[f.kind]?.icon ?? "")} ${esc(f.kind.replaceAll("_", " "))}</span> `
      + `${esc(what)} — <code>${esc(f.rule)}</code>${esc(sep)}${show}<span class="why">${esc(f.explanation)}</span></li>`;
  }).join("") || "<li>No finding: nothing in force is touched, in position, altitude or time.</li>";
  $("#result-share").textContent = `Shared with: ${shareText(doc.share_with, state.me?.party ?? "")}.`;
  $("#will-notify").textContent = willNotifyText(result, state.me?.party ?? "");
  $("#result").hidden = false;
  $("#override").hidden = true;
  $("#submit-status").textContent = "";
  $("#plan-submit").disabled = !can("check");
  announce(`Verdict: ${v.text}. ${view.findings.length} finding(s).`);
  // Show the picture when the activity happens, so what it touches is drawn.
  const start = Date.parse(doc.window.start);
  if (!Number.isNaN(start)) setTime(start);
  zoomToChecked();
  scheduleRender();
}

$("#findings").addEventListener("click", (e) => {
  const id = e.target.closest("button[data-show]")?.dataset.show;
  if (id) selectObject(id, true);
});

function idempotencyKey() {
  return `web-${crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`}`;
}

async function submit(overrideReason = "") {
  if (!state.checked) return;
  const status = $("#submit-status");
  status.textContent = "Submitting…";
  try {
    const out = await api("/v1/activities", {
      method: "POST",
      body: { activity: state.checked, override_reason: overrideReason },
      headers: { "Idempotency-Key": idempotencyKey() },
    });
    $("#override").hidden = true;
    const ref = out.reference ? ` (${out.reference})` : "";
    status.textContent = `Accepted as ${out.id}${ref}${out.overridden ? ", overridden" : ""}. Shared with ${shareText(state.checked.share_with, state.me?.party ?? "")}. ${notifiedText(out)}`
      + (warningsText(out) ? ` ${warningsText(out)}` : "");
    $("#will-notify").textContent = "";
    if (out.reference) state.refs.set(out.id, out.reference);
    announce(status.textContent);
    state.result = null;
    state.checked = null;
    $("#plan-target").value = "";
    $("#plan-points").value = "";
    $("#plan-submit").disabled = true;
    stopAmending();
    await loadPicture();
  } catch (err) {
    if (err.status === 409 && err.problem?.result) {
      status.textContent = `Refused: ${err.problem.result.verdict}. Give a reason to override, or change the plan.`;
      showResultOnly(err.problem.result);
      $("#override").hidden = false;
      $("#override-reason").focus();
    } else {
      status.textContent = `Not submitted: ${err.message}`;
    }
  }
}

function showResultOnly(result) {
  state.result = result;
  scheduleRender();
}

$("#plan-submit").addEventListener("click", () => submit(""));
$("#plan-override").addEventListener("click", () => {
  const reason = $("#override-reason").value.trim();
  if (!reason) {
    $("#submit-status").textContent = "An override needs a reason.";
    $("#override-reason").focus();
    return;
  }
  submit(reason);
});
$("#plan-clear").addEventListener("click", () => {
  stopAmending();
  $("#plan-form").reset();
  clearErrors();
  setPick(null);
  state.result = null;
  state.checked = null;
  $("#result").hidden = true;
  showKind();
});

// -- amending an accepted activity: the plan form, filled with it ------------------------

/** Fill the plan form with ``plan`` (declare.js planFromDeclaration): positions at full
 * precision, so an amendment changes only what the user changes. */
function fillPlan(plan) {
  $("#plan-form").reset();
  clearErrors();
  $(`#plan-kind-${plan.kind}`).checked = true;
  showKind();
  const at = (p) => `${p[1]}, ${p[0]}`;
  $("#plan-label").value = plan.label;
  $("#plan-start").value = formatUTCInput(plan.start).replace("T", " ");
  $("#plan-end").value = formatUTCInput(plan.end).replace("T", " ");
  $("#plan-unit").value = plan.altUnit;
  if (plan.kind === "site") {
    $("#plan-target").value = at(plan.position);
    $("#plan-facility").value = plan.facility;
    $("#plan-protection").value = plan.protection;
  } else if (plan.kind === "fire") {
    $("#plan-target").value = at(plan.target);
    $("#plan-radius").value = plan.radius;
    $("#plan-origin").value = plan.origin ? at(plan.origin) : "";
    $("#plan-maxord").value = plan.maxOrdinate;
  } else {
    $("#plan-points").value = plan.points.map(at).join("\n");
    $("#plan-halfwidth").value = plan.halfWidth;
    if (plan.kind === "flight") {
      $("#plan-lower").value = plan.lower;
      $("#plan-upper").value = plan.upper;
    }
  }
  for (const [k, sel] of Object.entries(DETAIL_FIELDS)) $(sel).value = plan.details[k] ?? "";
  $("#plan-sidc").value = plan.sidc;
  $("#plan-echelon").value = plan.echelon;
  $("#plan-designation").value = plan.designation;
  if (plan.sidc || plan.designation) $("#plan-symbol").open = true;
  state.shareDefaulted = true;
  $(plan.share.mode === "all" ? "#share-all" : "#share-listed").checked = true;
  $("#share-parties").innerHTML = shareChooserHTML(state.parties, state.me?.party ?? "", plan.share.parties);
  planChanged();
}

function amend(id) {
  const obj = state.declarations.find((d) => d.id === id);
  const plan = obj && planFromDeclaration(obj, state.me?.party ?? "");
  if (!plan) return;
  fillPlan(plan);
  state.amending = { id, label: obj.label || id, reference: state.refs.get(id) ?? null };
  const box = $("#plan-amending");
  box.querySelector("span").textContent = `Amending ${state.amending.label}${state.amending.reference ? ` (${state.amending.reference})` : ""}: `
    + "change it, check, then submit the new version. The parties told of it are told again.";
  box.hidden = false;
  selectTab($("#tab-plan"));
  $("#plan-label").focus();
}

function stopAmending() {
  state.amending = null;
  $("#plan-amending").hidden = true;
}

$("#plan-amend-cancel").addEventListener("click", () => {
  stopAmending();
  $("#plan-clear").click();
});

// -- measures: proposed on the map, accepted by the parties they bind ---------------------

function readMeasure(strict = true) {
  const kind = $("#m-kind").value;
  const pts = [];
  for (const [i, line] of routeLines("#m-points").entries()) {
    try {
      pts.push(parsePosition(line, mgrs));
    } catch (e) {
      if (strict) throw new PlanError("points", `line ${i + 1}: ${e.message}`);
    }
  }
  const mode = document.querySelector("input[name=m-binds]:checked")?.value ?? "listed";
  const listed = [...document.querySelectorAll("#m-binds-parties input:checked")].map((x) => x.value);
  const sides = Object.fromEntries([...document.querySelectorAll("#m-sides-parties select")].map((x) => [x.dataset.party, x.value]));
  const m = {
    kind, id: $("#m-id").value, label: $("#m-label").value.trim(), owner: state.me?.party ?? "", points: pts,
    binds: mode === "listed" ? listed : mode, sides, halfWidth: $("#m-halfwidth").value,
    lower: $("#m-lower").value, upper: $("#m-upper").value, altUnit: $("#m-unit").value,
    start: parseUTC($("#m-start").value), end: parseUTC($("#m-end").value),
  };
  if (strict && $("#m-start").value.trim() && m.start === null) throw new PlanError("start", "write the time as YYYY-MM-DD HH:MM (UTC)");
  if (strict && $("#m-end").value.trim() && m.end === null) throw new PlanError("end", "write the time as YYYY-MM-DD HH:MM (UTC)");
  return m;
}

function renderMeasureParties() {
  const me = state.me?.party;
  const others = state.parties.filter((p) => p.id !== me);
  const binds = $("#m-binds-parties");
  const checked = new Set([...binds.querySelectorAll("input:checked")].map((x) => x.value));
  binds.innerHTML = others.map((p) => `<label><input type="checkbox" value="${esc(p.id)}"${checked.has(p.id) ? " checked" : ""}${can("propose") ? "" : " disabled"}> ${esc(p.id)}</label>`).join("");
  const sides = $("#m-sides-parties");
  const chosen = Object.fromEntries([...sides.querySelectorAll("select")].map((x) => [x.dataset.party, x.value]));
  sides.innerHTML = state.parties.map((p) => `<label>${esc(p.id)} <select data-party="${esc(p.id)}" id="m-side-${esc(p.id)}"${can("propose") ? "" : " disabled"}>`
    + ["", "left", "right"].map((s) => `<option value="${s}"${(chosen[p.id] ?? "") === s ? " selected" : ""}>${s || "—"}</option>`).join("")
    + "</select></label>").join("");
}

function showMeasureKind() {
  const kind = $("#m-kind").value;
  document.querySelector(".m-for-corridor").hidden = kind !== "air_corridor";
  document.querySelector(".m-for-band").hidden = !BANDED_MEASURES.has(kind);
  $("#m-sides").hidden = !SIDED_MEASURES.has(kind);
  $("#m-binds").hidden = SIDED_MEASURES.has(kind);
  $("#m-points-what").textContent = POLYGON_MEASURES.has(kind) ? "Area" : "Line";
  if (!$("#m-id").value || $("#m-id").dataset.suggested === $("#m-id").value) {
    $("#m-id").value = suggestId(state.me?.party ?? "", kind);
    $("#m-id").dataset.suggested = $("#m-id").value;
  }
  scheduleRender();
}
$("#m-kind").addEventListener("change", showMeasureKind);
$("#measure-form").addEventListener("input", () => scheduleRender());
$("#m-draw").addEventListener("click", () => setPick(state.pick === "measure" ? null : "measure"));
$("#m-finish").addEventListener("click", finishRoute);
$("#measure-form").addEventListener("focusin", () => {
  if (!$("#m-start").value) {
    const day = dayStart(state.t);
    $("#m-start").value = formatUTCInput(day).replace("T", " ");
    $("#m-end").value = formatUTCInput(day + DAY).replace("T", " ");
  }
  if (!$("#m-id").value) showMeasureKind();
});

function measureError(field, message) {
  const el = $(`#merr-${field}`) ?? $("#m-status");
  el.textContent = message;
  const input = { id: "#m-id", points: "#m-points", halfWidth: "#m-halfwidth", lower: "#m-lower", upper: "#m-upper", start: "#m-start", end: "#m-end" }[field];
  if (input) $(input).focus();
}

$("#measure-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  for (const el of document.querySelectorAll("#measure-form .error")) el.textContent = "";
  const status = $("#m-status");
  status.textContent = "";
  let doc;
  try {
    doc = measureDoc(readMeasure(true));
  } catch (err) {
    if (err instanceof PlanError) {
      measureError(err.field, err.message);
      return;
    }
    throw err;
  }
  $("#m-propose").disabled = true;
  try {
    const out = await api("/v1/measures", { method: "POST", body: { measure: doc } });
    status.textContent = out.in_force
      ? `${out.id} (version ${out.version}) is in force.`
      : `Proposed ${out.id} (version ${out.version}); waiting for: ${out.waiting_for.join(", ")}.`;
    announce(status.textContent);
    $("#m-points").value = "";
    $("#m-id").value = "";
    showMeasureKind();
    await loadPicture();
  } catch (err) {
    const field = String(err.problem?.field ?? "");
    const known = { "measure.geometry": "points", "measure.id": "id", "measure.binds": "binds", "measure.sides": "sides", "measure.altitude": "lower",
      "measure.half_width_m": "halfWidth", "measure.window.end": "end", "measure.window": "start" };
    const key = Object.keys(known).find((k) => field.startsWith(k));
    if (key) measureError(known[key], err.message);
    status.textContent = `Not proposed: ${err.message}`;
  } finally {
    $("#m-propose").disabled = !can("propose");
  }
});
$("#m-clear").addEventListener("click", () => {
  $("#measure-form").reset();
  for (const el of document.querySelectorAll("#measure-form .error")) el.textContent = "";
  $("#m-id").value = "";
  setPick(null);
  showMeasureKind();
});

function renderInForce() {
  const me = can("propose") && state.asOf === null ? state.me?.party : null;
  $("#inforce-list").innerHTML = state.me
    ? inForceHTML(state.measures.in_force ?? [], state.measures.agreements ?? {}, me,
      state.withdrawal?.what === "measure" ? state.withdrawal : null) : "";
}

$("#inforce-list").addEventListener("click", async (e) => {
  const btn = e.target.closest("button[data-id]");
  if (!btn) return;
  const id = btn.dataset.id;
  if (btn.classList.contains("show")) {
    const m = (state.measures.in_force ?? []).find((x) => x.id === id);
    const start = m ? windowOf(m)[0] : null;
    if (start !== null && !inForce(m, state.t)) setTime(start);
    selectObject(id, true);
    return;
  }
  if (!btn.classList.contains("withdraw")) return;
  // The stage lives in state, not in the button: the list is redrawn by every reload.
  const w = state.withdrawal?.what === "measure" && state.withdrawal.id === id ? state.withdrawal : null;
  if (w?.stage === "sending") return;
  if (w?.stage !== "confirm") {
    state.withdrawal = { what: "measure", id, stage: "confirm" };
    renderInForce();
    return;
  }
  state.withdrawal = { what: "measure", id, stage: "sending" };
  renderInForce();
  try {
    const out = await api(`/v1/measures/${encodeURIComponent(id)}`, { method: "DELETE" });
    state.withdrawal = null;
    announce(`Withdrew ${id}${out.told?.length ? `; told: ${out.told.join(", ")}` : ""}`);
    // The server has answered: the measure is gone. Reloaded after the answer, and
    // any read that started before it is dropped (loadPicture).
    pictureReads.invalidate();
    state.measures = { ...state.measures, in_force: (state.measures.in_force ?? []).filter((m) => m.id !== id) };
    renderInForce();
    scheduleRender();
    await loadPicture();
  } catch (ex) {
    state.withdrawal = { what: "measure", id, stage: "failed", error: ex.message };
    renderInForce();
  }
});

function renderProposals() {
  renderInForce();
  const ul = $("#proposal-list");
  // Live updates re-render the list: keep a decline's comment being typed.
  const typed = new Map([...ul.querySelectorAll("textarea.comment")].map((t) => [t.id, t.value]));
  queueMicrotask(() => { for (const [id, v] of typed) { const t = document.getElementById(id); if (t && !t.value) t.value = v; } });
  const list = sortProposals(state.measures.proposed ?? [], state.me);
  const mine = list.filter((p) => canAccept(p, state.me)).length;
  $("#proposal-count").textContent = mine && state.asOf === null ? String(mine) : "";
  if (!list.length) {
    ul.innerHTML = `<li class="note">No measure is waiting for agreement${state.asOf !== null ? " at that instant" : ""}.</li>`;
    return;
  }
  ul.innerHTML = list.map((p) => proposalHTML(p, canAccept(p, state.me), state.asOf === null)).join("");
}

$("#proposal-list").addEventListener("click", async (e) => {
  const btn = e.target.closest("button[data-id]");
  if (!btn) return;
  const id = btn.dataset.id;
  const p = (state.measures.proposed ?? []).find((x) => x.measure.id === id);
  if (btn.classList.contains("show")) {
    const start = p ? windowOf(p.measure)[0] : null;
    if (start !== null && !inForce(p.measure, state.t)) setTime(start);
    selectObject(id, true);
    return;
  }
  if (btn.classList.contains("decline")) {
    const li = btn.closest("li");
    const comment = li.querySelector("textarea.comment")?.value.trim() ?? "";
    const err = li.querySelector(".error");
    err.textContent = "";
    if (!comment) {
      err.textContent = "A decline needs a comment saying why: the proposer receives it.";
      li.querySelector("textarea.comment")?.focus();
      return;
    }
    btn.disabled = true;
    try {
      await api(`/v1/measures/${encodeURIComponent(id)}/decline`, { method: "POST", body: { comment, version: Number(btn.dataset.version) } });
      announce(`Declined ${id}; ${p?.proposed_by ?? "the proposer"} is told`);
      await loadPicture();
    } catch (ex) {
      err.textContent = ex.message;
      btn.disabled = false;
    }
    return;
  }
  if (!btn.classList.contains("accept")) return;
  const err = btn.closest("li").querySelector(".error");
  err.textContent = "";
  btn.disabled = true;
  try {
    const out = await api(`/v1/measures/${encodeURIComponent(id)}/accept`, { method: "POST", body: { version: Number(btn.dataset.version) } });
    announce(out.in_force ? `${id} is in force` : `Accepted ${id}; waiting for ${out.waiting_for.join(", ")}`);
    await loadPicture();
  } catch (ex) {
    err.textContent = ex.message;
    btn.disabled = false;
  }
});

// -- as known at: the picture as the service knew it at a past instant ----------------------

function setAsOf(ms, reload = true) {
  state.asOf = ms;
  $("#asof-state").textContent = ms === null ? "" : `as known at ${formatAsOf(ms)}`;
  $("#map-wrap").classList.toggle("asof", ms !== null);
  $("#asof").value = ms === null ? "" : formatAsOf(ms).replace("Z", "");
  $("#asof-error").textContent = "";
  if (reload && state.me) {
    return loadPicture().catch((err) => {
      $("#asof-error").textContent = err.message;
    });
  }
  return Promise.resolve();
}

$("#asof-form").addEventListener("submit", (e) => {
  e.preventDefault();
  try {
    setAsOf(parseAsOf($("#asof").value));
  } catch (err) {
    $("#asof-error").textContent = err.message;
  }
});
$("#asof-live").addEventListener("click", () => setAsOf(null));

// -- the inbox ---------------------------------------------------------------------------

function renderInbox() {
  const ul = $("#inbox-list");
  const now = Date.now();
  // Live updates re-render the list: keep what is being typed, and the focus.
  const typed = new Map([...ul.querySelectorAll("textarea.comment")].map((t) => [t.id, t.value]));
  const focused = document.activeElement && ul.contains(document.activeElement) ? document.activeElement.id : null;
  const list = sortInbox(state.notifications, now);
  const open = list.filter((n) => n.status !== "acknowledged" && n.status !== "objected").length;
  const late = overdueCount(state.notifications, now);
  $("#inbox-count").textContent = open ? String(open) : "";
  $("#overdue-count").textContent = late ? `!! ${late}` : "";
  $("#overdue-count").title = late ? `${late} overdue` : "";
  $("#tab-inbox").setAttribute("aria-label", `Inbox, ${open} unanswered${late ? `, ${late} overdue` : ""}`);
  if (!list.length) {
    ul.innerHTML = '<li class="note">No notifications.</li>';
    return;
  }
  ul.innerHTML = list.map((n) => inboxItemHTML(n, overdue(n, now), can("answer"))).join("");
  for (const [id, value] of typed) {
    const t = document.getElementById(id);
    if (t) t.value = value;
  }
  if (focused) document.getElementById(focused)?.focus();
}

$("#inbox-list").addEventListener("click", async (e) => {
  const btn = e.target.closest("button");
  if (!btn) return;
  const li = btn.closest("li[data-id]");
  const id = btn.dataset.id;
  if (btn.classList.contains("show-activity")) {
    const n = state.notifications.find((x) => x.id === id);
    const act = n?.detail?.activity ?? n?.detail?.measure;
    if (act) {
      const s = shapesOf(act);
      state.gotoMark = s.anchor;
      const start = windowOf(act)[0];
      if (start !== null) setTime(start);
      if (s.anchor) setView(fit(sized(state.view), bbox(s.shapes.flatMap((x) => (x.type === "point" ? [x.coords] : x.coords))), 120));
      scheduleRender();
    }
    return;
  }
  const action = btn.classList.contains("ack") ? "acknowledge" : btn.classList.contains("object") ? "object" : null;
  if (!action) return;
  const comment = li.querySelector("textarea")?.value.trim() ?? "";
  const err = li.querySelector(".error");
  err.textContent = "";
  if (action === "object" && !comment) {
    err.textContent = "An objection needs a comment saying why.";
    li.querySelector("textarea").focus();
    return;
  }
  btn.disabled = true;
  try {
    const updated = await api(`/v1/notifications/${encodeURIComponent(id)}/${action}`, { method: "POST", body: { comment } });
    state.notifications = state.notifications.map((n) => (n.id === id ? updated : n));
    renderInbox();
    announce(`Notification ${action === "acknowledge" ? "acknowledged" : "objected to"}`);
    $("#inbox-list").querySelector(`li[data-id="${CSS.escape(id)}"] button, li[data-id="${CSS.escape(id)}"]`)?.focus?.();
  } catch (ex) {
    err.textContent = ex.message;
    btn.disabled = false;
  }
});

// A reference read out on the radio: what it names, if this party may see it.
$("#ref-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const st = $("#ref-status");
  const text = $("#ref-input").value.trim().toUpperCase();
  if (!/^DC-\d{1,9}$/.test(text)) {
    st.textContent = "A reference is DC- and its number, e.g. DC-000123.";
    return;
  }
  try {
    const found = await api(`/v1/references/${encodeURIComponent(text)}`);
    if (found.type === "notification") {
      const li = $("#inbox-list").querySelector(`li[data-id="${CSS.escape(found.id)}"]`);
      st.textContent = `${found.reference}: notification from ${found.from_party} to ${found.party} about ${found.subject}.`;
      li?.scrollIntoView({ block: "nearest" });
      li?.focus?.();
    } else {
      st.textContent = `${found.reference}: ${found.kind} ${found.id} of ${found.owner}.`;
      const d = state.declarations.find((x) => x.id === found.id);
      if (d) {
        const start = windowOf(d)[0];
        if (start !== null && !inForce(d, state.t)) setTime(start);
        selectObject(found.id, true);
      }
    }
  } catch (err) {
    st.textContent = err.status === 404 ? `${text}: nothing your party may see.` : `Not found: ${err.message}`;
  }
});

$("#export-csv").addEventListener("click", async () => {
  try {
    const res = await fetch("/v1/exports/notifications", { headers: { Authorization: `Bearer ${state.token}` }, cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    download(`deconflict-notifications-${state.me?.party ?? "all"}.csv`, await res.blob());
  } catch (err) {
    $("#ref-status").textContent = `CSV export failed: ${err.message}`;
  }
});

// Overdue marks change with the clock.
setInterval(() => {
  if (!state.me) return;
  renderInbox();
  scheduleRender(); // and so do the map's
}, 30000);

// -- tabs -------------------------------------------------------------------------------

const tabs = [...document.querySelectorAll("[role=tab]")];
function selectTab(tab) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(`#${t.getAttribute("aria-controls")}`).hidden = !on;
  }
}
for (const t of tabs) {
  t.addEventListener("click", () => selectTab(t));
  t.addEventListener("keydown", (e) => {
    const i = tabs.indexOf(t);
    const next = e.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : e.key === "ArrowLeft" ? tabs[(i - 1 + tabs.length) % tabs.length] : null;
    if (next) {
      e.preventDefault();
      selectTab(next);
      next.focus();
    }
  });
}

for (const box of document.querySelectorAll("input[data-layer]")) {
  box.addEventListener("change", () => {
    state.layers[box.dataset.layer] = box.checked;
    if (box.dataset.layer === "base" || box.dataset.layer === "graticule") olmap.setVisible(box.dataset.layer, box.checked);
    if (box.dataset.layer === "labels") olmap.map.getAllLayers().forEach((l) => l.changed());
    scheduleRender();
  });
}

// -- exports ------------------------------------------------------------------------------

function stamp() {
  return stampOf(state.t);
}

function pictureNow() {
  return visibleObjects().filter((x) => !x.proposed).map((x) => x.obj);
}

$("#export-geojson").addEventListener("click", () => {
  const fc = toGeoJSON(pictureNow(), { instant: new Date(state.t).toISOString(), party: state.me?.party ?? null });
  download(`deconflict-${state.me?.party ?? "admin"}-${stamp()}.geojson`, new Blob([JSON.stringify(fc, null, 1)], { type: "application/geo+json" }));
});

$("#export-kml").addEventListener("click", () => {
  const colours = Object.fromEntries(Object.entries(state.styles).map(([k, v]) => [k, v.colour]));
  const kml = toKML(pictureNow(), { name: `Deconflict picture ${new Date(state.t).toISOString()}`, colours });
  download(`deconflict-${state.me?.party ?? "admin"}-${stamp()}.kml`, new Blob([kml], { type: "application/vnd.google-earth.kml+xml" }));
});

async function exportPNG() {
  const centre = unproject(state.view, [state.view.width / 2, state.view.height / 2]);
  const footer = `Deconflict · ${state.me?.party ?? "admin"} · ${new Date(state.t).toISOString().slice(0, 16)}Z · centre ${formatLatLon(centre, 4)}`
    + ` (${formatMGRS(mgrs, centre, 3)}) · scale ${$("#scale-label").textContent} · Natural Earth · places: SimpleMaps World Cities (CC BY 4.0)`;
  const blob = await mapPNG(olmap, state.view, footer);
  download(`deconflict-${state.me?.party ?? "admin"}-${stamp()}.png`, blob);
}
$("#export-png").addEventListener("click", () => { exportPNG().catch((e) => announce(`PNG export failed: ${e.message}`)); });

// -- start ---------------------------------------------------------------------------------

// For tests and the console: read-only access to the map's state and projection.
window.deconflict = {
  get state() { return state; },
  project: (lonlat) => {
    const r = mapEl.getBoundingClientRect();
    const [x, y] = project(state.view, lonlat);
    return [x + r.left, y + r.top];
  },
  setView(center, scale) {
    setView(makeView(center, scale, state.view.width, state.view.height));
  },
  select: (id) => selectObject(id, true),
  /** The map's layers: name, visibility, features loaded. */
  layers: () => olmap.describe(),
  /** The operational picture's features that meet the view (opslayers.js drawn()). */
  drawn: () => ops.drawn(),
  /** The labels and symbols the last frame drew, after decluttering, with their boxes. */
  decluttered: () => ops.decluttered(),
  /** Draw now (tests: after a change, before reading drawn()). */
  drawNow: () => { draw(); olmap.map.renderSync(); },
  map: olmap,
  setTime: (iso) => setTime(Date.parse(iso)),
  reload: () => loadPicture(),
  ready: false,
};

/** The user's own tile files (deconflict serve --tiles), offered in the Layers tab. */
async function loadTiles() {
  const catalog = await fetch("tiles", { cache: "no-store" }).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  offerTiles(olmap, catalog, $("#basemap"), $("#basemap-row"), () => state.layers.base);
}

async function start() {
  performance.mark("deconflict:start");
  $("#plan-facility").innerHTML = facilityOptionsHTML("hospital");
  render();
  // The tile list is not needed to sign in: read alongside.
  loadTiles().catch((err) => announce(`The tile layers could not be loaded: ${err.message}`));
  showKind();
  showMeasureKind();
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    try {
      await signIn(token);
    } catch {
      signOut("Sign in again.");
    }
  } else {
    $("#signin").hidden = false;
    $("#token").focus();
  }
  window.deconflict.ready = true;
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
