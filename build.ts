/**
 * `npm run build [target...]`: bundles the CLI with esbuild (dist/ledge.mjs), then builds one standalone
 * executable per target declared in targets/ (dist/ledge-<target>) and prints each one's size.
 * Runtime binaries come only from the npm registry (`npm pack`, cached in .cache/), each checked
 * against the sha512 integrity pinned in its target file and by the version it reports.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { bunRuntime, fetchRuntime, hostCommand, log, run } from "./scripts/build-runtimes.ts";
import { recordBytecodeOrder } from "./scripts/bytecode-order.ts";
import { bundleConsole, type ConsoleAssets } from "./scripts/console-assets.ts";
import {
  type BunTarget,
  DEFAULT_TARGETS,
  type NodeSeaTarget,
  outputPath,
  TARGETS,
  type Target,
} from "./targets/index.ts";

const ROOT = dirname(fileURLToPath(import.meta.url));
const DIST = join(ROOT, "dist");
const WORK = join(DIST, ".build");
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
/** Optional at run time or never used by ledge; left out of every bundle. */
const EXTERNAL = ["cbor-extract", "bufferutil", "utf-8-validate", "bun:*"];

/** The CLI, preceded by the native-addon self-test hook (src/app/native.ts). */
const ENTRY: esbuild.StdinOptions = {
  contents:
    'import { runSelfTest } from "./src/app/native.ts";\nimport "./src/cli/main.ts";\nrunSelfTest();\n',
  resolveDir: ROOT,
  sourcefile: "ledge-entry.ts",
  loader: "ts",
};

interface BuildInfo {
  version: string;
  commit: string;
  /** The console page, bundled into the binaries (absent: the console bundles it at first use). */
  console?: ConsoleAssets;
}

function buildInfo(): BuildInfo {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  let commit = "unknown";
  try {
    commit =
      execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim() || commit;
  } catch {}
  return { version: pkg.version, commit };
}

/**
 * serialport's addon loader (node-gyp-build relative to `__dirname`) cannot work inside a bundle; it
 * is replaced by src/app/native.ts, which finds the addon embedded or in node_modules.
 */
const serialportLoader: esbuild.Plugin = {
  name: "ledge-serialport-loader",
  setup(b) {
    b.onLoad({ filter: /@serialport[\\/]bindings-cpp[\\/]dist[\\/]serialport-bindings\.js$/ }, () => ({
      contents:
        `import { loadSerialportBinding } from ${JSON.stringify(join(ROOT, "src/app/native.ts"))};\n` +
        "export const binding = loadSerialportBinding();\n",
      loader: "js",
      resolveDir: ROOT,
    }));
  },
};

/**
 * commander requires node:child_process at load for executable subcommands, which ledge does not
 * have; under Bun that import alone costs megabytes of RSS in every ledge process. It gets a
 * stand-in that loads the module on the (never taken) first spawn.
 */
const lazyCommanderChildProcess: esbuild.Plugin = {
  name: "ledge-lazy-commander-child-process",
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      /node_modules[\\/]commander[\\/]/.test(args.importer)
        ? { path: "commander-child-process", namespace: "ledge-lazy" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "ledge-lazy" }, () => ({
      contents: 'module.exports = { spawn: (...a) => require("node:child_process").spawn(...a) };\n',
      loader: "js",
    }));
  },
};

function defines(info: BuildInfo, extra: Record<string, string> = {}): Record<string, string> {
  return {
    __LEDGE_VERSION__: JSON.stringify(info.version),
    __LEDGE_COMMIT__: JSON.stringify(info.commit),
    "process.env.NODE_ENV": JSON.stringify("production"),
    ...(info.console ? { __LEDGE_CONSOLE_ASSETS__: JSON.stringify(info.console) } : {}),
    ...extra,
  };
}

