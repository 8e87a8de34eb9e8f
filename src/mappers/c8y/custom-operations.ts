/**
 * The I/O side of Cumulocity operation files: reads `<config-dir>/operations/c8y/`, follows its
 * changes, and runs the command of a matched operation, reporting 504/506/505 (or 501/503/502 by
 * name) as thin-edge's mapper does. Matching and record formats are pure (operation-files.ts,
 * operation-result.ts).
 */
import { type FSWatcher, mkdirSync, readdirSync, readFileSync, watch } from "node:fs";
import { join } from "node:path";
import { record } from "../../api/clouds/c8y/smartrest.ts";
import { commandArgv, type TemplateMessage } from "../../api/template.ts";
import type { Bus } from "../../bus/bus.ts";
import type { Logger } from "../../foundation/logger.ts";
import { runScript, type ScriptResult } from "../../foundation/run-script.ts";
import { OPERATION_FILE_NAME, type OperationFile, parseOperationFile } from "./operation-files.ts";
import { failureRecord, successRecord } from "./operation-result.ts";

/** One matched operation to run. */
export interface CustomRun {
  file: OperationFile;
  /** SmartREST: the whole line, passed as one last argument. */
  line?: string;
  /** JSON: the operation, for `${.payload…}` templates in `command`. */
  message?: TemplateMessage;
  /** The numeric Cumulocity operation id (JSON operations): status by id. */
  opId?: string;
}

export interface CustomOperationsOptions {
  dir: string;
  bus: Bus;
  log: Logger;
  /** Where status records go: `c8y/s/us`. */
  statusTopic: string;
  env?: NodeJS.ProcessEnv;
  onChange?: (files: OperationFile[]) => void;
  /**
   * Operations ledge handles itself, announced like files (a user's file for the same SmartREST
   * id wins, as installing thin-edge's plugin file would): name → handler of the SmartREST line
   * resolving with the result text.
   */
  native?: { file: OperationFile; handle: (line: string) => Promise<string> }[];
}

export class CustomOperations {
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private files: OperationFile[] = [];
  private readonly running = new Set<Promise<void>>();
  /** Operation ids already run (Cumulocity may deliver an operation twice). */
  private readonly seen = new Set<string>();

  constructor(private readonly opts: CustomOperationsOptions) {}

  /** Reads every operation file (invalid ones are logged and left out) plus the native ones. */
  load(): OperationFile[] {
    const out = readOperationFiles(this.opts.dir, this.opts.log);
    for (const n of this.opts.native ?? [])
      if (!out.some((f) => f.name === n.file.name || (f.onMessage && f.onMessage === n.file.onMessage)))
        out.push(n.file);
    this.files = out.sort((a, b) => a.name.localeCompare(b.name));
    return this.files;
  }

  watch(): void {
    try {
      mkdirSync(this.opts.dir, { recursive: true });
      this.watcher = watch(this.opts.dir, () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.opts.onChange?.(this.load()), 100);
      });
      this.watcher.on("error", () => {});
    } catch (e) {
      this.opts.log.warn(`cannot watch ${this.opts.dir}: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.watcher?.close();
    await Promise.allSettled([...this.running]);
  }

  run(r: CustomRun): void {
    if (r.opId !== undefined) {
      if (this.seen.has(r.opId)) return;
      this.seen.add(r.opId);
      if (this.seen.size > 1000) this.seen.delete(this.seen.values().next().value!);
    }
    const p = this.execute(r).catch((e) => this.opts.log.error("custom operation failed", { error: e }));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async execute(r: CustomRun): Promise<void> {
    const { file } = r;
    const name = file.name;
    const status = (payload: string) =>
      file.skipStatusUpdate
        ? Promise.resolve()
        : this.opts.bus.publish(this.opts.statusTopic, payload, { qos: 1 });
    const fail = (reason: string) =>
      status(r.opId ? failureRecord(505, r.opId, reason) : failureRecord(502, name, reason));
    const argv = commandArgv(file.command ?? "", r.message ?? { topic: "", payload: {} });
    await status(r.opId ? record(504, r.opId) : record(501, name));
    const native = this.opts.native?.find((n) => n.file === file);
    if (native) {
      try {
        const text = await native.handle(r.line ?? "");
        return status(
          r.opId ? successRecord(506, r.opId, text, "text") : successRecord(503, name, text, "text"),
        );
      } catch (e) {
        return fail((e as Error).message);
      }
    }
    if (!argv.ok) return fail(argv.error);
    if (r.line !== undefined) argv.value.push(r.line);
    this.opts.log.info(`running custom operation ${name}`, { command: argv.value[0] });
    const res = await runScript(argv.value, {
      timeoutS: file.timeoutS,
      forcefulS: file.forcefulS,
      env: this.opts.env,
    });
    if (res.kind === "exit" && res.code === 0)
      return status(
        r.opId
          ? successRecord(506, r.opId, res.stdout, file.resultFormat)
          : successRecord(503, name, res.stdout, file.resultFormat),
      );
    return fail(failureOf(name, file.timeoutS, res));
  }
}

/** The valid operation files of a directory; invalid ones are logged and left out. */
export function readOperationFiles(dir: string, log: Logger): OperationFile[] {
  const out: OperationFile[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isFile() || d.isSymbolicLink())
      .map((d) => d.name)
      .sort();
  } catch {
    // no directory: no custom operations
  }
  for (const name of names) {
    if (!OPERATION_FILE_NAME.test(name)) {
      log.warn(
        `operation file ${name}: the name must be letters, digits or _ (or end in .template); ignored`,
      );
      continue;
    }
    let text: string;
    try {
      text = readFileSync(join(dir, name), "utf8");
    } catch (e) {
      log.warn(`operation file ${name}: ${(e as Error).message}; ignored`);
      continue;
    }
    const p = parseOperationFile(name, text);
    if (p.ok) out.push(p.value);
    else log.warn(`operation file ${join(dir, name)}: ${p.error}; ignored`);
  }
  return out;
}

function failureOf(name: string, timeoutS: number, r: ScriptResult): string {
  if (r.kind === "launch-error") return `cannot run the ${name} command: ${r.error}`;
  const err = r.stderr?.trim() ?? "";
  if (r.kind === "killed")
    return r.timedOut
      ? `operation ${name} timed out after ${timeoutS} s${err ? `: ${err}` : ""}`
      : `operation ${name} killed by ${r.signal}${err ? `: ${err}` : ""}`;
  return err || `operation ${name} exited with code ${r.code}`;
}
