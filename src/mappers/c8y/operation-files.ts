/**
 * thin-edge's Cumulocity operation files (`<config-dir>/operations/c8y/<OpName>`): which custom
 * operations the main device supports and how each is run. Pure: file text in, a validated
 * definition out; an incoming SmartREST line or JSON operation in, the matching handler out.
 */
import { parse } from "smol-toml";
import { parseRecord } from "../../api/clouds/c8y/smartrest.ts";
import { isObj, type Obj } from "../../foundation/json.ts";
import type { Result } from "../common/types.ts";

export interface OperationFile {
  /** The Cumulocity operation name (the file name). */
  name: string;
  /** Empty file: supported, handled by the mapper's built-in conversion. */
  builtin: boolean;
  topic?: string;
  onMessage?: string;
  onFragment?: string;
  command?: string;
  resultFormat: "text" | "csv";
  timeoutS: number;
  forcefulS: number;
  skipStatusUpdate: boolean;
  /** Delegation to an agent workflow instead of a command. */
  workflow?: { operation: string; input?: unknown; output?: unknown };
  /** Handled inside ledge instead of by a command (remote access). */
  native?: string;
  /**
   * A `<name>.template` file: active only while the device announces the capability of its
   * `workflow.operation` (thin-edge links such a file when the capability appears).
   */
  template?: boolean;
}

export const OPERATION_FILE_NAME = /^[A-Za-z0-9_]+(\.template)?$/;
const DEFAULT_JSON_TOPIC = "c8y/devicecontrol/notifications";

function optStr(t: Obj, key: string): Result<string | undefined> {
  const v = t[key];
  if (v === undefined) return { ok: true, value: undefined };
  if (typeof v !== "string" || !v) return { ok: false, error: `'exec.${key}' must be a non-empty string` };
  return { ok: true, value: v };
}

function seconds(t: Obj, key: string, dflt: number): Result<number> {
  const v = t[key];
  if (v === undefined) return { ok: true, value: dflt };
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
    return { ok: false, error: `'exec.${key}' must be a whole number of seconds` };
  return { ok: true, value: v };
}

/**
 * Parses one operation file; `prefix` is the local bridge prefix (`c8y`): `${.bridge.topic_prefix}`
 * and a literal leading `c8y/` in `topic` become it.
 */
export function parseOperationFile(file: string, text: string, prefix = "c8y"): Result<OperationFile> {
  const template = file.endsWith(".template");
  const name = template ? file.slice(0, -9) : file;
  const base: OperationFile = {
    name,
    builtin: true,
    resultFormat: "text",
    timeoutS: 3600,
    forcefulS: 60,
    skipStatusUpdate: false,
  };
  if (!text.trim()) return { ok: true, value: base };
  let doc: Obj;
  try {
    doc = parse(text) as Obj;
  } catch (e) {
    return { ok: false, error: `invalid TOML: ${(e as Error).message.split("\n")[0]}` };
  }
  const exec = doc.exec;
  if (!isObj(exec)) return { ok: false, error: "an operation file needs an [exec] table" };
  const topic = optStr(exec, "topic");
  const onMessage = optStr(exec, "on_message");
  const onFragment = optStr(exec, "on_fragment");
  const command = optStr(exec, "command");
  const timeout = seconds(exec, "timeout", 3600);
  const forceful = seconds(exec, "forceful_timeout", 60);
  for (const r of [topic, onMessage, onFragment, command, timeout, forceful]) if (!r.ok) return r;
  const rf = exec.result_format ?? "text";
  if (rf !== "text" && rf !== "csv")
    return { ok: false, error: '\'exec.result_format\' must be "text" or "csv"' };
  if (exec.skip_status_update !== undefined && typeof exec.skip_status_update !== "boolean")
    return { ok: false, error: "'exec.skip_status_update' must be true or false" };
  let workflow: OperationFile["workflow"];
  if (exec.workflow !== undefined) {
    const w = exec.workflow;
    if (!isObj(w) || typeof w.operation !== "string" || !w.operation)
      return { ok: false, error: "'exec.workflow.operation' must name an operation" };
    workflow = { operation: w.operation, input: w.input, output: w.output };
  }
  const out: OperationFile = {
    ...base,
    builtin: false,
    topic: topic.ok && topic.value ? localTopic(topic.value, prefix) : undefined,
    onMessage: onMessage.ok ? onMessage.value : undefined,
    onFragment: onFragment.ok ? onFragment.value : undefined,
    command: command.ok ? command.value : undefined,
    resultFormat: rf,
    timeoutS: timeout.ok ? timeout.value : 3600,
    forcefulS: forceful.ok ? forceful.value : 60,
    skipStatusUpdate: exec.skip_status_update === true,
    workflow,
    ...(template ? { template } : {}),
  };
  if (template && !workflow)
    return { ok: false, error: "a .template file links a workflow: it needs [exec.workflow]" };
  if (out.onMessage) {
    if (!out.topic || !out.command) return { ok: false, error: "'on_message' needs 'topic' and 'command'" };
    if (out.onFragment) return { ok: false, error: "'on_message' and 'on_fragment' exclude each other" };
  } else {
    if (!out.onFragment) return { ok: false, error: "an operation file needs 'on_message' or 'on_fragment'" };
    if (out.command && out.workflow)
      return { ok: false, error: "'command' and 'workflow' exclude each other" };
    if (!out.command && !out.workflow)
      return { ok: false, error: "'on_fragment' needs 'command' or 'workflow.operation'" };
    out.topic ??= localTopic(DEFAULT_JSON_TOPIC, prefix);
  }
  return { ok: true, value: out };
}

function localTopic(topic: string, prefix: string): string {
  const t = topic.replace(/\$\{\s*\.bridge\.topic_prefix\s*\}/g, prefix);
  return t.startsWith("c8y/") ? `${prefix}/${t.slice(4)}` : t;
}

/**
 * The files in force for the main device: plain files, and templates whose workflow operation
 * the device announces (`capabilities`: its te/ operations).
 */
export function activeFiles(files: OperationFile[], capabilities: (op: string) => boolean): OperationFile[] {
  return files.filter((f) => !f.template || (f.workflow !== undefined && capabilities(f.workflow.operation)));
}

/** The handler for one SmartREST line on `topic` (main device only, as thin-edge). */
export function matchSmartRest(
  files: OperationFile[],
  topic: string,
  line: string,
  mainId: string,
): OperationFile | undefined {
  const [id, xid] = parseRecord(line);
  if (xid !== mainId) return undefined;
  return files.find((f) => f.onMessage !== undefined && f.onMessage === id && f.topic === topic);
}

/** The handler for one JSON operation on `topic`: the first whose `on_fragment` the operation has. */
export function matchJson(files: OperationFile[], topic: string, op: Obj): OperationFile | undefined {
  return files.find((f) => f.onFragment !== undefined && f.topic === topic && f.onFragment in op);
}

/** The topics custom handlers listen on, besides the mapper's own. */
export function customTopics(files: OperationFile[]): string[] {
  return [...new Set(files.map((f) => f.topic).filter((t): t is string => t !== undefined))];
}
