/**
 * The flows of one mapper dir (`mappers/<mapper>/flows`): loaded from disk, sharing one
 * `context.mapper`, each step's `context.script` kept across reloads. `refresh()` reloads only the
 * flows whose files (flow file, params, scripts) changed, so hot reload costs a few `stat`s.
 */
import { dirname, join } from "node:path";
import { type FlowSpec, loadFlow } from "./config.ts";
import { findFlowFiles, stamp } from "./discover.ts";
import { FlowEntities } from "./entities.ts";
import { Flow, type FlowEnv, type Outcome } from "./flow.ts";
import { loadMapperToml } from "./params.ts";
import type { SandboxLimits, StepLog } from "./sandbox.ts";
import { FlowStats, type StatsFilter } from "./stats.ts";
import { type KeyValue, MapKeyValue, MapperKeyValue } from "./types.ts";

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

/** Most rounds of context changes one event may cause (steps that set keys on every change). */
const CONTEXT_ROUNDS = 16;

/**
 * Hands every change made to `context.mapper` since the last call to every flow, as thin-edge
 * does after each event; changes made while doing so go round again, a bounded number of times.
 */
export function contextOutcomes(
  kv: MapperKeyValue,
  flows: readonly Flow[],
  time: Date,
): { flow: Flow; outcome: Outcome }[] {
  const out: { flow: Flow; outcome: Outcome }[] = [];
  for (let round = 0; round < CONTEXT_ROUNDS; round++) {
    const updates = kv.drain();
    if (updates.length === 0) break;
    for (const u of updates)
      for (const flow of flows) out.push({ flow, outcome: flow.onContextUpdate(u, time) });
  }
  return out;
}

/** The Cumulocity mappers (`c8y`, `c8y.<profile>`): their flows get registration data in context. */
export const isC8yMapper = (mapper: string) => mapper === "c8y" || mapper.startsWith("c8y.");

export interface FlowSetOptions {
  /** A Cumulocity mapper: keep its entities' registration data in `context.mapper`. */
  c8y?: { mainId: string; root: string };
  /** Keep statistics, with these per-step hooks. */
  stats?: StatsFilter;
}

export class FlowSet {
  readonly mapperKv = new MapperKeyValue();
  /** Set for a Cumulocity mapper: keeps the entities' registration data in `context.mapper`. */
  readonly entities?: FlowEntities;
  /** The flows' statistics, when kept (`flows.stats.*`). */
  readonly stats?: FlowStats;
  private readonly scripts = new Map<string, KeyValue>();
  readonly flows = new Map<string, Loaded>();
  private readonly env: FlowEnv;

  constructor(
    readonly mapper: string,
    readonly dir: string,
    limits: SandboxLimits,
    log: (flow: string) => StepLog,
    opts: FlowSetOptions = {},
  ) {
    if (opts.c8y) this.entities = new FlowEntities(this.mapperKv, opts.c8y.mainId, opts.c8y.root);
    if (opts.stats) this.stats = new FlowStats(opts.stats);
    this.env = {
      stats: this.stats,
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

  /** What the changes to `context.mapper` since the last call release (see `contextOutcomes`). */
  contextUpdates(time: Date): { flow: Flow; outcome: Outcome }[] {
    return contextOutcomes(this.mapperKv, this.live(), time);
  }

  live(): Flow[] {
    return [...this.flows.values()].flatMap((l) => (l.flow && !l.flow.dead ? [l.flow] : []));
  }

  close(): void {
    for (const l of this.flows.values()) l.flow?.close();
    this.flows.clear();
  }
}
