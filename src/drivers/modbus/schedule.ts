/**
 * Poll timing, pure: when a device is next due, and how far a dead device backs off. Polls are
 * aligned to `start + k * interval` so they do not drift; a poll that could not run in its slot is
 * skipped (and counted by the caller), never made up in a burst.
 */

/** The first slot strictly after `now`. */
export function nextSlot(start: number, intervalMs: number, now: number): number {
  if (now < start) return start;
  return start + (Math.floor((now - start) / intervalMs) + 1) * intervalMs;
}

/** Slots that passed without a poll between `lastSlot` and `now` (for the skipped counter). */
export function missedSlots(lastSlot: number, intervalMs: number, now: number): number {
  return Math.max(0, Math.floor((now - lastSlot) / intervalMs) - 1);
}

export interface BackoffOptions {
  /** The first retry delay of a dead device (its poll interval by default). */
  baseMs: number;
  maxMs: number;
}

/** Delay before the next attempt after `failures` consecutive failed polls: doubling, capped. */
export function backoffDelay(failures: number, opts: BackoffOptions): number {
  if (failures <= 0) return opts.baseMs;
  const d = opts.baseMs * 2 ** Math.min(failures - 1, 30);
  return Math.min(Math.max(opts.maxMs, opts.baseMs), d);
}
