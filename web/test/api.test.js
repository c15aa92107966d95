import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";

import { ApiError, createApi, retryAfterMs } from "../src/api.js";

// A real HTTP server on loopback: a paged list, a problem, a revoked token, a non-JSON answer.
function serve() {
  const seen = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url, auth: req.headers.authorization, method: req.method, type: req.headers["content-type"] });
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/items") {
      const page = Number(url.searchParams.get("cursor") ?? 0);
      const headers = { "Content-Type": "application/json" };
      if (page < 2) headers["X-Next-Cursor"] = String(page + 1);
      res.writeHead(200, headers);
      res.end(JSON.stringify([page * 10, page * 10 + 1]));
    } else if (url.pathname === "/bad") {
      res.writeHead(422, { "Content-Type": "application/problem+json" });
      res.end(JSON.stringify({ title: "Unprocessable", detail: "target: is required" }));
    } else if (url.pathname === "/revoked") {
      res.writeHead(401, { "Content-Type": "application/problem+json" });
      res.end(JSON.stringify({ title: "Unauthorized" }));
    } else if (url.pathname === "/busy") {
      // Refused twice for now, then answered: a party's costly reads waiting their turn.
      const tries = seen.filter((s) => s.url === req.url).length;
      if (tries <= 2) {
        res.writeHead(url.searchParams.get("status") === "503" ? 503 : 429,
          { "Content-Type": "application/problem+json", "Retry-After": "0" });
        res.end(JSON.stringify({ title: "Too many costly requests" }));
      } else {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ tries }));
      }
    } else if (url.pathname === "/text") {
      res.writeHead(502);
      res.end("bad gateway");
    } else {
      let body = "";
      req.on("data", (c) => { body += c; });
      req.on("end", () => {
        res.writeHead(201, { "Content-Type": "application/json" });
        res.end(body || "null");
      });
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, seen, base: `http://127.0.0.1:${server.address().port}` })));
}

test("every page of a paged list, with the token on each request", async () => {
  const { server, seen, base } = await serve();
  try {
    const { apiAll } = createApi({ token: () => "dcf_t", base });
    assert.deepEqual(await apiAll("/items?limit=2"), [0, 1, 10, 11, 20, 21]);
    assert.deepEqual(seen.map((s) => s.url), ["/items?limit=2", "/items?limit=2&cursor=1", "/items?limit=2&cursor=2"]);
    assert.ok(seen.every((s) => s.auth === "Bearer dcf_t"));
  } finally {
    server.close();
  }
});

test("a problem is an ApiError with its detail and status; a 401 is told; a body is sent as JSON", async () => {
  const { server, seen, base } = await serve();
  try {
    const told = [];
    const { api } = createApi({ token: () => "t", base, onUnauthorized: (p) => told.push(p) });
    await assert.rejects(api("/bad"), (e) => e instanceof ApiError && e.status === 422 && e.message === "target: is required");
    assert.deepEqual(told, []);
    await assert.rejects(api("/revoked"), (e) => e.status === 401 && e.message === "Unauthorized");
    assert.deepEqual(told, ["/revoked"]);
    await assert.rejects(api("/text"), (e) => e.status === 502 && e.message === "bad gateway");
    assert.deepEqual(await api("/echo", { method: "POST", body: { a: 1 } }), { a: 1 });
    assert.equal(seen.at(-1).type, "application/json");
    assert.equal(seen.at(-1).method, "POST");
  } finally {
    server.close();
  }
});

test("a request refused for now is asked again after Retry-After: a 429 always, a 503 for a read only", async () => {
  const { server, seen, base } = await serve();
  try {
    const { api } = createApi({ token: () => "t", base });
    assert.deepEqual(await api("/busy"), { tries: 3 });
    assert.deepEqual(await api("/busy?status=503"), { tries: 3 });
    // A write that got a 503 may have been taken: it is not sent again.
    await assert.rejects(api("/busy?status=503&w=1", { method: "POST", body: {} }), (e) => e.status === 503);
    assert.equal(seen.filter((s) => s.url === "/busy?status=503&w=1").length, 1);
    // Bounded: past the attempts, the refusal is the caller's.
    const { api: once } = createApi({ token: () => "t", base, retries: 1 });
    await assert.rejects(once("/busy?n=2"), (e) => e.status === 429);
    assert.equal(retryAfterMs("2"), 2000);
    assert.equal(retryAfterMs(null), 1000);
    assert.equal(retryAfterMs("86400"), 10000);
  } finally {
    server.close();
  }
});
