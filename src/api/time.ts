/** thin-edge time values: ISO 8601 / RFC 3339 strings, or unix seconds (integer or decimal). */

export const MIN_UNIX_S = -377705116800;
export const MAX_UNIX_S = 253402300799;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export type TimeParse = { ok: true; iso: string } | { ok: false; error: string };

/** Normalises a payload's `time` to an ISO 8601 string; ISO input is kept verbatim (precision, offset). */
export function normaliseTime(value: unknown): TimeParse {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < MIN_UNIX_S || value > MAX_UNIX_S)
      return { ok: false, error: `time ${value} is out of range (${MIN_UNIX_S}..=${MAX_UNIX_S})` };
    return { ok: true, iso: unixToIso(value) };
  }
  if (typeof value === "string") {
    const m = RFC3339.exec(value);
    // Date.parse takes milliseconds at most: finer fractions are cut for the check only.
    const frac = m?.[7];
    if (!m || Number.isNaN(Date.parse(frac && frac.length > 4 ? value.replace(/(\.\d{3})\d+/, "$1") : value)))
      return { ok: false, error: `time '${value}' is not an ISO 8601 date-time or unix seconds` };
    return { ok: true, iso: value };
  }
  return { ok: false, error: `time must be an ISO 8601 string or unix seconds, got ${typeof value}` };
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
