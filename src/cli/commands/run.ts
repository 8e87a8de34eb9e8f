import type { Command } from "commander";
import { RUN_NAMES } from "../../app/components.ts";
import { run } from "../../app/run.ts";
import { configOf, loggerOf } from "../context.ts";

export function registerRun(program: Command): void {
  program
    .command("run")
    .description(
      `start components in one process: all enabled ones (run.components, plus the embedded broker), or the named ones\n` +
        `components: ${RUN_NAMES.join(", ")}`,
    )
    .argument("[components...]", "components to start alone")
    .action(async (components: string[], _opts, cmd: Command) => {
      await runUntilSignal(cmd, components);
    });
}

/** Runs until SIGINT/SIGTERM, then stops every component cleanly (health `down`, broker closed). */
export async function runUntilSignal(cmd: Command, components: string[]): Promise<void> {
  const config = configOf(cmd);
  const log = loggerOf(config);
  // A daemon on a gateway must survive a bug in one handler: log it, keep serving.
  process.on("uncaughtException", (e) => log.error("uncaught exception", { error: e.stack ?? e }));
  process.on("unhandledRejection", (e) => log.error("unhandled rejection", { error: e }));
  const running = await run(config, components, log);
  log.info("ledge running", { components: running.components });
  // Under systemd (Type=notify, WatchdogSec): READY once every component is up, then keepalives.
  const notifier = process.env.NOTIFY_SOCKET
    ? new (await import("../../app/sd-notify.ts")).SdNotifier({
        onError: (e) => log.warn("sd_notify failed", { error: e.message }),
      })
    : undefined;
  await notifier?.start();
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      log.info("stopping", { signal });
      void notifier?.stop();
      void running.stop().finally(resolve);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
}
