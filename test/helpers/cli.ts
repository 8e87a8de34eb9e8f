import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";

const ROOT = join(import.meta.dirname, "..", "..");
/** `ledge` from source; LEDGE_TEST_BIN runs the same CLI tests against a built binary. */
export const LEDGE = process.env.LEDGE_TEST_BIN
  ? [process.env.LEDGE_TEST_BIN]
  : [process.execPath, "--import", "tsx", join(ROOT, "src/cli/main.ts")];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function ledge(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): CliResult {
  const [cmd, ...pre] = LEDGE as [string, ...string[]];
  const r = spawnSync(cmd, [...pre, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    input,
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function ledgeSpawn(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const [cmd, ...pre] = LEDGE as [string, ...string[]];
  return spawn(cmd, [...pre, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** A temp config dir with a free broker port, a temp data dir and device id `test-device`. */
export async function tempConfig(
  extra: Record<string, string | number | boolean | string[]> = {},
): Promise<{ dir: string; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), "ledge-cfg-"));
  const port = await freePort();
  const flat = {
    "mqtt.bind.port": port,
    "mqtt.client.port": port,
    "http.bind.port": await freePort(),
    "data.path": join(dir, "data"),
    "device.id": "test-device",
    ...extra,
  };
  writeFileSync(join(dir, "ledge.toml"), flatToToml(flat));
  return { dir, port };
}

/** `{"a.b.c": 1}` → `[a.b]\nc = 1`. */
export function flatToToml(flat: Record<string, unknown>): string {
  const tables = new Map<string, string[]>();
  for (const [key, value] of Object.entries(flat)) {
    const i = key.lastIndexOf(".");
    const table = key.slice(0, i);
    tables.set(table, [...(tables.get(table) ?? []), `${key.slice(i + 1)} = ${JSON.stringify(value)}`]);
  }
  return [...tables].map(([t, kv]) => `[${t}]\n${kv.join("\n")}\n`).join("\n");
}
