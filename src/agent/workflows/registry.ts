/**
 * The workflows the agent knows: built-in ones, the user's files in `<config-dir>/operations/*.toml`
 * (re-read when they change) and the copies of versions still used by commands in flight
 * (`<state-dir>/workflows-in-use/<op>-<version>.toml`), so an edit never changes a running command.
 */
import { type FSWatcher, mkdirSync, readdirSync, readFileSync, rmSync, watch } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../foundation/files.ts";
import type { Logger } from "../../foundation/logger.ts";
import { type DefinitionError, describeError, parseWorkflow, type Workflow } from "./definition.ts";

export type Current = { ok: true; workflow: Workflow } | { ok: false; error: DefinitionError };

export interface KnownOperation {
  operation: string;
  /** `builtin` or the file serving it. */
  source: string;
  version: string;
  /** Why the file is not used (a bad edit while an older good version serves, or no good version). */
  error?: string;
}

interface FileEntry {
  text: string;
  good?: Workflow;
  error?: DefinitionError;
}

export interface RegistryOptions {
  /** `<config-dir>/operations`. */
  dir: string;
  /** Where in-use copies live. */
  inUseDir: string;
  builtins: Workflow[];
  log: Logger;
  /** Called with the operations whose effective workflow changed. */
  onChange?: (ops: string[]) => void;
  /** Called for each file that became unusable; `serving`: an older good version still serves. */
  onError?: (e: DefinitionError, serving: boolean) => void;
}

export class WorkflowRegistry {
  private readonly builtins = new Map<string, Workflow>();
  private readonly files = new Map<string, FileEntry>();
  /** Every version seen (file, in-use copy or builtin), by `<op>@<version>`. */
  private readonly versions = new Map<string, Workflow>();
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: RegistryOptions) {
    for (const w of opts.builtins) {
      this.builtins.set(w.operation, w);
      this.versions.set(key(w.operation, w.version), w);
    }
  }

  /** Reads every file and in-use copy; returns the errors found. */
  load(): DefinitionError[] {
    for (const f of listToml(this.opts.inUseDir)) {
      const text = readText(join(this.opts.inUseDir, f));
      if (text === undefined) continue;
      const p = parseWorkflow(text, join(this.opts.inUseDir, f));
      if (p.ok) this.versions.set(key(p.value.operation, p.value.version), p.value);
    }
    return this.rescan().errors;
  }

  /** Re-reads the operations directory; reports which operations changed. */
  rescan(): { changed: string[]; errors: DefinitionError[] } {
    const before = this.snapshot();
    const seen = new Set<string>();
    const errors: DefinitionError[] = [];
    for (const f of listToml(this.opts.dir)) {
      const path = join(this.opts.dir, f);
      seen.add(path);
      const text = readText(path);
      if (text === undefined) continue;
      const old = this.files.get(path);
      if (old?.text === text) {
        if (old.error) errors.push(old.error);
        continue;
      }
      const p = parseWorkflow(text, path);
      const entry: FileEntry = { text, good: old?.good };
      if (p.ok) {
        entry.good = p.value;
        this.versions.set(key(p.value.operation, p.value.version), p.value);
      } else {
        entry.error = p.error;
        errors.push(p.error);
        this.opts.log.error(
          `workflow ${describeError(p.error)}${entry.good ? " (the previous version keeps serving)" : ""}`,
        );
        this.opts.onError?.(p.error, entry.good !== undefined);
      }
      this.files.set(path, entry);
    }
    for (const path of [...this.files.keys()]) if (!seen.has(path)) this.files.delete(path);
    const after = this.snapshot();
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
      (op) => before.get(op) !== after.get(op),
    );
    return { changed, errors };
  }

  /** What serves `op` now: the newest good file, else the builtin; a file with no good version fails. */
  current(op: string): Current | undefined {
    let bad: DefinitionError | undefined;
    for (const [path, e] of [...this.files].sort(([a], [b]) => a.localeCompare(b))) {
      if (e.good?.operation === op) return { ok: true, workflow: e.good };
      if (!e.good && e.error?.operation === op && !bad) bad = { ...e.error, file: path };
    }
    if (bad) return { ok: false, error: bad };
    const b = this.builtins.get(op);
    return b ? { ok: true, workflow: b } : undefined;
  }

  /** A version a command was stamped with. */
  version(op: string, version: string): Workflow | undefined {
    return this.versions.get(key(op, version));
  }

  isBuiltin(op: string): boolean {
    return this.builtins.has(op);
  }

  operations(): string[] {
    const ops = new Set(this.builtins.keys());
    for (const e of this.files.values()) {
      const op = e.good?.operation ?? e.error?.operation;
      if (op) ops.add(op);
    }
    return [...ops].sort();
  }

  list(): KnownOperation[] {
    return this.operations().map((op) => {
      const c = this.current(op)!;
      const fileErr = [...this.files.values()].find((e) => e.error?.operation === op)?.error;
      if (!c.ok) return { operation: op, source: c.error.file, version: "-", error: describeError(c.error) };
      return {
        operation: op,
        source: c.workflow.source,
        version: c.workflow.version,
        ...(fileErr ? { error: describeError(fileErr) } : {}),
      };
    });
  }

  /** Keeps a copy of a file version while commands use it (survives edits and restarts). */
  pin(w: Workflow): void {
    if (w.version === "builtin") return;
    const file = join(this.opts.inUseDir, `${w.operation}-${w.version}.toml`);
    const entry = [...this.files.values()].find((e) => e.good === w);
    const text = entry?.text ?? readText(w.source);
    if (text === undefined) return;
    try {
      writeFileAtomic(file, text);
    } catch (e) {
      this.opts.log.warn(`cannot keep a copy of workflow ${w.source}: ${(e as Error).message}`);
    }
  }

  /** Drops the in-use copy of a version no command uses any more. */
  release(op: string, version: string): void {
    if (version === "builtin") return;
    rmSync(join(this.opts.inUseDir, `${op}-${version}.toml`), { force: true });
  }

  /** Watches the operations directory; changes are picked up after a short quiet period. */
  watch(): void {
    try {
      mkdirSync(this.opts.dir, { recursive: true });
      this.watcher = watch(this.opts.dir, () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.reload(), 100);
      });
      this.watcher.on("error", (e) => this.opts.log.warn(`cannot watch ${this.opts.dir}: ${e.message}`));
    } catch (e) {
      this.opts.log.warn(`cannot watch ${this.opts.dir}: ${(e as Error).message}`);
    }
  }

  /** Re-reads the directory and tells the owner what changed. */
  reload(): DefinitionError[] {
    const r = this.rescan();
    if (r.changed.length) this.opts.onChange?.(r.changed);
    return r.errors;
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  private snapshot(): Map<string, string> {
    const m = new Map<string, string>();
    for (const op of this.operations()) {
      const c = this.current(op);
      if (c) m.set(op, c.ok ? c.workflow.version : `error:${c.error.reason}`);
    }
    return m;
  }
}

const key = (op: string, version: string) => `${op}@${version}`;

function listToml(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => (d.isFile() || d.isSymbolicLink()) && d.name.endsWith(".toml"))
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
