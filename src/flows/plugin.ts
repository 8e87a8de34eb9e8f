/**
 * Flows as software of type `flow` (TEDGE-FACTS §10.1): a `.tar.gz` holding a flow dir, installed
 * by the agent's `software_update` through the sm-plugin `<agent.sm_plugins_dir>/flow`, which runs
 * `ledge flows plugin <verb>`. Module name `<mapper>/<flow>` (e.g. `local/monitor`), unpacked into
 * `mappers/<mapper>/flows/<flow>/`, where the running flows component picks it up (hot reload).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadFlow } from "./config.ts";
import { findFlowFiles, flowsDirOf, mappersWithFlows } from "./discover.ts";

export const FLOW_PLUGIN_NAME = "flow";

/** The plugin executable: a shell script handing every verb to `ledge flows plugin`. */
export function flowPluginScript(command: readonly string[], configDir: string): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\n# ledge sm-plugin for flows (software type "flow"): list | prepare | install | remove | finalize\nexec ${[...command, "--config-dir", configDir, "flows", "plugin"].map(q).join(" ")} "$@"\n`;
}

function split(name: string): { mapper: string; flow: string } {
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(name);
  if (!m || m[1]?.startsWith(".") || m[2]?.startsWith("."))
    throw new Error(`module name '${name}' must be <mapper>/<flow>, e.g. local/monitor`);
  return { mapper: m[1] as string, flow: m[2] as string };
}

/** `list`: one `<mapper>/<flow>\t<version>` line per flow dir or file (version from its flow file). */
export function listModules(configDir: string): string {
  const lines: string[] = [];
  for (const mapper of mappersWithFlows(configDir)) {
    const dir = flowsDirOf(configDir, mapper);
    const seen = new Set<string>();
    for (const file of findFlowFiles(dir)) {
      const top =
        file
          .slice(dir.length + 1)
          .split("/")[0]
          ?.replace(/\.toml$/, "") ?? "";
      if (seen.has(top)) continue;
      seen.add(top);
      let version = "";
      try {
        version = loadFlow(dir, file, {}).version ?? "";
      } catch {}
      lines.push(`${mapper}/${top}\t${version}`);
    }
  }
  return lines.map((l) => `${l}\n`).join("");
}

/** `install NAME --file F`: unpacks the archive beside the old flow dir, then swaps it in. */
export function installModule(configDir: string, name: string, file: string | undefined): void {
  const { mapper, flow } = split(name);
  if (!file) throw new Error(`flow module '${name}' needs a file (give the software a url)`);
  const dir = flowsDirOf(configDir, mapper);
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(dir, `.install-${flow}-`));
  try {
    const r = spawnSync("tar", ["-xzf", file, "-C", tmp], { encoding: "utf8" });
    if (r.status !== 0)
      throw new Error(`cannot unpack ${file}: ${(r.stderr || r.error?.message || "").trim()}`);
    // an archive may hold the flow's files at its root or in one top-level folder
    const entries = readdirSync(tmp);
    const only = entries.length === 1 ? join(tmp, entries[0] as string) : undefined;
    const root =
      only && statSync(only).isDirectory() && findFlowFiles(tmp).every((f) => f.startsWith(`${only}/`))
        ? only
        : tmp;
    const files = findFlowFiles(root);
    if (files.length === 0) throw new Error(`${file} holds no flow file (.toml)`);
    for (const f of files) loadFlow(root, f, {});
    const target = join(dir, flow);
    const old = `${target}.old-${process.pid}`;
    if (existsSync(target)) renameSync(target, old);
    renameSync(root, target);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `remove NAME`: deletes the flow dir (or single flow file). */
export function removeModule(configDir: string, name: string): void {
  const { mapper, flow } = split(name);
  const dir = flowsDirOf(configDir, mapper);
  rmSync(join(dir, flow), { recursive: true, force: true });
  rmSync(join(dir, `${flow}.toml`), { force: true });
}
