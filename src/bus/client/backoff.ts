/**
 * Reconnect delays: exponential from `minMs` to `maxMs`, with "equal jitter" (half the delay fixed,
 * half random) so that the components of a gateway, all cut off by one broker restart, do not
 * reconnect in lock-step, while none retries sooner than half its step. Pure: `random` is passed in.
 */
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { minMs: 250, maxMs: 30_000 };

/** The delay before reconnect attempt `attempt` (0 = the first after a loss). */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const step = Math.min(opts.maxMs, opts.minMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}
