/**
 * The te/ command state machine, pure: what the agent does with one message on
 * `te/<entity>/cmd/<op>/<id>` given what it already knows about that command. No I/O, no clock.
 */
/** The four te/ statuses; a workflow adds states of its own (any other string). */
export type CommandStatus = "init" | "executing" | "successful" | "failed" | (string & {});
const TERMINAL: ReadonlySet<string> = new Set(["successful", "failed"]);

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

/** A command the agent has taken on, as persisted in the data dir. */
export interface CommandRecord {
  topic: string;
  op: string;
  id: string;
  status: CommandStatus;
  /** The requester's payload plus every field the agent added (status, reason, results). */
  payload: Record<string, unknown>;
  /** Epoch ms when the agent started executing it. */
  startedAt: number;
  /** Operation-specific progress that must survive a restart (e.g. "restarting"). */
  phase?: string;
  /** The workflow version stamped at `init` (`@version`): later states follow that version. */
  version?: string;
  /** The sub-operation a later `await-operation-completion` state waits for. */
  sub?: { topic?: string; builtin?: string };
  /** Epoch ms the command entered its current state (await timeouts survive a restart). */
  since?: number;
  /** The agent run that asked for an agent restart (`await-agent-restart`). */
  restartMark?: string;
}

export type Decision =
  | { kind: "ignore"; why: string }
  | { kind: "start"; payload: Record<string, unknown> }
  /** Empty retained payload: the requester is done with it. */
  | { kind: "clear" }
  /** An `executing` command nobody runs (agent restarted without its state): fail it. */
  | { kind: "fail-orphan"; payload: Record<string, unknown>; reason: string }
  | { kind: "error"; error: string };

export interface Known {
  /** The agent has a record of this command (persisted or in flight). */
  known: boolean;
}

export function decide(payload: Buffer, known: Known): Decision {
  if (payload.length === 0) return { kind: "clear" };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString("utf8"));
  } catch (e) {
    return { kind: "error", error: `command payload is not JSON: ${(e as Error).message}` };
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    return { kind: "error", error: "command payload must be a JSON object" };
  const obj = json as Record<string, unknown>;
  const status = obj.status;
  if (typeof status !== "string") return { kind: "error", error: "command payload has no 'status' string" };
  if (status === "init")
    return known.known ? { kind: "ignore", why: "already taken on" } : { kind: "start", payload: obj };
  if (status === "executing" && !known.known)
    return {
      kind: "fail-orphan",
      payload: obj,
      reason: "the agent was restarted and has no record of this command; it was interrupted",
    };
  // Our own echoes, terminal states and states of other workflows (e.g. "scheduled") are not ours to act on.
  return { kind: "ignore", why: TERMINAL.has(status) ? "terminal" : `state '${status}'` };
}

/** The payload published for a state change: the requester's fields, then the agent's. */
export function statusPayload(
  base: Record<string, unknown>,
  status: CommandStatus,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base, ...extra, status };
  if (status !== "failed") delete out.reason;
  return out;
}

export type ResumePolicy = "rerun" | "fail" | "custom";

export type ResumeAction =
  | { kind: "rerun" }
  | { kind: "fail"; reason: string }
  | { kind: "custom" }
  | { kind: "keep" };

/** What to do on agent start with a persisted command, given the operation's policy. */
export function resumeAction(rec: CommandRecord, policy: ResumePolicy | undefined): ResumeAction {
  if (TERMINAL.has(rec.status)) return { kind: "keep" };
  if (policy === undefined)
    return { kind: "fail", reason: `operation '${rec.op}' is no longer supported by this agent` };
  if (policy === "custom") return { kind: "custom" };
  if (policy === "rerun") return { kind: "rerun" };
  return {
    kind: "fail",
    reason: `the agent stopped while '${rec.op}' was ${rec.phase ? `in phase '${rec.phase}'` : "executing"}; it may be partially applied, retry it`,
  };
}

/** `te/<e1>/<e2>/<e3>/<e4>/cmd/<op>/<id>` → parts, or undefined for other topics. */
export function parseCommandTopic(
  topic: string,
  root: string,
): { entity: string; op: string; id: string } | undefined {
  const parts = topic.split("/");
  if (parts.length !== 8 || parts[0] !== root || parts[5] !== "cmd") return undefined;
  const op = parts[6]!;
  const id = parts[7]!;
  if (!op || !id) return undefined;
  return { entity: parts.slice(1, 5).join("/"), op, id };
}

/** Per-operation time limit in ms from the default and "op=seconds" overrides. */
export function timeoutMs(op: string, defaultS: number, overrides: string[]): number {
  for (const o of overrides) {
    const [name, s] = o.split("=");
    if (name === op && s) return Number(s) * 1000;
  }
  return defaultS * 1000;
}

/** An error as a command's failure reason. */
export function reasonOf(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.trim() || "operation failed without a reason";
}
