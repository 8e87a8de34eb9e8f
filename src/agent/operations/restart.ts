import { failureOf, runCommand } from "../process.ts";
import { type Operation, untilAborted } from "./operation.ts";

const RESTARTING = "restarting";

/**
 * `restart`: runs the configured command (default `reboot`) after persisting the phase
 * "restarting", and reports `successful` only when the agent starts again and finds that phase.
 * If the command exits 0 but the device never goes down, the operation's time limit fails it.
 */
export function restartOperation(command: string[]): Operation {
  return {
    op: "restart",
    resume: "custom",
    capability: () => ({}),
    async run(_payload, ctx) {
      ctx.setPhase(RESTARTING);
      const r = await runCommand(command, { signal: ctx.signal });
      if (r.code !== 0) throw new Error(`restart command failed: ${failureOf(command, r)}`);
      ctx.log.info("restart command accepted; waiting to be restarted");
      return untilAborted(ctx.signal);
    },
    onResume(rec) {
      return rec.phase === RESTARTING
        ? { status: "successful" }
        : { status: "failed", reason: "the agent stopped before the restart command was run" };
    },
  };
}
