/** thin-edge time values: ISO 8601 / RFC 3339 strings, or unix seconds (integer or decimal). */

export const MIN_UNIX_S = -377705116800;
export const MAX_UNIX_S = 253402300799;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

export type TimeParse = { ok: true; iso: string } | { ok: false; error: string };

/** Normalises a payload's `time` to an ISO 8601 string; ISO input is kept verbatim (precision, offset). */
export function normaliseTime(value: unknown): TimeParse {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < MIN_UNIX_S || value > MAX_UNIX_S)
      return { ok: false, error: `time ${value} is out of range (${MIN_UNIX_S}..=${MAX_UNIX_S})` };
    return { ok: true, iso: unixToIso(value) };
  }
  if (typeof value === "string") {
    if (
      !RFC3339.test(value) ||
      (!inRange(value) && Number.isNaN(Date.parse(value.replace(/(\.\d{3})\d+/, "$1"))))
    )
      return { ok: false, error: `time '${value}' is not an ISO 8601 date-time or unix seconds` };
    return { ok: true, iso: value };
  }
  return { ok: false, error: `time must be an ISO 8601 string or unix seconds, got ${typeof value}` };
}

/**
 * An RFC 3339 string (matched already) with `T` whose fields are all in range: month, day up to 31,
 * hour, minute, second, offset. Date.parse (which has the last word on the others, e.g. `24:00:00`)
 * accepts every such string (test/api/time.test.ts proves it over a seeded corpus), and takes
 * several times longer than this look at fixed positions.
 */
function inRange(v: string): boolean {
  // With a space for `T`, Date.parse falls back to its legacy rules (it refuses some small years).
  const t = v.charCodeAt(10);
  if (t !== 84 && t !== 116) return false;
  const two = (i: number) => (v.charCodeAt(i) - 48) * 10 + v.charCodeAt(i + 1) - 48;
  const month = two(5);
  const day = two(8);
  if (month < 1 || month > 12 || day < 1 || day > 31 || two(11) > 23 || two(14) > 59 || two(17) > 59)
    return false;
  const z = v.charCodeAt(v.length - 1);
  return z === 90 || z === 122 || (two(v.length - 5) <= 23 && two(v.length - 2) <= 59);
}

/** `1701949168` → `2023-12-07T11:39:28Z`; `1701949168.001` keeps milliseconds. */
export function unixToIso(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const iso = new Date(ms).toISOString();
  return ms % 1000 === 0 ? iso.replace(".000Z", "Z") : iso;
}

export function nowIso(clock: () => number = Date.now): string {
  return new Date(clock()).toISOString();
}
