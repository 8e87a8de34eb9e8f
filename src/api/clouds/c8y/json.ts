/**
 * JSON text for Cumulocity payloads, built by hand on the hot path (measurements) so that a
 * measurement costs one string and no intermediate objects.
 */

/** thin-edge serialises measurement values as f64: integral values get a `.0` (`1` → `1.0`). */
export function c8yNumber(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return Object.is(v, -0) ? "-0.0" : `${v}.0`;
  return String(v); // the JSON text of every finite number
}

/**
 * `JSON.stringify` of a string. A string with nothing to escape (no `"`, `\\`, control character
 * or surrogate) is only quoted, which costs a fraction of the general case; names and types are
 * such strings nearly always.
 */
export function str(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}
