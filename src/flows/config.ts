/**
 * A flow file (`flow.toml`, TEDGE-FACTS §10.2) checked and resolved into a `FlowSpec`: inputs,
 * steps, output and errors sinks, with `${params.*}`/`${mapper.*}` substituted. Pure but for
 * reading the file and its parameters; every mistake is an error naming the key.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { parse } from "smol-toml";
import { parseDuration } from "../foundation/duration.ts";
import { loadParams, substitute, type Vars } from "./params.ts";

export type InputSpec =
  | { kind: "mqtt"; topics: string[] }
  | { kind: "file"; path: string; topic: string; intervalMs?: number }
  | { kind: "process"; command: string; topic: string; intervalMs?: number; cwd: string };

export type SinkSpec = { kind: "mqtt"; topic?: string } | { kind: "file"; path: string };

export type StepSource = { builtin: string } | { script: string };

export interface StepSpec {
  source: StepSource;
  /** The step's config merged over the flow's `config`. */
  config: Record<string, unknown>;
  intervalMs: number;
}

export interface FlowSpec {
  /** Path relative to the flows dir, without `.toml`, and a trailing `/flow` dropped. */
  name: string;
  file: string;
  version?: string;
  description?: string;
  tags: string[];
  inputs: InputSpec[];
  steps: StepSpec[];
  output: SinkSpec;
  errors: SinkSpec;
  expectLoop: boolean;
}

/** thin-edge's default errors topic for user flows. */
export const DEFAULT_ERRORS_TOPIC = "te/error";
const DEFAULT_INTERVAL_MS = 1000;
const SCRIPT_EXT = /\.(m?js|ts)$/;

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => v !== null && typeof v === "object" && !Array.isArray(v);

export function flowName(flowsDir: string, file: string): string {
  return relative(flowsDir, file)
    .replace(/\.toml$/, "")
    .replace(/(^|\/)flow$/, "")
    .split("\\")
    .join("/");
}

/** Tables given either as one table or as an array of tables (`[input.mqtt]` or `[[input.mqtt]]`). */
function tables(v: unknown, where: string): Table[] {
  if (v === undefined) return [];
  if (isTable(v)) return [v];
  if (Array.isArray(v) && v.every(isTable)) return v;
  throw new Error(`${where} must be a table or an array of tables`);
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string" || !v) throw new Error(`${where} must be a non-empty string`);
  return v;
}

function strList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string" && s))
    throw new Error(`${where} must be a list of non-empty strings`);
  return v;
}

const interval = (v: unknown, where: string) => (v === undefined ? undefined : parseDuration(v, where));

function inputs(input: unknown, dir: string): InputSpec[] {
  if (input === undefined) return [];
  if (!isTable(input)) throw new Error("input must be a table");
  const out: InputSpec[] = [];
  for (const key of Object.keys(input))
    if (!["mqtt", "file", "process"].includes(key)) throw new Error(`input.${key}: unknown input kind`);
  for (const t of tables(input.mqtt, "input.mqtt"))
    out.push({ kind: "mqtt", topics: strList(t.topics, "input.mqtt.topics") });
  for (const t of tables(input.file, "input.file")) {
    const p = str(t.path, "input.file.path");
    const path = isAbsolute(p) ? p : resolve(dir, p);
    out.push({
      kind: "file",
      path,
      topic: t.topic === undefined ? p : str(t.topic, "input.file.topic"),
      intervalMs: interval(t.interval, "input.file.interval"),
    });
  }
  for (const t of tables(input.process, "input.process")) {
    const command = str(t.command, "input.process.command");
    out.push({
      kind: "process",
      command,
      topic: t.topic === undefined ? command : str(t.topic, "input.process.topic"),
      intervalMs: interval(t.interval, "input.process.interval"),
      cwd: dir,
    });
  }
  return out;
}

function sink(v: unknown, where: string, dir: string, fallback: SinkSpec): SinkSpec {
  if (v === undefined) return fallback;
  if (!isTable(v)) throw new Error(`${where} must be a table`);
  if (v.file !== undefined) {
    if (!isTable(v.file)) throw new Error(`${where}.file must be a table`);
    const p = str(v.file.path, `${where}.file.path`);
    return { kind: "file", path: isAbsolute(p) ? p : resolve(dir, p) };
  }
  if (v.mqtt !== undefined) {
    if (!isTable(v.mqtt)) throw new Error(`${where}.mqtt must be a table`);
    const topic = v.mqtt.topic;
    return topic === undefined
      ? { kind: "mqtt" }
      : { kind: "mqtt", topic: str(topic, `${where}.mqtt.topic`) };
  }
  throw new Error(`${where} needs a [${where}.mqtt] or [${where}.file] table`);
}

function steps(v: unknown, flowConfig: Table, dir: string): StepSpec[] {
  const list = v === undefined ? [] : Array.isArray(v) ? v : undefined;
  if (!list?.every(isTable)) throw new Error("steps must be an array of tables");
  return list.map((s, i) => {
    const where = `steps[${i}]`;
    let source: StepSource;
    if (s.builtin !== undefined && s.script !== undefined)
      throw new Error(`${where}: give either builtin or script, not both`);
    if (s.builtin !== undefined) source = { builtin: str(s.builtin, `${where}.builtin`) };
    else if (s.script !== undefined) {
      const p = str(s.script, `${where}.script`);
      if (!SCRIPT_EXT.test(p)) throw new Error(`${where}.script: '${p}' is not a .js, .mjs or .ts file`);
      source = { script: isAbsolute(p) ? p : resolve(dir, p) };
    } else throw new Error(`${where} needs builtin = "<name>" or script = "<path>"`);
    const config = s.config === undefined ? {} : s.config;
    if (!isTable(config)) throw new Error(`${where}.config must be a table`);
    return {
      source,
      config: { ...flowConfig, ...config },
      intervalMs: interval(s.interval, `${where}.interval`) ?? DEFAULT_INTERVAL_MS,
    };
  });
}

/** Parses a flow file's text (already read) for the flow `name`; `vars` holds its parameters. */
export function parseFlow(text: string, file: string, name: string, vars: Vars): FlowSpec {
  const dir = dirname(file);
  const at = (e: unknown) => new Error(`${file}: ${(e as Error).message}`);
  let raw: Table;
  try {
    raw = parse(text) as Table;
  } catch (e) {
    throw at(e);
  }
  try {
    const doc = substitute(raw, vars, "flow") as Table;
    const config = doc.config === undefined ? {} : doc.config;
    if (!isTable(config)) throw new Error("config must be a table");
    const tags = doc.tags === undefined ? [] : strList(doc.tags, "tags");
    return {
      name,
      file,
      version: typeof doc.version === "string" ? doc.version : undefined,
      description: typeof doc.description === "string" ? doc.description : undefined,
      tags,
      inputs: inputs(doc.input, dir),
      steps: steps(doc.steps, config, dir),
      output: sink(doc.output, "output", dir, { kind: "mqtt" }),
      errors: sink(doc.errors, "errors", dir, { kind: "mqtt", topic: DEFAULT_ERRORS_TOPIC }),
      expectLoop: doc.expect_loop === true,
    };
  } catch (e) {
    throw at(e);
  }
}

/** Reads and parses one flow file of `flowsDir`, with the parameters of its directory. */
export function loadFlow(flowsDir: string, file: string, mapper: Table): FlowSpec {
  const text = readFileSync(file, "utf8");
  let params: Table;
  try {
    params = loadParams(dirname(file));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return parseFlow(text, file, flowName(flowsDir, file), { params, mapper });
}
