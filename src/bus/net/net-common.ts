/** What both socket implementations share (a module of its own: net.ts loads them, so they cannot import it). */
import type { ConnectOptions } from "./net.ts";

/** Above this many pending bytes `write` returns false (Node's default for sockets). */
export const HIGH_WATER = 16 * 1024;
export const CONNECT_TIMEOUT_MS = 10_000;

export function connectTimeoutError(opts: ConnectOptions, ms: number): Error {
  return Object.assign(new Error(`connect to ${opts.host}:${opts.port} timed out after ${ms} ms`), {
    code: "ETIMEDOUT",
  });
}

/** Node's `subject` object may hold arrays for repeated attributes: join them to strings. */
export function flatSubject(subject: object | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(subject ?? {})) out[k] = Array.isArray(v) ? v.join("+") : String(v);
  return out;
}
