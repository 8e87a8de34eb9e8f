/**
 * Status records of custom operations, trimmed as thin-edge trims them: a failure reason to 500
 * bytes, a whole SmartREST record to 16000 bytes with the result cut and marked `...<trimmed>`.
 */
import { quoted, record } from "../../api/clouds/c8y/smartrest.ts";

export const SMARTREST_MAX_BYTES = 16000;
export const REASON_MAX_BYTES = 500;
const TRIMMED = "...<trimmed>";

/** Control characters other than newline and tab do not belong in a SmartREST field. */
export function sanitise(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
}

/** The first `max` bytes of `text` in UTF-8, never cutting a character in two. */
export function cutBytes(text: string, max: number): string {
  const b = Buffer.from(text, "utf8");
  if (b.length <= max) return text;
  let end = max;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString("utf8");
}

/** `503,<op>,"<text>"` / `506,<id>,"<text>"` within the SmartREST size limit. */
export function successRecord(
  template: 503 | 506,
  first: string,
  text: string,
  format: "text" | "csv",
): string {
  const head = record(template, first);
  const clean = sanitise(text).replace(/\n+$/, "");
  if (!clean) return head;
  if (format === "csv") {
    const whole = `${head},${clean}`;
    return Buffer.byteLength(whole) <= SMARTREST_MAX_BYTES ? whole : cutBytes(whole, SMARTREST_MAX_BYTES);
  }
  const whole = `${head},${quoted(clean)}`;
  if (Buffer.byteLength(whole) <= SMARTREST_MAX_BYTES) return whole;
  // Quotes double when escaped: shrink until the quoted, marked excerpt fits.
  let keep = SMARTREST_MAX_BYTES - Buffer.byteLength(head) - TRIMMED.length - 3;
  for (;;) {
    const out = `${head},${quoted(cutBytes(clean, keep) + TRIMMED)}`;
    if (Buffer.byteLength(out) <= SMARTREST_MAX_BYTES) return out;
    keep -= Buffer.byteLength(out) - SMARTREST_MAX_BYTES;
  }
}

/** `502,<op>,<reason>` / `505,<id>,<reason>` with the reason cut to 500 bytes. */
export function failureRecord(template: 502 | 505, first: string, reason: string): string {
  return record(template, first, cutBytes(sanitise(reason).trim(), REASON_MAX_BYTES));
}
