import type { Config } from "../config/store.ts";
import { findExecutable } from "../foundation/which.ts";
import { installAptPlugin } from "./plugins/apt.ts";
import { ledgeCommand } from "./self-update/binary.ts";
import { detectInit, type InitSystem, installServiceFiles } from "./service-files.ts";

export interface AgentInitOptions {
  /** `ledge init --service`: also write the service files for this machine's init system. */
  service: boolean;
  /** Filesystem root for the service files (tests); default `/`. */
  root?: string;
  init?: InitSystem;
  /** argv that starts ledge; default this binary (or interpreter + script). */
  command?: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * The agent's part of `ledge init`: the `apt` software plugin (on Debian-based systems) and,
 * with `--service`, the systemd unit / OpenRC / plain init script. Returns lines to print.
 */
export async function initAgent(config: Config, opts: AgentInitOptions): Promise<string[]> {
  const out: string[] = [];
  const env = opts.env ?? process.env;
  if (findExecutable("dpkg-query", env)) {
    out.push(`plugin: ${await installAptPlugin(config.path("agent.sm_plugins_dir"))}`);
  }
  if (opts.service) {
    const init = opts.init ?? detectInit(opts.root);
    const r = await installServiceFiles(
      init,
      { command: opts.command ?? ledgeCommand(), configDir: config.dir },
      opts.root,
    );
    for (const f of r.files) out.push(`service (${init}): ${f}`);
    out.push(`enable with: ${r.enable}`);
  }
  return out;
}
