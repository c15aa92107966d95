// SVG markup the map shares between its canvas (as icons, opslayers.js) and its
// legend (legend.js): the protected site's shield, and the measures' hatches.

export const PROTECTED_EMBLEM = '<path d="M0,-15 L13,-9 L13,3 Q13,12 0,17 Q-13,12 -13,3 L-13,-9 Z" fill="#fff" stroke="#000" stroke-width="2.5"/>'
  + '<path d="M-2.6,-8.5h5.2v5.6h5.6v5.2h-5.6v5.6h-5.2v-5.6h-5.6v-5.2h5.6z" fill="#000"/>';

/** The measures' hatches as SVG <defs>, for the legend's swatches (opslayers.js draws the same on canvas). */
export const PATTERN_DEFS = `
    <pattern id="hatch-nfa" width="10" height="10" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
      <rect width="10" height="10" fill="#fff" fill-opacity=".35"/><line x1="0" y1="0" x2="0" y2="10" stroke="#000" stroke-width="2"/></pattern>
    <pattern id="hatch-rfa" width="10" height="10" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
      <line x1="0" y1="0" x2="0" y2="10" stroke="#000" stroke-width="1.2"/><line x1="0" y1="0" x2="10" y2="0" stroke="#000" stroke-width="1.2"/></pattern>
    <pattern id="dots-roz" width="12" height="12" patternUnits="userSpaceOnUse">
      <circle cx="6" cy="6" r="1.6" fill="#222"/></pattern>
    <pattern id="hatch-ac" width="14" height="14" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)">
      <line x1="0" y1="0" x2="0" y2="14" stroke="#222" stroke-width=".8" stroke-dasharray="3 3"/></pattern>`;
