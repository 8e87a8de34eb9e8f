import { runCommand } from "../agent/process.ts";
import { findExecutable } from "../foundation/which.ts";

/**
 * sd_notify(3) for ledge. Neither Node nor Bun can send unix datagrams without a native module,
 * so the message goes through `systemd-notify` (always installed with systemd), or `socat` when
 * that is missing. The sender is then a child process, hence `NotifyAccess=all` in the unit.
 */
export interface NotifierOptions {
  env?: NodeJS.ProcessEnv;
  onError?: (e: Error) => void;
}

/** The argv that delivers `message` to `socket`, or undefined when no tool can. */
export function notifyArgv(
  socket: string,
  message: string,
  env: NodeJS.ProcessEnv = process.env,
): string[] | undefined {
  const sn = findExecutable("systemd-notify", env);
  if (sn) return [sn, ...message.split("\n").filter(Boolean)];
  const socat = findExecutable("socat", env);
  if (socat) {
    const addr = socket.startsWith("@") ? `ABSTRACT-SENDTO:${socket.slice(1)}` : `UNIX-SENDTO:${socket}`;
    return ["/bin/sh", "-c", 'printf "%s" "$1" | "$2" -u - "$3"', "sd-notify", message, socat, addr];
  }
  return undefined;
}

/** Half of `WATCHDOG_USEC` in ms (systemd's advice), or undefined when no watchdog is armed for us. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(500, Math.floor(usec / 2000));
}

export class SdNotifier {
  private timer?: NodeJS.Timeout;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly opts: NotifierOptions = {}) {
    this.env = opts.env ?? process.env;
  }

  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  async notify(message: string): Promise<boolean> {
    const socket = this.env.NOTIFY_SOCKET;
    if (!socket) return false;
    const argv = notifyArgv(socket, message, this.env);
    if (!argv) {
      this.opts.onError?.(
        new Error("NOTIFY_SOCKET is set but neither systemd-notify nor socat is installed"),
      );
      return false;
    }
    try {
      const r = await runCommand(argv, { env: this.env });
      if (r.code !== 0) throw new Error(r.stderr.trim() || `exit code ${r.code}`);
      return true;
    } catch (e) {
      this.opts.onError?.(e as Error);
      return false;
    }
  }

  /** READY=1, then WATCHDOG=1 keepalives at half the watchdog period while the process runs. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    await this.notify(`READY=1\nMAINPID=${process.pid}`);
    const every = watchdogIntervalMs(this.env);
    if (every === undefined) return;
    this.timer = setInterval(() => void this.notify("WATCHDOG=1"), every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.enabled) await this.notify("STOPPING=1");
  }
}
