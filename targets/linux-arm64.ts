import type { BunTarget } from "./types.ts";

/**
 * 64-bit ARM Linux (glibc), e.g. Raspberry Pi 4/5 with a 64-bit OS. The Bun runtime cannot be an npm
 * dependency (EBADPLATFORM on x64), so the build fetches it with `npm pack` and checks it here.
 */
export const linuxArm64: BunTarget = {
  name: "linux-arm64",
  arch: "arm64",
  runtime: "bun",
  bunTarget: "bun-linux-arm64",
  source: {
    kind: "npm",
    package: "@oven/bun-linux-aarch64",
    version: "1.4.5",
    integrity:
      "sha512-4BXmsSKnjOrlGWqZV4x/oWa7AVoR+B6lCXddMzOAXBIm3t50eslg9wb66gmtW1AamEQ1l1CDvmmruysEhqOWMg==",
    binPath: "package/bin/bun",
  },
  emulation: { qemu: "qemu-aarch64-static", sysroot: "/usr/aarch64-linux-gnu" },
};
