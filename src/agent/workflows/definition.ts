/**
 * thin-edge operation workflow files (TOML in `<config-dir>/operations/*.toml`) → a validated
 * `Workflow`. Pure: text in, workflow or an error naming the line and the reason out.
 */

import { parse, TomlError } from "smol-toml";
import { lazy } from "../../foundation/builtin.ts";
import { isObj, type Obj } from "../../foundation/json.ts";

/** Where a handler sends the command: a status, optionally with a reason. */
export interface Target {
  status: string;
  reason?: string;
}

export interface Handlers {
  onSuccess?: Target;
  onError?: Target;
  onKill?: Target;
  /** `on_exit.<n>` and `on_exit.<a>-<b>`, sorted, never overlapping. */
  onExit: { from: number; to: number; target: Target }[];
  onStdout: string[];
  onExec?: Target;
  onNext?: Target;
  timeoutS?: number;
  onTimeout?: Target;
}

export type Action =
  | { kind: "proceed" }
  | { kind: "cleanup" }
  | { kind: "script"; line: string }
  | { kind: "background"; line: string }
  /** `inline`: the deprecated `action = "builtin"|"restart"` forms, which await in the same state. */
  | { kind: "operation"; operation: string; input?: unknown; inputScript?: string; inline: boolean }
  | { kind: "await-operation"; output?: unknown }
  | { kind: "await-agent-restart" }
  | { kind: "restart-agent" }
  | { kind: "iterate"; over: string }
  | { kind: "download"; input: Record<string, unknown> }
  /** `builtin:config_update:<step>` of thin-edge's shipped config_update workflow. */
  | { kind: "builtin-step"; op: string; step: string; input?: unknown }
  /** Built-in workflows only: a retained publication (thin-edge's shipped files run `tedge mqtt pub`). */
  | { kind: "publish"; topic: string; payload: unknown };

export interface StateDef {
  name: string;
  action: Action;
  handlers: Handlers;
}

export interface Workflow {
  operation: string;
  /** SHA-256 of the file text, or `builtin`. */
  version: string;
  /** The file it came from, or `builtin`. */
  source: string;
  states: Record<string, StateDef>;
}

export interface DefinitionError {
  file: string;
  line?: number;
  reason: string;
  /** The `operation` key when it could still be read (then commands for it fail with this error). */
  operation?: string;
}

export type Parsed = { ok: true; value: Workflow } | { ok: false; error: DefinitionError };

export function versionOf(text: string): string {
  return lazy.crypto().createHash("sha256").update(text).digest("hex");
}

export function describeError(e: DefinitionError): string {
  return `${e.file}${e.line ? `:${e.line}` : ""}: ${e.reason}`;
}

class Invalid extends Error {
  constructor(
    message: string,
    readonly state?: string,
    readonly key?: string,
  ) {
    super(message);
  }
}

const DEFAULT_KEYS = new Set(["on_error", "on_kill", "on_exit", "timeout_second", "on_timeout"]);
const ACTION_KEYS = ["script", "background_script", "operation", "iterate", "action"] as const;

function target(v: unknown, state: string, key: string): Target {
  if (typeof v === "string" && v) return { status: v };
  if (isObj(v) && typeof v.status === "string" && v.status) {
    if (v.reason !== undefined && typeof v.reason !== "string")
      throw new Invalid(`'${key}.reason' must be a string`, state, key);
    return v.reason === undefined ? { status: v.status } : { status: v.status, reason: v.reason };
  }
  throw new Invalid(`'${key}' must be a state name or { status = "...", reason = "..." }`, state, key);
}

function optTarget(t: Obj, key: string, state: string): Target | undefined {
  return t[key] === undefined ? undefined : target(t[key], state, key);
}

