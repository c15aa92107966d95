import assert from "node:assert/strict";
import { test } from "node:test";

import { latestOnly } from "../src/latest.js";

test("an answer older than one already shown is dropped", () => {
  const reads = latestOnly();
  const before = reads.ask(); // started before the withdrawal
  const after = reads.ask(); // started after it answered
  assert.equal(reads.accept(after), true);
  assert.equal(reads.accept(before), false);
});

test("answers in order are all shown", () => {
  const reads = latestOnly();
  const a = reads.ask();
  const b = reads.ask();
  assert.equal(reads.accept(a), true);
  assert.equal(reads.accept(b), true);
  assert.equal(reads.accept(reads.ask()), true);
});

test("after a change has answered, reads started before it are dropped, whenever they answer", () => {
  const reads = latestOnly();
  const before = reads.ask();
  reads.invalidate(); // the DELETE answered
  const after = reads.ask();
  assert.equal(reads.accept(before), false); // even though no newer answer was shown yet
  assert.equal(reads.accept(after), true);
});

test("a burst of calls runs the debounced function once, after the last", async () => {
  const { debounce } = await import("../src/latest.js");
  let runs = 0;
  const call = debounce(async () => { runs += 1; }, 20);
  call();
  call();
  call();
  assert.equal(runs, 0);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(runs, 1);
  const failing = debounce(async () => { throw new Error("no"); }, 5);
  failing();
  await new Promise((r) => setTimeout(r, 20)); // its failure is swallowed, not unhandled
});
