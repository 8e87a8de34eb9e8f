import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canConnect, freePort } from "./ports.ts";

export const MOSQUITTO = "/usr/sbin/mosquitto";

export interface Mosquitto {
  port: number;
  dir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  /** Starts it again on the same port with the same config (outage tests). */
  restart(): Promise<void>;
}

/**
 * Starts a real mosquitto (Debian's; scripts/test-deps.sh installs it) on a free loopback port.
 * `extraConfig` lines are appended (TLS listeners, require_certificate, ...).
 */
export async function startMosquitto(extraConfig: string[] = [], port?: number): Promise<Mosquitto> {
  if (!existsSync(MOSQUITTO))
    throw new Error(`${MOSQUITTO} missing: run scripts/test-deps.sh (npm test does)`);
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "ledge-mosq-"));
  const conf = join(dir, "mosquitto.conf");
  const hasListener = extraConfig.some((l) => l.startsWith("listener "));
  writeFileSync(
    conf,
    [
      ...(hasListener ? [] : [`listener ${p} 127.0.0.1`, "allow_anonymous true"]),
      "persistence false",
      "log_dest stderr",
      "log_type error",
      "max_queued_messages 0",
      ...extraConfig,
      "",
    ].join("\n"),
  );
  const state: Mosquitto = {
    port: p,
    dir,
    proc: undefined as unknown as ChildProcess,
    stop: async () => {
      const proc = state.proc;
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      });
    },
    restart: async () => {
      await state.stop();
      await launch();
    },
  };
  const launch = async () => {
    state.proc = spawn(MOSQUITTO, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    state.proc.stderr?.on("data", (d) => {
      stderr += d;
    });
    const end = Date.now() + 10_000;
    while (!(await canConnect(p))) {
      if (state.proc.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
      if (Date.now() > end) throw new Error(`mosquitto did not listen on ${p}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await launch();
  return state;
}
