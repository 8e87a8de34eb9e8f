/**
 * Native addons in a bundled ledge. A bundle has no `node_modules` beside it, so the usual loaders
 * (node-gyp-build looking in `prebuilds/` next to the package) cannot work. For the Node SEA target
 * build.ts embeds serialport's prebuilt addon as base64 (`__LEDGE_SERIALPORT_NODE__`); on first use it
 * is written to a per-user cache directory under a name derived from its hash and loaded with
 * `process.dlopen`. Bun binaries carry no addon: the serial transport uses `bun:ffi` there.
 */
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { lazy } from "../foundation/builtin.ts";

declare const __LEDGE_SERIALPORT_NODE__: string | undefined;

/** Where extracted addons live: `$LEDGE_NATIVE_DIR`, else `$XDG_CACHE_HOME/ledge/native`, else ~/.cache. */
export function nativeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LEDGE_NATIVE_DIR) return env.LEDGE_NATIVE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "ledge", "native");
  const home = env.HOME || safeHomedir();
  if (home && home !== "/") return join(home, ".cache", "ledge", "native");
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  return join(tmpdir(), `ledge-${uid}`, "native");
}

function safeHomedir(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

/**
 * Writes `bytes` to `<dir>/<name>-<sha256 prefix>.node` unless an identical file is already there, and
 * returns its path. Written to a temp file then renamed, so a concurrent start never loads half a file.
 */
export function materializeAddon(dir: string, name: string, bytes: Buffer): string {
  const digest = lazy.crypto().createHash("sha256").update(bytes).digest("hex");
  const file = join(dir, `${name}-${digest.slice(0, 16)}.node`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // the file is checked, then loaded: whoever can write to its directory could swap it in between
  assertPrivate(dir, false);
  assertPrivate(dirname(dir), true);
  try {
    const existing = readFileSync(file);
    if (lazy.crypto().createHash("sha256").update(existing).digest("hex") === digest) return file;
  } catch {}
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes, { mode: 0o500 });
  renameSync(tmp, file);
  chmodSync(file, 0o500);
  return file;
}

/**
 * Throws unless `dir` is a real directory of this user that nobody else can write to. The parent may
 * also be root's, and shared if sticky (/tmp): others cannot then rename `dir` away.
 */
function assertPrivate(dir: string, parent: boolean): void {
  const st = lstatSync(dir);
  const uid = typeof process.getuid === "function" ? process.getuid() : st.uid;
  const owner = st.uid === uid || (parent && st.uid === 0);
  const shared = (st.mode & 0o022) !== 0 && !(parent && (st.mode & 0o1000) !== 0);
  if (!st.isDirectory() || !owner || shared)
    throw new Error(
      `refusing to load native code from ${dir}: only its owner (uid ${uid}) may write to it and its parent (or set LEDGE_NATIVE_DIR)`,
    );
}

/** Loads an addon file the way `require` would, returning its exports. */
export function dlopenAddon(file: string): unknown {
  const mod = { exports: {} as unknown };
  process.dlopen(mod, file);
  return mod.exports;
}

/**
 * The `@serialport/bindings-cpp` addon. build.ts swaps that package's loader for a call to this, so
 * that the bundle finds the addon embedded (Node SEA) or in the `node_modules` next to the bundle
 * (`node dist/ledge.mjs` from a checkout).
 */
export function loadSerialportBinding(): unknown {
  if (typeof __LEDGE_SERIALPORT_NODE__ === "string" && __LEDGE_SERIALPORT_NODE__.length > 0) {
    const file = materializeAddon(
      nativeCacheDir(),
      "serialport",
      Buffer.from(__LEDGE_SERIALPORT_NODE__, "base64"),
    );
    return dlopenAddon(file);
  }
  let lastError: unknown;
  // next to the bundle first (dist/ledge.mjs in a checkout), then the working directory
  for (const base of [import.meta.url, join(process.cwd(), "noop.js")]) {
    try {
      const pkg = createRequire(base).resolve("@serialport/bindings-cpp/package.json");
      const nodeGypBuild = createRequire(pkg)("node-gyp-build") as (dir: string) => unknown;
      return nodeGypBuild(join(pkg, ".."));
    } catch (e) {
      lastError = e;
    }
  }
  throw new Error(
    `serialport's native addon is not available in this build (${(lastError as Error).message}); ` +
      "under Bun the serial transport uses bun:ffi instead",
  );
}

/**
 * `LEDGE_SELFTEST=serialport ledge --version` reports whether serialport's addon loads in this
 * binary: a field diagnosis for a gateway's serial support, and what the target tests check.
 */
export function runSelfTest(env: NodeJS.ProcessEnv = process.env): void {
  if (env.LEDGE_SELFTEST !== "serialport") return;
  try {
    const binding = loadSerialportBinding() as Record<string, unknown>;
    process.stdout.write(`serialport binding: ${Object.keys(binding).join(" ")}\n`);
  } catch (e) {
    process.stdout.write(`serialport binding: unavailable: ${(e as Error).message}\n`);
  }
}
