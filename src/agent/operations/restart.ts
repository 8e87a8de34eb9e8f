import { readFileSync } from "node:fs";
import { failureOf, runCommand } from "../process.ts";
import { type Operation, untilAborted } from "./operation.ts";

const RESTARTING = "restarting";

/** What identifies the current boot: the kernel's boot id by default (a new random UUID per boot). */
export type BootWitness = () => string;

export const bootIdFile =
  (path: string): BootWitness =>
  () =>
    readFileSync(path, "utf8").trim();

/**
 * `restart`: persists the phase "restarting" with the current boot's witness, runs the configured
 * command (default `reboot`), and reports `successful` only when the agent starts again in a
 * different boot. An agent that merely came back (the command exited 0 but the device never went
 * down, or only ledge was restarted) fails the command, as thin-edge does when the system did not
 * restart. If the device never goes down at all, the operation's time limit fails it.
 */
export function restartOperation(command: string[], boot: BootWitness): Operation {
  return {
    op: "restart",
    resume: "custom",
    capability: () => ({}),
    async run(_payload, ctx) {
      ctx.setPhase(`${RESTARTING} ${boot()}`);
      const r = await runCommand(command, { signal: ctx.signal });
      if (r.code !== 0) throw new Error(`restart command failed: ${failureOf(command, r)}`);
      ctx.log.info("restart command accepted; waiting to be restarted");
      return untilAborted(ctx.signal);
    },
    onResume(rec) {
      const [phase, before] = (rec.phase ?? "").split(" ");
      if (phase !== RESTARTING)
        return { status: "failed", reason: "the agent stopped before the restart command was run" };
      let now: string;
      try {
        now = boot();
      } catch (e) {
        return {
          status: "failed",
          reason: `cannot tell whether the device restarted: ${(e as Error).message}`,
        };
      }
      return now !== before
        ? { status: "successful" }
        : { status: "failed", reason: "the device did not restart: the agent came back in the same boot" };
    },
  };
}