export interface StartupGraph {
  /** Bytes of source evaluated when ledge starts, whatever the command. */
  eagerBytes: number;
  totalBytes: number;
  /** Eagerly loaded bytes per npm package (or `src/<dir>`), largest first. */
  packages: [string, number][];
  /** For each eager package: the chain of imports from the entry that loads it first. */
  chains: Record<string, string[]>;
  /** Node built-ins imported at start-up, each with the chain that imports it first. */
  builtins: Record<string, string[]>;
  /** Every module reached. */
  files: string[];
}

/**
 * What runs at start-up: the modules reachable from the entry without crossing a dynamic `import()`
 * (esbuild keeps those behind lazy module wrappers even in a single file) other than those `follow`
 * names (the ones a given command line takes). `require()` counts as eager, and so does any import
 * of a built-in, which is conservative; packages that name one bare (`require("net")`) are counted
 * as `node:net`.
 */
export function startupGraph(
  meta: esbuild.Metafile,
  follow: (path: string) => boolean = () => false,
): StartupGraph {
  const inputs = meta.inputs;
  // breadth first, so each file's recorded parent gives a shortest import chain
  const parent = new Map<string, string | undefined>();
  const queue = Object.keys(inputs).filter((p) => p === ENTRY.sourcefile || p === "<stdin>");
  for (const root of queue) parent.set(root, undefined);
  const chainTo = (file: string) => {
    const chain: string[] = [];
    for (let f: string | undefined = file; f !== undefined; f = parent.get(f)) chain.unshift(f);
    return chain;
  };
  const builtins: Record<string, string[]> = {};
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i] as string;
    for (const imp of inputs[file]?.imports ?? []) {
      if (imp.external) {
        const name = builtinModules.includes(imp.path) ? `node:${imp.path}` : imp.path;
        if (name.startsWith("node:")) builtins[name] ??= chainTo(file);
        continue;
      }
      if (imp.kind === "dynamic-import" && !follow(imp.path)) continue;
      if (parent.has(imp.path)) continue;
      parent.set(imp.path, file);
      queue.push(imp.path);
    }
  }
  const packageOf = (file: string) =>
    /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? file.split("/").slice(0, 2).join("/");
  const packages = new Map<string, number>();
  const chains: Record<string, string[]> = {};
  let eagerBytes = 0;
  for (const file of queue) {
    const bytes = inputs[file]?.bytes ?? 0;
    eagerBytes += bytes;
    const pkg = packageOf(file);
    packages.set(pkg, (packages.get(pkg) ?? 0) + bytes);
    chains[pkg] ??= chainTo(file);
  }
  const totalBytes = Object.values(inputs).reduce((n, i) => n + i.bytes, 0);
  return {
    eagerBytes,
    totalBytes,
    packages: [...packages].sort((a, b) => b[1] - a[1]),
    chains,
    builtins,
    files: queue,
  };
}

function esmOptions(info: BuildInfo, outfile: string): esbuild.BuildOptions {
  return {
    stdin: ENTRY,
    outfile,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    define: defines(info, { __LEDGE_SERIALPORT_NODE__: "undefined" }),
    plugins: [serialportLoader, lazyCommanderChildProcess],
    // CommonJS dependencies call require(); an ESM bundle has none unless we make one
    banner: {
      js: '#!/usr/bin/env node\nimport{createRequire as __ledgeCreateRequire}from"node:module";const require=__ledgeCreateRequire(import.meta.url);',
    },
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
  };
}

/** The CLI bundle's whole import graph (esbuild's metafile), without writing anything (tests). */
export async function importGraph(): Promise<esbuild.Metafile> {
  const r = await esbuild.build({ ...esmOptions(buildInfo(), join(WORK, "analyze.mjs")), write: false });
  return r.metafile as esbuild.Metafile;
}

/** The start-up import graph of the CLI bundle (tests). */
export async function analyzeStartup(): Promise<StartupGraph> {
  return startupGraph(await importGraph());
}

