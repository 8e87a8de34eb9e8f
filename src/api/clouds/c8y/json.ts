/**
 * JSON text for Cumulocity payloads, built by hand on the hot path (measurements) so that a
 * measurement costs one string and no intermediate objects.
 */

/** thin-edge serialises measurement values as f64: integral values get a `.0` (`1` → `1.0`). */
export function c8yNumber(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return Object.is(v, -0) ? "-0.0" : `${v}.0`;
  return String(v); // the JSON text of every finite number
}

export const str = JSON.stringify as (s: string) => string;
