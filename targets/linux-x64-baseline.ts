import type { BunTarget } from "./types.ts";

/**
 * x86-64 Linux without AVX2 (pre-Haswell, and the Atom/Celeron CPUs common in industrial gateways):
 * Bun's `baseline` build, which the default x64 runtime is not. Optional: `npm run build linux-x64-baseline`.
 */
export const linuxX64Baseline: BunTarget = {
  name: "linux-x64-baseline",
  arch: "x64",
  runtime: "bun",
  bunTarget: "bun-linux-x64-baseline",
  optional: true,
  source: {
    kind: "npm",
    package: "@oven/bun-linux-x64-baseline",
    version: "1.4.5",
    integrity:
      "sha512-s8yMwYcFnnrA178gji0gZbkE2WVDej/Ti1x770oPfihxyRxSMNhGhiAQNXV53aDeraZxksdvKV/RAdQBCd0qPA==",
    binPath: "package/bin/bun",
  },
};
