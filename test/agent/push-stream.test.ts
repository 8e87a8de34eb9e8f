import assert from "node:assert/strict";
import { it } from "node:test";
import { PushStream } from "../../src/agent/http/push-stream.ts";

it("a push stream yields what was pushed, joined, and ends once", async () => {
  let ended = 0;
  const s = new PushStream(100, () => ended++);
  s.push("a");
  s.push("b");
  const it = s[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), { done: false, value: "ab" });
  const pending = it.next();
  s.push("c");
  assert.deepEqual(await pending, { done: false, value: "c" });
  s.end();
  s.end();
  assert.equal(s.push("d"), false);
  assert.deepEqual(await it.next(), { done: true, value: undefined });
  assert.equal(ended, 1);
});

it("past its backlog a push stream drops what waits and ends (the page reconnects)", async () => {
  let ended = 0;
  const s = new PushStream(10, () => ended++);
  assert.equal(s.push("12345"), true);
  assert.equal(s.push("123456"), false);
  assert.equal(ended, 1);
  assert.equal(s.backlog, 0);
  assert.deepEqual(await s[Symbol.asyncIterator]().next(), { done: true, value: undefined });
});

it("a client going away (return) ends the stream and wakes a pending read", async () => {
  let ended = 0;
  const s = new PushStream(100, () => ended++);
  const it = s[Symbol.asyncIterator]();
  const pending = it.next();
  await it.return?.();
  assert.deepEqual(await pending, { done: true, value: undefined });
  assert.equal(ended, 1);
});