/** dist/ledge.mjs: ESM for `node dist/ledge.mjs`, and the input of the Bun compiles. */
async function bundleEsm(info: BuildInfo): Promise<string> {
  const outfile = join(DIST, "ledge.mjs");
  const r = await esbuild.build(esmOptions(info, outfile));
  chmodSync(outfile, 0o755);
  const g = startupGraph(r.metafile as esbuild.Metafile);
  const kib = (n: number) => `${Math.round(n / 1024)} KiB`;
  log(
    `  start-up import graph: ${kib(g.eagerBytes)} of ${kib(g.totalBytes)} source loaded eagerly; largest:`,
  );
  log(
    `    ${g.packages
      .slice(0, 8)
      .map(([p, n]) => `${p} ${kib(n)}`)
      .join(", ")}`,
  );
  writeFileSync(join(WORK, "startup-graph.json"), `${JSON.stringify(g, null, 2)}\n`);
  return outfile;
}

/**
 * For Bun: the same ESM bundle split at every `import()` (esbuild chunks, compiled with Bun's
 * `--splitting`), so a component that is off is not even parsed. Returns the entry file.
 */
async function bundleSplit(info: BuildInfo): Promise<string> {
  const outdir = join(WORK, "bun");
  rmSync(outdir, { recursive: true, force: true });
  const { outfile: _single, banner, ...options } = esmOptions(info, "");
  await esbuild.build({
    ...options,
    outdir,
    entryNames: "ledge",
    chunkNames: "chunks/[name]-[hash]",
    splitting: true,
    metafile: false,
    // every chunk gets its own require(); the hashbang only belongs on the entry
    banner: { js: String(banner?.js).replace(/^#!.*\n/, "") },
  });
  return join(outdir, "ledge.js");
}

/** A CommonJS bundle for a Node SEA (Node 20's SEA main script must be CommonJS). */
async function bundleCjs(info: BuildInfo, target: NodeSeaTarget): Promise<string> {
  const outfile = join(WORK, `ledge-${target.name}.cjs`);
  let addon = "undefined";
  if (target.serialportPrebuild) {
    const file = join(ROOT, "node_modules/@serialport/bindings-cpp/prebuilds", target.serialportPrebuild);
    if (existsSync(file)) addon = JSON.stringify(readFileSync(file).toString("base64"));
    else log(`  warning: ${file} missing, the serial transport will be unavailable in ${target.name}`);
  }
  await esbuild.build({
    stdin: ENTRY,
    outfile,
    bundle: true,
    minify: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    define: defines(info, { __LEDGE_SERIALPORT_NODE__: addon, "import.meta.url": "__ledgeImportMetaUrl" }),
    plugins: [serialportLoader, lazyCommanderChildProcess],
    banner: { js: 'var __ledgeImportMetaUrl=require("node:url").pathToFileURL(__filename).href;' },
    legalComments: "none",
    logLevel: "warning",
  });
  return outfile;
}

/**
 * JavaScriptCore's tier-up thresholds are this many times higher until `ledge run` is up
 * (src/app/jit.ts): start-up code stays in the interpreter instead of faulting in the JIT.
 */
const STARTUP_JIT_POLICY = 8;

async function buildBun(target: BunTarget, entry: string, order: string[] = []): Promise<string> {
  const out = join(ROOT, outputPath(target));
  const runtime = bunRuntime(target);
  const args = [
    "build",
    entry,
    "--compile",
    "--splitting",
    "--format=esm",
    "--minify",
    "--bytecode",
    `--compile-jit-policy=${STARTUP_JIT_POLICY}`,
    ...order.map((f) => `--bytecode-order=${f}`),
    `--target=${target.bunTarget}`,
    `--outfile=${out}`,
    // an edge agent must not pick up a stray .env or bunfig.toml from its working directory
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    ...EXTERNAL.map((e) => `--external=${e}`),
  ];
  if (runtime) args.push(`--compile-executable-path=${runtime}`);
  run(join(ROOT, "node_modules/.bin/bun"), args);
  return out;
}

async function buildNodeSea(target: NodeSeaTarget, info: BuildInfo): Promise<string> {
  const out = join(ROOT, outputPath(target));
  const node = fetchRuntime(target.source);
  const [vcmd, vargs] = hostCommand(target, node, ["--version"]);
  const reported = run(vcmd, vargs).trim();
  if (reported !== target.nodeVersion)
    throw new Error(`${node} reports ${reported}, expected ${target.nodeVersion}`);

  const main = await bundleCjs(info, target);
  const blob = join(WORK, `ledge-${target.name}.blob`);
  const config = join(WORK, `sea-${target.name}.json`);
  writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true }));
  // the blob format belongs to the exact Node that reads it, so that Node writes it (under qemu)
  const [scmd, sargs] = hostCommand(target, node, ["--experimental-sea-config", config]);
  run(scmd, sargs);

  rmSync(out, { force: true });
  copyFileSync(node, out);
  chmodSync(out, 0o755);
  // the npm binary carries debug info (about 11 MiB), useless on a gateway
  const strip = target.stripTools.find((tool) => spawnSync(tool, ["--version"]).status === 0);
  if (strip) run(strip, ["--strip-all", out]);
  else log(`  no strip tool (${target.stripTools.join(", ")}): keeping the runtime's debug info`);
  run(process.execPath, [
    join(ROOT, "node_modules/postject/dist/cli.js"),
    out,
    "NODE_SEA_BLOB",
    blob,
    "--sentinel-fuse",
    SEA_FUSE,
  ]);
  return out;
}

