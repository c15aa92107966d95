// The legend: what each thing on the map means, with a swatch drawn as the map
// draws it (the parties' colours and dashes, the measures' hatches, emblems,
// facility symbols, findings, symbols, the base layers). Pure: HTML from data.

import { PATTERN_DEFS, PROTECTED_EMBLEM } from "./emblem.js";
import { FACILITY_NAMES, FACILITY_TYPES, facilitySymbol } from "./facility.js";
import { esc } from "./labels.js";

/**
 * `styles` the parties' {colour, dash} (style.js partyStyles), `parties` their
 * records (for names), `me` the viewer's party, `symbolSVG(sidc, options)` milsymbol's
 * SVG (null where milsymbol is not loaded: those swatches are left out).
 */
export function legendHTML({ styles, parties, me, symbolSVG }) {
  const partyItems = Object.entries(styles).map(([id, s]) => {
    const name = parties.find((p) => p.id === id)?.name ?? id;
    return `<div class="item"><svg width="56" height="14" aria-hidden="true"><line x1="2" y1="7" x2="54" y2="7" stroke="${s.colour}" stroke-width="4"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/></svg>`
      + `<span><b>${esc(id)}</b> — ${esc(name)}${id === me ? " (you: friend)" : ""}</span></div>`;
  }).join("");
  const sw = (inner) => `<svg width="56" height="24" aria-hidden="true"><defs>${PATTERN_DEFS}</defs>${inner}</svg>`;
  return `${partyItems}
    <div class="item">${sw('<rect x="2" y="2" width="52" height="20" fill="url(#hatch-nfa)" stroke="#000" stroke-width="2"/>')}<span>No-fire area (hatched)</span></div>
    <div class="item">${sw('<rect x="2" y="2" width="52" height="20" fill="url(#hatch-rfa)" stroke="#222" stroke-dasharray="10 4" stroke-width="2"/>')}<span>Restrictive fire area (cross-hatched)</span></div>
    <div class="item">${sw('<rect x="2" y="2" width="52" height="20" fill="url(#dots-roz)" stroke="#222" stroke-dasharray="14 5" stroke-width="2"/>')}<span>Restricted operations zone (dotted), altitudes labelled</span></div>
    <div class="item">${sw('<rect x="2" y="6" width="52" height="12" fill="url(#hatch-ac)" stroke="#222" stroke-dasharray="8 3 2 3" stroke-width="2"/>')}<span>Air corridor, altitudes labelled</span></div>
    <div class="item">${sw('<path d="M2,12H54" stroke="#fff" stroke-width="8"/><path d="M2,12H54" stroke="#111" stroke-width="3.5"/>')}<span>Deconfliction line; each side labelled with its parties</span></div>
    <div class="item">${sw(`<g transform="translate(28,12) scale(.7)">${PROTECTED_EMBLEM}</g>`)}<span>Protected site (shield), dotted protection ring</span></div>
    ${FACILITY_TYPES.map((t) => `<div class="item">${sw(`<g transform="translate(28,11) scale(.62)">${facilitySymbol(t, { code: false })}</g>`)}<span>${esc(FACILITY_NAMES[t])}</span></div>`).join("")}
    <div class="item">${sw('<circle cx="28" cy="12" r="9" fill="#888" fill-opacity=".3" stroke="#444" stroke-width="2"/><path d="M14,12H42M28,-2V26" stroke="#000" stroke-width="1.5"/>')}<span>Fire: target and effects circle; dashed arrow: trajectory</span></div>
    <div class="item">${sw('<path d="M2,12H54" stroke="#000" stroke-width="8" stroke-opacity=".85"/><path d="M2,12H54" stroke="#F0E442" stroke-width="4" stroke-dasharray="10 6"/>')}<span>Finding of the last check (violation / conflict): the part of the object concerned</span></div>
    <div class="item">${sw('<path class="separation" d="M6,12H50"/><circle class="closest" cx="6" cy="12" r="3.5"/><circle class="closest" cx="50" cy="12" r="3.5"/>')}<span>Separation between the closest points, with its distance</span></div>
    ${symbolSVG ? `<div class="item">${sw(`<g transform="translate(14,1) scale(.55)">${symbolSVG("SFGPUCI----E---", { uniqueDesignation: "A/2-22" })}</g>`)}<span>A unit's own symbol (MIL-STD-2525, declared with its echelon and designation)</span></div>` : ""}
    ${symbolSVG ? `<div class="item">${sw(`<g transform="translate(18,1) scale(.55)">${symbolSVG("SFAP-----------", { direction: 45 })}</g>`)}<span>Live track (from its Cursor-on-Target type; your own friend, other parties' neutral, no party's unknown)</span></div>` : ""}
    <div class="item">${sw('<circle cx="28" cy="14" r="2.5" fill="#333" stroke="#fff"/><text x="28" y="8" font-size="9" text-anchor="middle">Town</text>')}<span>Populated place (SimpleMaps World Cities); countries from Natural Earth</span></div>
    <div class="item">${sw('<ellipse cx="42" cy="12" rx="11" ry="7" fill="#cfe3ee" stroke="#6f8896" stroke-width=".8"/><path d="M2,18 Q12,4 22,14 T34,11" fill="none" stroke="#4a90c2" stroke-width="1.4"/>')}<span>River and lake (Natural Earth 1:50m)</span></div>`;
}
