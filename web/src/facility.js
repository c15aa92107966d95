// Humanitarian facilities: their names and symbols. Every symbol is a shield
// (the outline the map already uses for protected sites) with a pictogram, so
// it is never mistaken for a MIL-STD-2525 / APP-6 frame (rectangle, square,
// diamond, quatrefoil), and each facility type has its own pictogram and a
// letter code, so it is told apart without colour. Plain SVG strings, drawn
// around (0, 0); nothing is fetched.

export const FACILITY_TYPES = [
  "hospital", "school", "displacement_camp", "water_sanitation", "warehouse", "office", "residence", "distribution_point",
];

export const FACILITY_NAMES = {
  hospital: "Hospital or clinic",
  school: "School",
  displacement_camp: "Camp for displaced people",
  water_sanitation: "Water and sanitation",
  warehouse: "Warehouse",
  office: "Office",
  residence: "Residence",
  distribution_point: "Distribution point",
};

/** A short code under the symbol, so the type is read even where pictograms are small. */
export const FACILITY_CODES = {
  hospital: "H", school: "SCH", displacement_camp: "IDP", water_sanitation: "WASH", warehouse: "WH",
  office: "OFF", residence: "RES", distribution_point: "DP",
};

const SHIELD = '<path class="shield" d="M0,-15 L13,-9 L13,3 Q13,12 0,17 Q-13,12 -13,3 L-13,-9 Z" fill="#fff" stroke="#000" stroke-width="2.5"/>';

// Pictograms inside the shield, in a box of about 16 × 16 around (0, 1).
const PICTOGRAMS = {
  hospital: '<path d="M-2.6,-8.5h5.2v5.6h5.6v5.2h-5.6v5.6h-5.2v-5.6h-5.6v-5.2h5.6z" fill="#000"/>',
  // An open book.
  school: '<path d="M0,-5 Q-4,-8 -8,-6 V6 Q-4,4 0,7 Q4,4 8,6 V-6 Q4,-8 0,-5 Z M0,-5 V7" fill="none" stroke="#000" stroke-width="1.8"/>',
  // A tent.
  displacement_camp: '<path d="M-9,7 L0,-8 L9,7 Z" fill="#000"/><path d="M-2.5,7 L0,1 L2.5,7 Z" fill="#fff"/>',
  // A drop of water.
  water_sanitation: '<path d="M0,-9 C4,-3 7,1 7,4 A7,7 0 0 1 -7,4 C-7,1 -4,-3 0,-9 Z" fill="#000"/>',
  // A shed with a box.
  warehouse: '<path d="M-9,-2 L0,-8 L9,-2 V7 H-9 Z" fill="none" stroke="#000" stroke-width="1.8"/><rect x="-4" y="1" width="8" height="6" fill="#000"/>',
  // A building with windows.
  office: '<rect x="-6" y="-8" width="12" height="15" fill="none" stroke="#000" stroke-width="1.8"/>'
    + '<path d="M-3,-4h2v2h-2zM1,-4h2v2h-2zM-3,0h2v2h-2zM1,0h2v2h-2z" fill="#000"/>',
  // A house.
  residence: '<path d="M-8,0 L0,-8 L8,0 V7 H-8 Z" fill="#000"/><rect x="-2" y="2" width="4" height="5" fill="#fff"/>',
  // A box handed on: a box above an open hand.
  distribution_point: '<rect x="-4" y="-8" width="8" height="7" fill="#000"/>'
    + '<path d="M-9,2 H-3 L3,4 H8 M-9,6 H8" fill="none" stroke="#000" stroke-width="1.8"/>',
};

/** The SVG markup of a facility's symbol, centred on (0, 0); unknown types get the generic protected emblem. */
export function facilitySymbol(type, { code = true } = {}) {
  const pict = PICTOGRAMS[type] ?? PICTOGRAMS.hospital;
  const letters = code ? FACILITY_CODES[type] : "";
  const label = letters
    ? `<text class="facility-code" x="16" y="14" text-anchor="start" font-size="9" font-weight="700" stroke="#fff" stroke-width="3" paint-order="stroke">${letters}</text>`
    : "";
  return `${SHIELD}${pict}${label}`;
}

export function facilityName(type) {
  return FACILITY_NAMES[type] ?? String(type ?? "").replaceAll("_", " ");
}
