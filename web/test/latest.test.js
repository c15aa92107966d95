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
