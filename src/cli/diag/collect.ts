/**
 * `ledge diag collect`: one tarball for a support case (in the spirit of `tedge diag collect`):
 * versions and system facts, the effective configuration with credentials redacted, the other
 * config files minus anything secret, the entity store and command state, queue statistics (file
 * names and sizes, never queued data) and the newest logs. Written 0600: it describes the device.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { arch, freemem, hostname, loadavg, release, tmpdir, totalmem, uptime } from "node:os";
import { join, relative } from "node:path";
import type { Config } from "../../config/store.ts";
import { findExecutable } from "../../foundation/which.ts";
import { VERSION_STRING } from "../version.ts";
import { effectiveConfig, shareable } from "./redact.ts";

const MAX_FILE = 1 << 20;
const MAX_LOG = 5 << 20;

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

function readTail(file: string, max: number): Buffer {
  const data = readFileSync(file);
  return data.length > max ? data.subarray(data.length - max) : data;
}

function system(config: Config): string {
  const lines = [
    VERSION_STRING,
    `runtime: ${process.versions.bun ? `bun ${process.versions.bun}` : `node ${process.version}`}`,
    `host: ${hostname()} ${arch()} linux ${release()}`,
    `uptime_s: ${Math.round(uptime())}`,
    `load: ${loadavg().join(" ")}`,
    `memory: ${Math.round(freemem() / 2 ** 20)} MiB free of ${Math.round(totalmem() / 2 ** 20)} MiB`,
  ];
  try {
    const fs = statfsSync(config.dataDir);
    lines.push(`data.path ${config.dataDir}: ${Math.round((fs.bavail * fs.bsize) / 2 ** 20)} MiB free`);
  } catch (e) {
    lines.push(`data.path ${config.dataDir}: ${(e as Error).message}`);
  }
  if (existsSync("/etc/os-release")) lines.push("", readFileSync("/etc/os-release", "utf8").trim());
  return `${lines.join("\n")}\n`;
}

function queues(dataDir: string): string {
  const root = join(dataDir, "bridge");
  const lines = files(root).map((f) => `${relative(root, f)}  ${statSync(f).size} bytes`);
  return lines.length ? `${lines.join("\n")}\n` : `no bridge queue under ${root}\n`;
}

function journal(): Buffer | undefined {
  const journalctl = findExecutable("journalctl");
  if (!journalctl) return undefined;
  const r = spawnSync(journalctl, ["-u", "ledge", "-n", "10000", "--no-pager", "-o", "short-iso"], {
    maxBuffer: MAX_LOG * 2,
    timeout: 20_000,
  });
  return r.status === 0 && r.stdout.length ? r.stdout : undefined;
}

/** Writes the archive to `output` (or /tmp/ledge-diag-<device>-<time>.tar.gz); returns its path. */
export function collect(config: Config, output?: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  const name = `ledge-diag-${config.get("device.id") || hostname()}-${stamp}`.replace(/[^\w.-]/g, "_");
  const out = output ?? join(tmpdir(), `${name}.tar.gz`);
  const stage = mkdtempSync(join(tmpdir(), "ledge-diag-"));
  const top = join(stage, name);
  const put = (path: string, content: string | Buffer) => {
    mkdirSync(join(top, path, ".."), { recursive: true });
    writeFileSync(join(top, path), content, { mode: 0o600 });
  };
  try {
    mkdirSync(top, { mode: 0o700 });
    put("system.txt", system(config));
    put("config/effective.txt", effectiveConfig(config));
    // the data dir may live inside the config dir (npm start's ./.ledge/data): never copy data as config
    const inData = (f: string) => !relative(config.dataDir, f).startsWith("..");
    for (const f of files(config.dir).filter((f) => !inData(f))) {
      const content = statSync(f).size <= MAX_FILE ? readFileSync(f) : undefined;
      const rel = relative(config.dir, f);
      if (content && !rel.startsWith("..") && shareable(rel.split("/").at(-1) ?? "", content))
        put(join("config", rel), content);
    }
    for (const f of ["entities.json", "agent/commands.json"]) {
      const p = join(config.dataDir, f);
      if (existsSync(p)) put(join("data", f), readTail(p, MAX_FILE));
    }
    put("data/queues.txt", queues(config.dataDir));
    const logs = journal();
    if (logs) put("logs/journal.txt", logs.subarray(Math.max(0, logs.length - MAX_LOG)));
    if (existsSync("/var/log/ledge.log")) put("logs/ledge.log", readTail("/var/log/ledge.log", MAX_LOG));
    const r = spawnSync("tar", ["-czf", out, "-C", stage, name], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr || r.error?.message}`);
    chmodSync(out, 0o600);
    return out;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