function handlers(t: Obj, state: string, defaults?: Handlers): Handlers {
  const h: Handlers = {
    onSuccess: optTarget(t, "on_success", state),
    onError: optTarget(t, "on_error", state),
    onKill: optTarget(t, "on_kill", state),
    onExit: [],
    onStdout: [],
    onExec: optTarget(t, "on_exec", state),
    onNext: optTarget(t, "on_next", state),
    onTimeout: optTarget(t, "on_timeout", state),
  };
  if (t.timeout_second !== undefined) {
    if (typeof t.timeout_second !== "number" || !Number.isInteger(t.timeout_second) || t.timeout_second < 0)
      throw new Invalid("'timeout_second' must be a whole number of seconds", state, "timeout_second");
    h.timeoutS = t.timeout_second;
  }
  if (t.on_stdout !== undefined) {
    if (!Array.isArray(t.on_stdout) || !t.on_stdout.every((s) => typeof s === "string"))
      throw new Invalid("'on_stdout' must be a list of state names", state, "on_stdout");
    h.onStdout = t.on_stdout;
  }
  if (t.on_exit !== undefined) {
    if (!isObj(t.on_exit)) throw new Invalid("'on_exit' must be a table of exit codes", state, "on_exit");
    for (const [k, v] of Object.entries(t.on_exit)) {
      const tg = target(v, state, `on_exit.${k}`);
      if (k === "_") {
        if (h.onError) throw new Invalid("both 'on_error' and 'on_exit._' are given", state, "on_exit");
        h.onError = tg;
        continue;
      }
      const m = /^(\d{1,3})(?:-(\d{1,3}))?$/.exec(k);
      const from = m ? Number(m[1]) : Number.NaN;
      const to = m?.[2] !== undefined ? Number(m[2]) : from;
      if (!m || from > 255 || to > 255 || to < from)
        throw new Invalid(
          `'on_exit.${k}' is not an exit code or a range a-b of codes 0-255`,
          state,
          "on_exit",
        );
      h.onExit.push({ from, to, target: tg });
    }
    h.onExit.sort((a, b) => a.from - b.from);
    for (let i = 1; i < h.onExit.length; i++)
      if (h.onExit[i]!.from <= h.onExit[i - 1]!.to)
        throw new Invalid("overlapping 'on_exit' ranges", state, "on_exit");
    const zero = h.onExit[0];
    if (zero?.from === 0) {
      if (h.onSuccess) throw new Invalid("both 'on_success' and 'on_exit.0' are given", state, "on_exit");
      h.onSuccess = zero.target;
    }
  }
  if (h.onSuccess && h.onStdout.length)
    throw new Invalid("'on_stdout' cannot be combined with 'on_success'", state, "on_stdout");
  if (defaults) {
    h.onError ??= defaults.onError;
    h.onKill ??= defaults.onKill;
    h.timeoutS ??= defaults.timeoutS;
    h.onTimeout ??= defaults.onTimeout;
    if (!h.onExit.length) h.onExit = defaults.onExit.filter((e) => e.from > 0);
  }
  return h;
}

function str(t: Obj, key: string, state: string): string {
  const v = t[key];
  if (typeof v !== "string" || !v) throw new Invalid(`'${key}' must be a non-empty string`, state, key);
  return v;
}

function action(t: Obj, state: string, operation: string): Action {
  const given = ACTION_KEYS.filter((k) => t[k] !== undefined);
  if (given.length > 1)
    throw new Invalid(`a state takes one action, got ${given.join(" and ")}`, state, given[1]);
  const kind = given[0];
  if (kind === undefined) return { kind: "proceed" };
  switch (kind) {
    case "script":
      return { kind: "script", line: str(t, "script", state) };
    case "background_script":
      return { kind: "background", line: str(t, "background_script", state) };
    case "iterate":
      return { kind: "iterate", over: str(t, "iterate", state) };
    case "operation": {
      const op = str(t, "operation", state);
      if (op.startsWith("builtin:") && op !== `builtin:${operation}`)
        throw new Invalid(`'${op}' can only be used by the workflow of '${op.slice(8)}'`, state, "operation");
      if (t.input_script !== undefined && typeof t.input_script !== "string")
        throw new Invalid("'input_script' must be a command line", state, "input_script");
      return {
        kind: "operation",
        operation: op,
        input: t.input,
        inputScript: t.input_script as string | undefined,
        inline: false,
      };
    }
    case "action": {
      const a = str(t, "action", state);
      switch (a) {
        case "proceed":
          return { kind: "proceed" };
        case "cleanup":
          return { kind: "cleanup" };
        case "await-agent-restart":
          return { kind: "await-agent-restart" };
        case "await-operation-completion":
          return { kind: "await-operation", output: t.output };
        case "restart-agent":
          return { kind: "restart-agent" };
        case "download":
          if (t.input !== undefined && !isObj(t.input))
            throw new Invalid("'input' of download must be a table (input.url = ...)", state, "input");
          return { kind: "download", input: (t.input as Obj | undefined) ?? {} };
        case "builtin":
          return { kind: "operation", operation: `builtin:${operation}`, inline: true };
        case "restart":
          return { kind: "operation", operation: "restart", inline: true };
        default:
          if (a.startsWith("builtin:")) {
            const [, op, step] = a.split(":");
            if (op !== "config_update" || !["prepare", "set", "verify", "rollback"].includes(step ?? ""))
              throw new Invalid(
                `builtin step '${a}' is not supported by ledge (only builtin:config_update:prepare|set|verify|rollback)`,
                state,
                "action",
              );
            if (op !== operation)
              throw new Invalid(`'${a}' can only be used by the workflow of '${op}'`, state, "action");
            return { kind: "builtin-step", op, step: step!, input: t.input };
          }
          throw new Invalid(`unknown action '${a}'`, state, "action");
      }
    }
  }
}

