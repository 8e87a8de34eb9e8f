import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { str } from "../../src/api/clouds/c8y/json.ts";

/** Seeded strings mixing plain names with every class of character JSON.stringify treats apart. */
function corpus(seed: number, n: number): string[] {
  let x = seed;
  const rand = (k: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % k;
  };
  const pool = [
    ..."abcXYZ019_.- ~",
    '"',
    "\\",
    "\u0000",
    "\u0008",
    "\n",
    "\u001f",
    "\u007f",
    "é",
    "€",
    "\u2028",
    "\ud834\udd1e", // a surrogate pair (kept as is)
    "\ud834", // lone high surrogate (escaped)
    "\udd1e", // lone low surrogate (escaped)
  ];
  const out = ["", "temperature", "Climate.Temperature"];
  for (let i = 0; i < n; i++) {
    let s = "";
    const len = rand(12);
    // Mostly plain (the fast path), sometimes anything from the pool.
    const plain = rand(2) === 0;
    for (let j = 0; j < len; j++)
      s += plain ? (pool[rand(14)] as string) : (pool[rand(pool.length)] as string);
    out.push(s);
  }
  return out;
}

describe("c8y JSON text: str", () => {
  it("is JSON.stringify of the string on 50,000 seeded strings (quotes, backslashes, controls, surrogates)", () => {
    for (const s of corpus(4242, 50_000)) assert.equal(str(s), JSON.stringify(s), JSON.stringify(s));
  });
});
