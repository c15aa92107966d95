import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const src = new URL("../src/", import.meta.url);

test("index.html preloads every module app.js imports, and nothing else", () => {
  const html = readFileSync(new URL("index.html", src), "utf8");
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]).sort();
  const modules = readdirSync(src).filter((f) => f.endsWith(".js") && f !== "app.js").sort();
  assert.deepEqual(preloaded, modules);
});
