/** src/foundation/ip.ts against node:net's isIP, the reference it replaces in the config schema. */
import assert from "node:assert/strict";
import { isIP as nodeIsIP } from "node:net";
import { describe, it } from "node:test";
import { isIP } from "../../src/foundation/ip.ts";

const TABLE: [string, 0 | 4 | 6][] = [
  ["127.0.0.1", 4],
  ["0.0.0.0", 4],
  ["255.255.255.255", 4],
  ["256.1.1.1", 0],
  ["01.2.3.4", 0], // leading zeros are not IPv4 (octal ambiguity)
  ["1.2.3", 0],
  ["1.2.3.4.5", 0],
  ["", 0],
  ["::", 6],
  ["::1", 6],
  ["fe80::1%eth0", 6],
  ["fe80::1%", 0],
  ["::ffff:192.0.2.1", 6],
  ["1:2:3:4:5:6:7:8", 6],
  ["1:2:3:4:5:6:7:8:9", 0],
  ["1:2:3:4:5:6:7::", 6],
  ["1:2:3:4:5:6:7:8::", 0],
  ["1::2::3", 0],
  ["1.2.3.4::", 0],
  ["1:2:3:4:5:6:1.2.3.4", 6],
  ["1:2:3:4:5:6:7:1.2.3.4", 0],
  ["12345::", 0],
  ["g::", 0],
  ["not an ip", 0],
  ["localhost", 0],
];

describe("isIP (node:net semantics without loading node:net)", () => {
  for (const [s, want] of TABLE)
    it(`${JSON.stringify(s)} is ${want || "not an IP"}`, () => {
      assert.equal(nodeIsIP(s), want, "the table itself agrees with node:net");
      assert.equal(isIP(s), want);
    });

  it("agrees with node:net on 50,000 seeded mutations of valid addresses", () => {
    let seed = 0x1ed9e;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = "0123456789abcdefABCDEFg:.%-x ";
    const bases = TABLE.map(([s]) => s).filter(Boolean);
    let disagreements = 0;
    const seen: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      let s = bases[rnd(bases.length)] as string;
      for (let k = rnd(3) + 1; k > 0; k--) {
        const at = rnd(s.length + 1);
        const op = rnd(3);
        const c = alphabet[rnd(alphabet.length)] as string;
        s =
          op === 0
            ? s.slice(0, at) + c + s.slice(at)
            : op === 1
              ? s.slice(0, at) + s.slice(at + 1)
              : s.slice(0, at) + c + s.slice(at + 1);
      }
      if (isIP(s) !== nodeIsIP(s)) {
        disagreements++;
        if (seen.length < 5) seen.push(s);
      }
    }
    assert.equal(disagreements, 0, `disagreements, e.g. ${JSON.stringify(seen)}`);
  });
});
