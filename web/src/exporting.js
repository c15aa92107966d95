// Files the map hands the user: a download, a time stamp for its name, and the PNG of
// the map as drawn (every layer, the picture's too, is an OpenLayers canvas).

/** Hand `blob` to the browser as a download called `name`. */
export function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** The instant `t` (epoch ms) for a file name: 20180207-2005. */
export function stampOf(t) {
  return new Date(t).toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
}

/** The map's canvases composed as they are shown, with `footer` under them, as a PNG blob. */
export async function mapPNG(olmap, view, footer) {
  const { width, height } = view;
  const strip = 22;
  olmap.map.renderSync();
  const base = olmap.baseCanvas();
  const ratio = base.width / width;
  const canvas = document.createElement("canvas");
  canvas.width = base.width;
  canvas.height = Math.round((height + strip) * ratio);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#cfe3ee";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(base, 0, 0);
  ctx.scale(ratio, ratio);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, height, width, strip);
  ctx.fillStyle = "#111";
  ctx.font = '12px system-ui, "DejaVu Sans", sans-serif';
  ctx.fillText(footer, 6, height + 15);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}
