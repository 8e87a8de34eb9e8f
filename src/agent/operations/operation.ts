import type { Logger } from "../../foundation/logger.ts";
import type { CommandRecord, ResumePolicy } from "../commands/state.ts";

export interface RunContext {
  signal: AbortSignal;
  log: Logger;
  /** Persists a phase before a step the agent may not survive (restart, self-update). */
  setPhase(phase: string): void;
}

export type ResumeResult =
  | { status: "successful"; extra?: Record<string, unknown> }
  | { status: "failed"; reason: string }
  | { status: "rerun" };

/** One te/ operation the agent executes: `te/<entity>/cmd/<op>/<id>`. */
export interface Operation {
  readonly op: string;
  /** Retained capability payload (`{}` or metadata such as `{"types":[...]}`); undefined: not announced. */
  capability(): Record<string, unknown> | undefined;
  /** What happens to a command found `executing` when the agent starts. */
  readonly resume: ResumePolicy;
  /** Executes the command; resolves with fields added to the `successful` payload, rejects with the reason. */
  run(payload: Record<string, unknown>, ctx: RunContext): Promise<Record<string, unknown> | undefined>;
  /** For resume `custom`: decides the outcome of a command interrupted by an agent restart. */
  onResume?(rec: CommandRecord, log: Logger): Promise<ResumeResult> | ResumeResult;
}

/** Rejects when the signal aborts: for steps that only end by a restart or a time limit. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () =>
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
}

export function str(payload: Record<string, unknown>, key: string): string | undefined {
  const v = payload[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}
