import type { BunTarget } from "./types.ts";

/** x86-64 Linux (glibc): compiled with the Bun of the `bun` devDependency, no download. */
export const linuxX64: BunTarget = {
  name: "linux-x64",
  arch: "x64",
  runtime: "bun",
  bunTarget: "bun-linux-x64",
  source: {
    kind: "devDependency",
    // npm installed it as bun's optional dependency and checked it against package-lock.json
    package: "@oven/bun-linux-x64",
    integrity:
      "sha512-IWX9BELoGHAUtMonkeSaNaZwXzRk+oDw6Mk+HBFXd3KHYIBNBsIGRupMZPcgNoDbJpLu6gAJjIoIVPZtt1aJ1g==",
  },
};
