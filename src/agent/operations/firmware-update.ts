import { closeSync, createReadStream, openSync } from "node:fs";
import { chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { commandField } from "../../api/commands.ts";
import { lazy } from "../../foundation/builtin.ts";
import type { Logger } from "../../foundation/logger.ts";
import { findExecutable } from "../../foundation/which.ts";
import { isInterpreter } from "../self-update/binary.ts";
import { WATCHER_SCRIPT, watcherArgv } from "../self-update/watcher.ts";
import { download } from "../transfer.ts";
import { type Operation, str, untilAborted } from "./operation.ts";

export interface SelfUpdateOptions {
  /** The binary to replace. */
  target: string;
  /** Where the confirm/result files, watcher script and its log live. */
  stateDir: string;
  healthTimeoutS: number;
  mode: "exec" | "supervisor";
  /** exec mode: ledge's arguments for the new process; supervisor mode: the restart command. */
  rest: string[];
  /** The process the watcher waits for before starting the new binary (default: this one). */
  oldPid?: number;
  /** Ends this process so the new binary can take over (default: SIGTERM to itself). */
  requestExit: () => void;
  /** Run the watcher through systemd-run so it outlives the service's cgroup. */
  useSystemdRun?: boolean;
  /** Told the watcher's pid (its process group holds what it starts): logs, tests' cleanup. */
  onWatcher?: (pid: number) => void;
}

export const SWAPPED = "swapped";
/** The phase also carries the SHA-256 of what was installed: the command may have had no checksum. */
const swappedPhase = (sha256: string) => `${SWAPPED}:${sha256}`;
const installedSha = (phase: string | undefined) =>
  phase === SWAPPED ? undefined : phase?.startsWith(`${SWAPPED}:`) ? phase.slice(SWAPPED.length + 1) : null;

/**
 * Where the new binary comes from, as thin-edge's firmware payload says it: `tedgeUrl` (the local
 * Cumulocity proxy, set for tenant-hosted files) before `remoteUrl`; `url` of older ledge commands last.
 */
export function firmwareSource(payload: Record<string, unknown>): string | undefined {
  const field = (k: "tedgeUrl" | "remoteUrl") => commandField(payload, "firmware_update", k);
  return field("tedgeUrl") ?? field("remoteUrl") ?? str(payload, "url");
}

export function selfUpdatePaths(stateDir: string) {
  return {
    confirm: join(stateDir, "self-update.confirmed"),
    result: join(stateDir, "self-update.result"),
    script: join(stateDir, "self-update-watch.sh"),
    log: join(stateDir, "self-update-watch.log"),
  };
}

export async function sha256File(path: string): Promise<string> {
  const h = lazy.crypto().createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/**
 * `firmware_update` of ledge itself: download `tedgeUrl`/`remoteUrl` (http(s), file: or a path)
 * next to the target, check `sha256` when the command carries one (thin-edge's payload has no
 * checksum, so Cumulocity's c8y_Firmware never does), keep the current binary as `<target>.prev`, rename the new one over the
 * target (atomic), start a rollback watcher and exit. The command settles on the next start:
 * `successful` when the running binary is the new one (which confirms to the watcher),
 * `failed` when the watcher rolled back.
 */
export function firmwareUpdateOperation(opts: SelfUpdateOptions): Operation {
  const paths = selfUpdatePaths(opts.stateDir);
  return {
    op: "firmware_update",
    resume: "custom",
    capability: () => ({}),
    async run(payload, ctx) {
      const url = firmwareSource(payload);
      if (!url) throw new Error("the command has no 'remoteUrl' (or 'tedgeUrl') of the new binary");
      const want = commandField(payload, "firmware_update", "sha256")?.toLowerCase();
      if (want !== undefined && !/^[0-9a-f]{64}$/.test(want))
        throw new Error("'sha256' must be the hex SHA-256 of the new binary");
      if (isInterpreter(opts.target))
        throw new Error(
          `refusing to replace the interpreter ${opts.target}; set agent.self_update.target or run a compiled ledge`,
        );
      const cur = await stat(opts.target).catch(() => undefined);
      if (!cur?.isFile()) throw new Error(`the binary to replace, ${opts.target}, does not exist`);
      const next = `${opts.target}.new`;
      const got = await download(url, next, ctx.signal, 0o755);
      if (want !== undefined && got.sha256 !== want) {
        await rm(next, { force: true });
        throw new Error(`checksum mismatch: expected ${want}, got ${got.sha256}; nothing was replaced`);
      }
      await chmod(next, cur.mode & 0o7777 || 0o755);
      await mkdir(opts.stateDir, { recursive: true });
      await rm(paths.confirm, { force: true });
      await rm(paths.result, { force: true });
      await writeFile(paths.script, WATCHER_SCRIPT, { mode: 0o755 });
      const prev = `${opts.target}.prev`;
      await copyFile(opts.target, prev);
      await chmod(prev, cur.mode & 0o7777);
      // From here on a restart means "the new binary runs": the phase is persisted first.
      ctx.setPhase(swappedPhase(got.sha256));
      await rename(next, opts.target);
      ctx.log.info("binary replaced; starting the rollback watcher and handing over", {
        target: opts.target,
      });
      startWatcher(opts, paths);
      opts.requestExit();
      return untilAborted(ctx.signal);
    },
    async onResume(rec, log) {
      const installed = installedSha(rec.phase);
      if (installed === null) {
        await rm(`${opts.target}.new`, { force: true });
        return {
          status: "failed",
          reason: "the agent stopped before the new binary was installed; nothing was replaced",
        };
      }
      return settleAfterSwap(installed ?? str(rec.payload, "sha256")?.toLowerCase(), opts, paths, log);
    },
  };
}

async function settleAfterSwap(
  installed: string | undefined,
  opts: SelfUpdateOptions,
  paths: ReturnType<typeof selfUpdatePaths>,
  log: Logger,
): Promise<{ status: "successful" } | { status: "failed"; reason: string }> {
  const result = (await readFile(paths.result, "utf8").catch(() => "")).trim();
  if (result === "rolled-back" || result === "rollback-failed")
    return {
      status: "failed",
      reason:
        result === "rolled-back"
          ? `the new binary did not report healthy within ${opts.healthTimeoutS} s; rolled back to the previous one`
          : `the new binary did not report healthy and restoring ${opts.target}.prev failed`,
    };
  const running = await sha256File(opts.target).catch(() => "");
  if (running !== installed)
    return { status: "failed", reason: `${opts.target} is not the requested binary after the update` };
  // Tell the watcher this binary came up; it then leaves it in place.
  await writeFile(paths.confirm, `${process.pid}\n`);
  log.info("self-update confirmed", { target: opts.target });
  return { status: "successful" };
}

function startWatcher(opts: SelfUpdateOptions, paths: ReturnType<typeof selfUpdatePaths>): void {
  const argv = watcherArgv(paths.script, {
    mode: opts.mode,
    oldPid: opts.oldPid ?? process.pid,
    target: opts.target,
    prev: `${opts.target}.prev`,
    confirm: paths.confirm,
    result: paths.result,
    timeoutS: opts.healthTimeoutS,
    rest: opts.rest,
  });
  const systemdRun = opts.useSystemdRun ? findExecutable("systemd-run") : undefined;
  const full = systemdRun
    ? [systemdRun, "--quiet", "--collect", `--unit=ledge-update-watch-${Date.now()}`, ...argv]
    : argv;
  const out = openSync(paths.log, "a");
  const child = lazy.childProcess().spawn(full[0]!, full.slice(1), {
    detached: true,
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  if (child.pid !== undefined) opts.onWatcher?.(child.pid);
  child.on("error", () => {});
  child.unref();
}
