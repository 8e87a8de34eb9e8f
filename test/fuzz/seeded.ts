/**
 * Seeded generators for the fuzz suite. The seed comes from LEDGE_FUZZ_SEED or the clock, and
 * every failure names it, so a failing run is reproduced with `LEDGE_FUZZ_SEED=<seed>`.
 */
export const SEED = Number(process.env.LEDGE_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** Runs per phase: bounded so CI stays fast; LEDGE_FUZZ_SCALE multiplies them for a longer hunt. */
export const SCALE = Number(process.env.LEDGE_FUZZ_SCALE ?? 1);

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const ALPHABET = [
  ..."abcxyz019-_.",
  " ",
  "/",
  "\\",
  "%",
  "%2e",
  "%2f",
  "%00",
  "..",
  "\u0000",
  "é",
  "€",
  "😀",
  "\ud800",
  "\udc00",
  "\n",
  "\t",
  '"',
  "'",
  "$(",
  "`",
  ";",
  "|",
  "*",
  "?",
];

/** A string of up to `max` pieces from an alphabet full of separators, encodings and odd code units. */
export function text(r: Rng, max = 12): string {
  let s = "";
  const n = r.int(max + 1);
  for (let i = 0; i < n; i++) s += r.pick(ALPHABET);
  return r.chance(0.02) ? s.repeat(500) : s;
}

/** A JSON value of random shape; nesting bounded by `depth`. */
export function json(r: Rng, depth = 3): unknown {
  const k = r.int(depth > 0 ? 9 : 6);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 1.5, 1e308, -1e-308, Number.MAX_SAFE_INTEGER, 42]);
    case 3:
      return text(r);
    case 4:
      return r.pick(["device", "child-device", "service", "", "up", "down", "major", "2024-05-01T10:00:00Z"]);
    case 5:
      return r.pick(["device/main//", "device/c1//", "device/c1/service/s", "x/y/z/w", ""]);
    case 6:
    case 7: {
      const o: Record<string, unknown> = {};
      const n = r.int(5);
      for (let i = 0; i < n; i++)
        o[
          r.pick(["@type", "@parent", "@id", "name", "type", "time", "text", "severity", "temp", text(r, 4)])
        ] = json(r, depth - 1);
      return o;
    }
    default:
      return Array.from({ length: r.int(4) }, () => json(r, depth - 1));
  }
}

/** A payload: JSON, broken JSON, empty, or bytes. */
export function payload(r: Rng): Buffer {
  const k = r.int(10);
  if (k === 0) return Buffer.alloc(0);
  if (k === 1) return Buffer.from(Array.from({ length: r.int(64) }, () => r.int(256)));
  const s = JSON.stringify(json(r)) ?? "null";
  if (k === 2) return Buffer.from(s.slice(0, r.int(s.length + 1)));
  return Buffer.from(s);
}

/** A publishable te/ topic (no wildcards, no NUL: those are protocol errors the client refuses). */
export function teTopic(r: Rng): string {
  const seg = () =>
    r.pick(["device", "main", "c1", "c2", "service", "s", "", text(r, 3)]).replace(/[+#\u0000]/g, "");
  const entity = r.chance(0.7)
    ? r.pick(["device/main//", "device/c1//", "device/c1/service/s", `device/f${r.int(50)}//`, "plant/a/b/c"])
    : [seg(), seg(), seg(), seg()].join("/");
  const channel = r.pick(["", "m", "e", "a", "twin", "cmd", "status", "signal", "zz"]);
  if (!channel) return `te/${entity}`;
  const rest = Array.from({ length: r.int(3) }, seg);
  return [`te/${entity}`, channel, seg(), ...rest].join("/");
}
