/**
 * What `ledge run` does once every component is up.
 * - The Bun binaries start with JavaScriptCore's tier-up thresholds scaled up (build.ts,
 *   `--compile-jit-policy`): start-up code (config, module set-up, journal replay) runs a few times
 *   and is not worth compiling, and compiling it faults in megabytes of the JIT's own code pages.
 *   The message paths get the normal policy back.
 * - One full collection a moment later hands start-up garbage back before the process settles
 *   into idle (about 0.4 MiB of anonymous memory, bench/RESULTS.md footprint).
 * Both are Bun calls; on Node (the armv7 binary) this does nothing.
 */
interface BunRuntime {
  gc(force: boolean): void;
  unsafe?: { setJITPolicy?: (scale: number) => void };
}

const SETTLE_MS = 1000;

export function afterStart(): void {
  const bun = (globalThis as { Bun?: BunRuntime }).Bun;
  if (!bun) return;
  bun.unsafe?.setJITPolicy?.(1);
  setTimeout(() => bun.gc(true), SETTLE_MS).unref();
}
