/**
 * What `ledge run` does once every component is up (Bun only; on Node, the armv7 binary, nothing).
 * - The binaries start with JavaScriptCore's tier-up thresholds scaled up (build.ts,
 *   `--compile-jit-policy`): start-up code runs a few times and is not worth compiling, and compiling
 *   faults in megabytes of the JIT compilers' own code pages.
 * - After start-up the thresholds stay scaled up (LEAN) while traffic through the embedded broker is
 *   below `run.jit_rate`: a gateway's usual trickle is interpreted, at a few percent of a core and
 *   about 8 MiB less RSS at 1,000 msg/s (bench/RESULTS.md, footprint). Once the rate is reached for
 *   two seconds in a row the normal policy applies for good and the message path is compiled.
 *   Without an embedded broker (split processes) the normal policy applies at once.
 * - A moment after start, `Bun.shrink()`: JavaScriptCore drops its compiled code (start-up code runs
 *   once; what runs again is compiled again from the binary's bytecode), collects, and hands free
 *   heap pages back: 0.7 MiB off idle `ledge run` and off a connected c8y bridge
 *   (bench/RESULTS.md, footprint). A plain full collection there gave back 0.1.
 */
import type { Logger } from "../foundation/logger.ts";

interface BunRuntime {
  gc(force: boolean): void;
  shrink?: () => void;
  unsafe?: { setJITPolicy?: (scale: number) => void };
}

/** Tier-up thresholds × this while traffic is below `run.jit_rate`. */
export const LEAN_POLICY = 1000;
const SETTLE_MS = 1000;
const SAMPLE_MS = 1000;
const SAMPLES_OVER = 2;

/** Which policy follows a one-second sample: pure, for tests. */
export function nextPolicy(
  rate: number,
  threshold: number,
  overBefore: number,
): { over: number; compile: boolean } {
  const over = rate >= threshold ? overBefore + 1 : 0;
  return { over, compile: over >= SAMPLES_OVER };
}

export interface AfterStart {
  /** Messages received by the embedded broker so far; absent without one. */
  messagesIn?: () => number;
  /** `run.jit_rate`. */
  jitRate: number;
  log: Logger;
}

/** Returns a stop function (clears the rate watch). */
export function afterStart(opts: AfterStart): () => void {
  const bun = (globalThis as { Bun?: BunRuntime }).Bun;
  const setPolicy = bun?.unsafe?.setJITPolicy;
  if (!bun) return () => {};
  setTimeout(() => (bun.shrink ? bun.shrink() : bun.gc(true)), SETTLE_MS).unref();
  if (!setPolicy) return () => {};
  const count = opts.messagesIn;
  if (!count || opts.jitRate === 0) {
    setPolicy(1);
    return () => {};
  }
  setPolicy(LEAN_POLICY);
  let last = count();
  let over = 0;
  const timer = setInterval(() => {
    const now = count();
    const rate = ((now - last) * 1000) / SAMPLE_MS;
    last = now;
    const next = nextPolicy(rate, opts.jitRate, over);
    over = next.over;
    if (!next.compile) return;
    clearInterval(timer);
    setPolicy(1);
    opts.log.info("message rate reached run.jit_rate: compiling the message path", {
      rate: Math.round(rate),
      jit_rate: opts.jitRate,
    });
  }, SAMPLE_MS);
  timer.unref();
  return () => clearInterval(timer);
}