/** The 1-based line of a state's header (or of a key in it), for error messages. */
export function lineOf(text: string, state?: string, key?: string): number | undefined {
  const lines = text.split("\n");
  let start = 0;
  if (state !== undefined) {
    const esc = state.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const header = new RegExp(`^\\s*\\[\\s*(?:${esc}|"${esc}"|'${esc}')\\s*\\]`);
    const i = lines.findIndex((l) => header.test(l));
    if (i < 0) return undefined;
    start = i;
  }
  if (key !== undefined) {
    for (let i = start + (state === undefined ? 0 : 1); i < lines.length; i++) {
      if (state !== undefined && /^\s*\[/.test(lines[i]!)) break;
      if (new RegExp(`^\\s*${key}\\s*[.=]`).test(lines[i]!)) return i + 1;
    }
  }
  return state === undefined ? undefined : start + 1;
}

/** Reads the `operation` key from text that may not parse as TOML. */
function operationOf(text: string, json?: Obj): string | undefined {
  if (json && typeof json.operation === "string") return json.operation;
  const m = /^\s*operation\s*=\s*["']([^"']+)["']/m.exec(text);
  return m?.[1];
}

export function parseWorkflow(text: string, file: string): Parsed {
  let json: Obj;
  try {
    json = parse(text) as Obj;
  } catch (e) {
    const line = e instanceof TomlError ? e.line : undefined;
    const reason = `invalid TOML: ${(e as Error).message.split("\n")[0]}`;
    return { ok: false, error: { file, line, reason, operation: operationOf(text) } };
  }
  const operation = operationOf(text, json);
  try {
    if (typeof json.operation !== "string" || !/^[A-Za-z0-9_-]+$/.test(json.operation))
      throw new Invalid(
        "'operation' must name the operation (letters, digits, _ or -)",
        undefined,
        "operation",
      );
    const op = json.operation;
    const defaults = handlers(
      Object.fromEntries(Object.entries(json).filter(([k]) => DEFAULT_KEYS.has(k))),
      "",
    );
    const states: Record<string, StateDef> = {};
    for (const [name, v] of Object.entries(json)) {
      if (name === "operation" || DEFAULT_KEYS.has(name)) continue;
      if (!isObj(v)) throw new Invalid(`'${name}' is neither a state table nor a known key`, undefined, name);
      states[name] = { name, action: action(v, name, op), handlers: handlers(v, name, defaults) };
    }
    if (!states.init) throw new Invalid("the workflow has no 'init' state");
    for (const s of ["successful", "failed"])
      states[s] ??= { name: s, action: { kind: "cleanup" }, handlers: { onExit: [], onStdout: [] } };
    for (const s of ["successful", "failed"])
      if (states[s]!.action.kind !== "cleanup" && states[s]!.action.kind !== "proceed")
        throw new Invalid(`the terminal state '${s}' can only use action = "cleanup"`, s);
    return { ok: true, value: { operation: op, version: versionOf(text), source: file, states } };
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    const line = lineOf(text, e.state || undefined, e.key);
    const where = e.state ? `state '${e.state}': ` : "";
    return { ok: false, error: { file, line, reason: `${where}${e.message}`, operation } };
  }
}
