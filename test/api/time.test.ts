import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { normaliseTime } from "../../src/api/time.ts";

/** The verdict as Date.parse gives it (milliseconds at most), for strings of RFC 3339's shape. */
const byDateParse = (v: string) => !Number.isNaN(Date.parse(v.replace(/(\.\d{3})\d+/, "$1")));

/** Seeded generator (LCG), so a failure names a reproducible string. */
function strings(seed: number, n: number): string[] {
  let x = seed;
  const rand = (k: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % k;
  };
  const pad = (v: number, w: number) => String(v).padStart(w, "0");
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    // Mostly near the edges of each field, so out-of-range values are common.
    const year = rand(4) === 0 ? rand(10_000) : 1969 + rand(80);
    const month = rand(15);
    const day = rand(34);
    const hour = rand(26);
    const minute = rand(3) === 0 ? 55 + rand(7) : rand(60);
    const second = rand(3) === 0 ? 55 + rand(7) : rand(60);
    const sep = ["T", "t", " "][rand(3)];
    const frac = ["", ".5", ".12", ".123", ".1234", ".123456789"][rand(6)];
    const tz =
      rand(3) === 0
        ? ["Z", "z"][rand(2)]
        : `${["+", "-"][rand(2)]}${pad(rand(3) === 0 ? 22 + rand(4) : rand(24), 2)}:${pad(rand(3) === 0 ? 58 + rand(3) : rand(60), 2)}`;
    out.push(
      `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}${sep}${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${frac}${tz}`,
    );
  }
  return out;
}

describe("normaliseTime: ISO 8601 strings", () => {
  it("gives Date.parse's verdict on 20,000 seeded RFC 3339-shaped strings (the in-range fast path included)", () => {
    let accepted = 0;
    for (const v of strings(20261201, 20_000)) {
      const r = normaliseTime(v);
      assert.equal(r.ok, byDateParse(v), v);
      if (r.ok) {
        accepted++;
        assert.equal(r.iso, v, "kept verbatim");
      }
    }
    // Both verdicts are common in the corpus, so the comparison means something either way.
    assert.ok(accepted > 5_000 && accepted < 15_000, `accepted ${accepted}`);
  });

  for (const [v, ok] of [
    ["2024-01-01T00:00:00Z", true],
    ["2024-02-30T00:00:00Z", true], // Date.parse takes a day up to 31 in any month
    ["2024-01-01T24:00:00Z", true], // the end of the day, by Date.parse
    ["2024-01-01T23:60:00Z", false],
    ["2024-13-01T00:00:00Z", false],
    ["2024-01-01T00:00:00+24:00", false],
    ["2024-01-01T00:00:00.1234567+05:30", true],
    ["2024-01-01", false],
  ] as const)
    it(`${v}: ${ok ? "accepted" : "refused"}`, () => assert.equal(normaliseTime(v).ok, ok));
});
