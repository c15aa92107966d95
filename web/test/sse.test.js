import assert from "node:assert/strict";
import { test } from "node:test";

import { sseParser } from "../src/sse.js";

test("events, ids, comments and keep-alives, in arbitrary chunks", () => {
  const got = [];
  const p = sseParser((e) => got.push(e));
  const text = "retry: 2000\n\n: keep-alive\n\nid: 7\nevent: notification.sent\ndata: {\"id\":\"a\"}\n\nid: 8\nevent: x\ndata: 1\ndata: 2\n\n";
  for (const ch of text) p.feed(ch);
  assert.deepEqual(got, [
    { id: "7", event: "notification.sent", data: "{\"id\":\"a\"}" },
    { id: "8", event: "x", data: "1\n2" },
  ]);
  assert.equal(p.lastEventId, "8");
});

test("CRLF split across chunks is one line end", () => {
  const got = [];
  const p = sseParser((e) => got.push(e));
  p.feed("data: a\r");
  p.feed("\ndata: b\r\n\r");
  p.feed("\n");
  assert.deepEqual(got, [{ id: null, event: "message", data: "a\nb" }]);
});

test("an event without data is not dispatched; the id carries over", () => {
  const got = [];
  const p = sseParser((e) => got.push(e));
  p.feed("id: 3\n\ndata: x\n\n");
  assert.deepEqual(got, [{ id: "3", event: "message", data: "x" }]);
});
