// The map's keyboard, as a table of keys to actions: the arrows pan, + and - zoom,
// Enter places a pick at the centre of the view, Escape ends a route (or the pick),
// Backspace drops a route's last point. `a` gives the actions (app.js wires them).

/** The pan step of an arrow key, in pixels. */
export const PAN_STEP = 80;

export function mapKeys(a) {
  return {
    ArrowLeft: () => a.panBy(PAN_STEP, 0),
    ArrowRight: () => a.panBy(-PAN_STEP, 0),
    ArrowUp: () => a.panBy(0, PAN_STEP),
    ArrowDown: () => a.panBy(0, -PAN_STEP),
    "+": () => a.zoomBy(2),
    "=": () => a.zoomBy(2),
    "-": () => a.zoomBy(0.5),
    _: () => a.zoomBy(0.5),
    Enter: () => a.place(),
    Escape: () => a.finish(),
    Backspace: () => a.dropPoint(),
  };
}
