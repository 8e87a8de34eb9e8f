/**
 * Pure checks of the build inputs: the target definitions and their pinned runtimes, the native
 * addon cache (src/app/native.ts), and the start-up import graph of the CLI bundle.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { analyzeStartup, importGraph, startupGraph } from "../../build.ts";
import { materializeAddon, nativeCacheDir } from "../../src/app/native.ts";
import { DEFAULT_TARGETS, outputPath, TARGETS, targetByName } from "../../targets/index.ts";
import { ROOT } from "../helpers/targets-bin.ts";

const bunVersion = (
  JSON.parse(readFileSync(join(ROOT, "node_modules/bun/package.json"), "utf8")) as { version: string }
).version;

describe("target definitions", () => {
  test("one of each: x64 and arm64 on Bun, armv7 as a Node SEA, distinct outputs", () => {
    assert.deepEqual(
      DEFAULT_TARGETS.map((t) => [t.name, t.arch, t.runtime]),
      [
        ["linux-x64", "x64", "bun"],
        ["linux-arm64", "arm64", "bun"],
        ["linux-armv7", "arm", "node-sea"],
      ],
    );
    assert.deepEqual(
      TARGETS.filter((t) => t.optional).map((t) => t.name),
      ["linux-x64-baseline"],
    );
    assert.equal(new Set(TARGETS.map(outputPath)).size, TARGETS.length);
    assert.equal(targetByName("linux-x64")?.name, "linux-x64");
    assert.equal(targetByName("linux-mips"), undefined);
  });

  for (const t of TARGETS) {
    test(`${t.name}: runtime pinned by sha512 integrity and exact version`, () => {
      assert.match(t.source.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/);
      if (t.source.kind === "npm") {
        assert.match(t.source.version, /^\d+\.\d+\.\d+$/, "an exact version, not a range");
        assert.match(t.source.binPath, /^package\//);
      }
      if (t.runtime === "bun" && t.source.kind === "npm") {
        assert.equal(t.source.version, bunVersion, "the Bun runtime must match the bun devDependency");
      }
      if (t.runtime === "bun" && t.source.kind === "devDependency") {
        const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
          packages: Record<string, { integrity?: string }>;
        };
        assert.equal(lock.packages[`node_modules/${t.source.package}`]?.integrity, t.source.integrity);
      }
      if (t.runtime === "node-sea") assert.equal(t.nodeVersion, `v${t.source.version}`);
      if (t.emulation) assert.match(t.emulation.qemu, /^qemu-\w+-static$/);
    });
  }
});

describe("native addon cache", () => {
  const cases: [string, NodeJS.ProcessEnv, string][] = [
    ["explicit dir", { LEDGE_NATIVE_DIR: "/opt/x", XDG_CACHE_HOME: "/c", HOME: "/h" }, "/opt/x"],
    ["XDG cache", { XDG_CACHE_HOME: "/c", HOME: "/h" }, "/c/ledge/native"],
    ["home cache", { HOME: "/home/pi" }, "/home/pi/.cache/ledge/native"],
  ];
  for (const [name, env, expected] of cases) {
    test(`nativeCacheDir: ${name}`, () => assert.equal(nativeCacheDir(env), expected));
  }

  test("materializeAddon writes once, named by hash, and replaces a tampered copy", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "ledge-native-")), "native");
    try {
      const bytes = Buffer.from("not really an ELF, just bytes");
      const file = materializeAddon(dir, "addon", bytes);
      assert.match(file, /addon-[0-9a-f]{16}\.node$/);
      assert.deepEqual(readFileSync(file), bytes);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      const mtime = statSync(file).mtimeMs;
      assert.equal(materializeAddon(dir, "addon", bytes), file);
      assert.equal(statSync(file).mtimeMs, mtime, "an identical file is reused");

      rmSync(file);
      writeFileSync(file, "tampered", { mode: 0o600 });
      assert.equal(materializeAddon(dir, "addon", bytes), file);
      assert.deepEqual(readFileSync(file), bytes);
      assert.deepEqual(readdirSync(dir), [file.slice(dir.length + 1)], "no temp files left");
    } finally {
      rmSync(join(dir, ".."), { recursive: true, force: true });
    }
  });
});

test("materializeAddon refuses a directory others can write to (the addon could be swapped)", () => {
  const base = mkdtempSync(join(tmpdir(), "ledge-native-"));
  try {
    const dir = join(base, "native");
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o777);
    assert.throws(() => materializeAddon(dir, "addon", Buffer.from("x")), /refusing to load native code/);
    chmodSync(dir, 0o700);
    chmodSync(base, 0o777);
    assert.throws(() => materializeAddon(dir, "addon", Buffer.from("x")), /refusing to load native code/);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

describe("start-up import graph of the CLI bundle", () => {
  test("packages of optional components and heavy dependencies are not loaded at start-up", async () => {
    const g = await analyzeStartup();
    const eager = new Set(g.packages.map(([p]) => p));
    assert.ok(eager.has("commander"), "the analysis sees the CLI's static imports");
    const heavy = [
      "@peculiar/x509",
      "modbus-serial",
      "serialport",
      "@serialport/bindings-cpp",
      "mqtt",
      "aedes",
      "cbor-x",
    ];
    for (const pkg of heavy) {
      assert.ok(
        !eager.has(pkg),
        `${pkg} is loaded at start-up of every ledge command, through ${g.chains[pkg]?.join(" -> ")}; ` +
          "load it with import() where it is used",
      );
    }
  });

  test("no heavy Node built-in is imported at start-up", async () => {
    // under Bun each costs megabytes of RSS in every ledge process (bench/RESULTS.md, footprint):
    // src/foundation/builtin.ts loads them where they are used
    const g = await analyzeStartup();
    assert.ok(g.builtins["node:fs"], "the analysis sees built-ins");
    for (const name of [
      "node:child_process",
      "node:crypto",
      "node:http",
      "node:https",
      "node:net",
      "node:readline",
      "node:stream",
      "node:tls",
      "node:zlib",
    ]) {
      const chain = g.builtins[name];
      assert.ok(
        !chain || chain.some((f) => f.startsWith("ledge-lazy:")),
        `${name} is imported at start-up through ${chain?.join(" -> ")}; take it with lazyBuiltin() where it is used`,
      );
    }
  });

  /**
   * The built-ins a `ledge run` under Bun imports: static imports, plus the import()s in `taken`
   * (the ones that run takes). A built-in behind lazyBuiltin() is not an import, so it is not seen.
   */
  async function runPath(taken: Set<string>): Promise<Map<string, string>> {
    const g = startupGraph(await importGraph(), (path) => taken.has(path));
    for (const file of taken) assert.ok(g.files.includes(file), `${file} is not on the run path any more`);
    assert.ok(g.builtins["node:fs"], "the analysis sees built-ins");
    // each built-in with the module that imports it
    return new Map(
      Object.entries(g.builtins).map(([name, chain]) => [name, chain[chain.length - 1] as string]),
    );
  }

  function assertOff(builtins: Map<string, string>, names: string[], run: string): void {
    for (const name of names) {
      const by = builtins.get(name);
      assert.ok(
        !by || by.startsWith("ledge-lazy:"),
        `${name} is imported on the path of ${run} by ${by}; take it with lazyBuiltin() where it is used`,
      );
    }
  }

  /** Built-ins a `ledge run` under Bun takes only where it needs them (megabytes of RSS each). */
  const HEAVY = [
    "node:child_process",
    "node:crypto",
    "node:http",
    "node:net",
    "node:stream",
    "node:tls",
    "node:url",
    "node:zlib",
  ];

  /** The import()s every `ledge run` under Bun takes: its command, the embedded broker, Bun sockets. */
  const RUN = [
    "src/cli/commands/run.ts",
    "src/bus/broker.ts",
    "src/bus/local-bus.ts",
    "src/bus/broker-config.ts",
    "src/bus/net/net-bun.ts",
  ];

  test("the default `ledge run` under Bun loads no heavy Node built-in", async () => {
    // plus the api and agent components and the HTTP service on Bun.serve (not the console,
    // mappers, drivers, node:net)
    const builtins = await runPath(
      new Set([
        ...RUN,
        "src/api/api-component.ts",
        "src/agent/agent-component.ts",
        "src/drivers/file-hooks.ts",
        "src/foundation/http/serve-bun.ts",
      ]),
    );
    assertOff(builtins, HEAVY, "the default `ledge run`");
  });

  test("`ledge run broker c8y-mapper bridge` under Bun loads none of the built-ins the c8y HTTP side needs only on demand", async () => {
    // the c8y mapper with its HTTP side (the proxy on Bun.serve) and the bridge; the REST client,
    // uploads and remote access tunnels load theirs when first used
    const builtins = await runPath(
      new Set([
        ...RUN,
        "src/mappers/c8y/component.ts",
        "src/bridge/bridge-component.ts",
        "src/foundation/http/serve-bun.ts",
      ]),
    );
    assertOff(
      builtins,
      [...HEAVY, "node:https", "node:stream/promises"],
      "`ledge run broker c8y-mapper bridge`",
    );
  });

  test("no field driver code is loaded at start-up", async () => {
    const g = await analyzeStartup();
    assert.ok(
      !g.chains["src/drivers"],
      `src/drivers is loaded eagerly through ${g.chains["src/drivers"]?.join(" -> ")}`,
    );
  });
});
