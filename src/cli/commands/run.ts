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

/** EX_SOFTWARE (sysexits.h): an internal error; supervisors restart on any non-zero exit. */
const EXIT_CRASHED = 70;
const CRASH_STOP_MS = 3000;

/** Runs until SIGINT/SIGTERM, then stops every component cleanly (health `down`, broker closed). */
export async function runUntilSignal(cmd: Command, components: string[]): Promise<void> {
  const config = configOf(cmd);
  const log = loggerOf(config);
  // After an uncaught exception the process state is unknown: report every component `down`
  // (bounded: a wedged component must not keep a broken process alive) and exit non-zero, so the
  // supervisor (systemd Restart=, OpenRC respawn) starts a clean one.
  let running: Awaited<ReturnType<typeof run>> | undefined;
  let crashed = false;
  const crash = (what: string, e: unknown) => {
    log.error(what, { error: e instanceof Error ? (e.stack ?? e.message) : e });
    if (crashed) return;
    crashed = true;
    const down = running?.stop() ?? Promise.resolve();
    const bound = new Promise<void>((r) => setTimeout(r, CRASH_STOP_MS));
    void Promise.race([down.catch(() => {}), bound]).finally(() => process.exit(EXIT_CRASHED));
  };
  process.on("uncaughtException", (e) => crash("uncaught exception, exiting", e));
  process.on("unhandledRejection", (e) => crash("unhandled rejection, exiting", e));
  running = await run(config, components, log);
  // the handlers go in before anything announces that ledge is up: a supervisor may stop it at once
  let notifier: { start(): Promise<void>; stop(): Promise<void> } | undefined;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      log.info("stopping", { signal });
      void notifier?.stop();
      void running?.stop().finally(resolve);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
  log.info("ledge running", { components: running.components });
  // Under systemd (Type=notify, WatchdogSec): READY once every component is up, then keepalives.
  notifier = process.env.NOTIFY_SOCKET
    ? new (await import("../../app/sd-notify.ts")).SdNotifier({
        onError: (e) => log.warn("sd_notify failed", { error: e.message }),
      })
    : undefined;
  await notifier?.start();
  await stopped;
}
