/**
 * The flows of one mapper dir (`mappers/<mapper>/flows`): loaded from disk, sharing one
 * `context.mapper`, each step's `context.script` kept across reloads. `refresh()` reloads only the
 * flows whose files (flow file, params, scripts) changed, so hot reload costs a few `stat`s.
 */
import { dirname, join } from "node:path";
import { type FlowSpec, loadFlow } from "./config.ts";
import { findFlowFiles, stamp } from "./discover.ts";
import { Flow, type FlowEnv } from "./flow.ts";
import { loadMapperToml } from "./params.ts";
import type { SandboxLimits, StepLog } from "./sandbox.ts";
import { type KeyValue, MapKeyValue } from "./types.ts";

export interface Loaded {
  flow?: Flow;
  /** Why the flow file could not be loaded. */
  error?: string;
  stamp: string;
  file: string;
}

export interface Change {
  file: string;
  kind: "loaded" | "reloaded" | "removed" | "failed";
  flow?: Flow;
  old?: Flow;
  error?: string;
}

const filesOf = (file: string, spec?: FlowSpec) => [
  file,
  join(dirname(file), "params.toml"),
  join(dirname(file), "params.toml.template"),
  ...(spec?.steps.flatMap((s) => ("script" in s.source ? [s.source.script] : [])) ?? []),
];

export class FlowSet {
  readonly mapperKv: KeyValue = new MapKeyValue();
  private readonly scripts = new Map<string, KeyValue>();
  readonly flows = new Map<string, Loaded>();
  private readonly env: FlowEnv;

  constructor(
    readonly mapper: string,
    readonly dir: string,
    limits: SandboxLimits,
    log: (flow: string) => StepLog,
  ) {
    this.env = {
      mapper: this.mapperKv,
      scriptStore: (key) => {
        const kv = this.scripts.get(key) ?? new MapKeyValue();
        this.scripts.set(key, kv);
        return kv;
      },
      limits,
      log,
    };
  }

  /**
   * Loads new flows, reloads changed ones, drops removed ones; returns what changed. A replaced
   * flow (`old`) is left open, so messages still reach it until the caller has swapped it out and
   * closes it.
   */
  async refresh(only?: string): Promise<Change[]> {
    const files = only ? [only] : findFlowFiles(this.dir);
    const changes: Change[] = [];
    for (const [file, l] of this.flows)
      if (!files.includes(file)) {
        this.flows.delete(file);
        changes.push({ file, kind: "removed", old: l.flow });
      }
    const mapperToml = loadMapperToml(dirname(this.dir));
    for (const file of files) {
      const prev = this.flows.get(file);
      if (prev && prev.stamp === stamp(filesOf(file, prev.flow?.spec))) continue;
      let spec: FlowSpec | undefined;
      try {
        spec = loadFlow(this.dir, file, mapperToml);
        const s = stamp(filesOf(file, spec));
        const flow = await Flow.load(spec, this.env);
        this.flows.set(file, { flow, stamp: s, file });
        changes.push({ file, kind: prev ? "reloaded" : "loaded", flow, old: prev?.flow });
      } catch (e) {
        const error = (e as Error).message;
        this.flows.set(file, { error, stamp: stamp(filesOf(file, spec)), file });
        changes.push({ file, kind: "failed", error, old: prev?.flow });
      }
    }
    return changes;
  }

  live(): Flow[] {
    return [...this.flows.values()].flatMap((l) => (l.flow && !l.flow.dead ? [l.flow] : []));
  }

  close(): void {
    for (const l of this.flows.values()) l.flow?.close();
    this.flows.clear();
  }
}
