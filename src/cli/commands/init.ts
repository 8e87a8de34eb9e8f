import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { type Command, Option } from "commander";
import { ConfigFile, loadConfig } from "../../config/store.ts";
import { configDirOf } from "../context.ts";

export function registerInit(program: Command): void {
  program
    .command("init")
    .description(
      "create the config dir (with a ledge.toml holding device.id) and the data dir, with safe permissions",
    )
    .option("--device-id <id>", "main device id (default: the host name)")
    .option(
      "--service",
      "also install the service for this machine's init system (systemd unit, OpenRC or init.d script)",
    )
    .addOption(new Option("--root <dir>", "filesystem root for service files (packaging, tests)").hideHelp())
    .action(async (opts: { deviceId?: string; service?: boolean; root?: string }, cmd: Command) => {
      const dir = configDirOf(cmd);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      const file = new ConfigFile(dir);
      const current = loadConfig(dir);
      if (opts.deviceId || !current.get("device.id")) file.set("device.id", opts.deviceId ?? hostname());
      const config = loadConfig(dir);
      const data = config.dataDir;
      mkdirSync(data, { recursive: true, mode: 0o750 });
      // mkdir's mode is masked by the umask and ignored for existing dirs: enforce it.
      chmodSync(data, 0o750);
      process.stdout.write(
        `config: ${file.path}${existsSync(file.path) ? "" : " (defaults)"}\ndata:   ${data}\ndevice: ${config.get("device.id")}\n`,
      );
      // The apt software plugin and, with --service, the unit or init script.
      const { initAgent } = await import("../../agent/init-hooks.ts");
      for (const line of await initAgent(config, { service: !!opts.service, root: opts.root })) {
        process.stdout.write(`${line}\n`);
      }
      // the 'flow' software plugin: flows installed as software (type flow)
      const { installFlowPlugin } = await import("./flows.ts");
      process.stdout.write(`plugin: ${await installFlowPlugin(config)}\n`);
    });
}