/** Every binary must answer `--version` with this build's version before the build counts. */
function smokeTest(target: Target, bin: string, info: BuildInfo): void {
  const [cmd, args] = hostCommand(target, bin, ["--version"]);
  const out = run(cmd, args).trim();
  const expected = `ledge ${info.version} (${info.commit})`;
  if (out !== expected) throw new Error(`${bin} --version printed "${out}", expected "${expected}"`);
}

/** Profiles for `--bytecode-order`, recorded with a first build of the first Bun target (one serves all). */
async function bytecodeOrder(selected: readonly Target[], entry: string): Promise<string[]> {
  const first = selected.find((t): t is BunTarget => t.runtime === "bun");
  if (!first) return [];
  const started = Date.now();
  const bin = await buildBun(first, entry);
  const files = await recordBytecodeOrder((args) => hostCommand(first, bin, args), join(WORK, "order"));
  log(`  bytecode order recorded with ${first.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return files;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function main(argv: string[]): Promise<void> {
  const unknown = argv.filter((a) => !TARGETS.some((t) => t.name === a));
  if (unknown.length) {
    throw new Error(
      `unknown target(s) ${unknown.join(", ")}; known: ${TARGETS.map((t) => t.name).join(", ")}`,
    );
  }
  const selected = argv.length ? TARGETS.filter((t) => argv.includes(t.name)) : DEFAULT_TARGETS;
  const info: BuildInfo = { ...buildInfo(), console: await bundleConsole() };
  mkdirSync(WORK, { recursive: true });
  log(`ledge ${info.version} (${info.commit})`);
  log(
    `  console page: ${Math.round((info.console?.js.length ?? 0) / 1024)} KiB JS, ${Math.round((info.console?.css.length ?? 0) / 1024)} KiB CSS`,
  );

  const esm = await bundleEsm(info);
  const split = selected.some((t) => t.runtime === "bun") ? await bundleSplit(info) : esm;
  const sizes: [string, number][] = [[resolve(esm), statSync(esm).size]];
  const order = await bytecodeOrder(selected, split);
  for (const target of selected) {
    const started = Date.now();
    log(`building ${target.name} (${target.runtime})`);
    const bin =
      target.runtime === "bun" ? await buildBun(target, split, order) : await buildNodeSea(target, info);
    smokeTest(target, bin, info);
    log(`  ${outputPath(target)} ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    sizes.push([bin, statSync(bin).size]);
  }
  log("\nsizes:");
  for (const [file, size] of sizes) log(`  ${mib(size).padStart(10)}  ${file.slice(ROOT.length + 1)}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`build: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
