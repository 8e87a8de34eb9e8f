/**
 * One loaded flow: its steps chained (each output of step n goes to step n+1; `onInterval` and
 * `onStartup` outputs continue after the step that made them, TEDGE-FACTS §10.3), the results
 * checked, the output topic applied and loops cut. No I/O and no clock: times come in as
 * arguments, so the same code serves the component, `ledge flows test` and the tests.
 */
import { basename } from "node:path";
import { filterError, matches, topicError } from "../bus/topic-filter.ts";
import type { FlowSpec, StepSpec } from "./config.ts";
import { loadScriptStep, type SandboxLimits, type StepLog } from "./sandbox.ts";
import type { FlowCounters, FlowStats, StepHook } from "./stats.ts";
import { nowNs } from "./stats.ts";
import { builtinStep } from "./steps/index.ts";
import {
  bytes,
  type ContextUpdate,
  type FlowMessage,
  type KeyValue,
  MapKeyValue,
  type OutMessage,
  type Step,
  type StepContext,
  StepKilled,
  type StepResult,
} from "./types.ts";

/** A message as the flow publishes it: topic final, QoS and retain decided. */
export interface Published {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface Outcome {
  out: Published[];
  errors: string[];
  /** Set when a step was stopped for good: the flow is dead until its files change. */
  killed?: string;
}

export interface FlowEnv {
  /** `context.mapper`, shared by every flow of the mapper. */
  mapper: KeyValue;
  /** `context.script` of a step, by a key stable across reloads. */
  scriptStore(key: string): KeyValue;
  limits: SandboxLimits;
  log: (flow: string) => StepLog;
  /** The mapper's statistics, when they are kept. */
  stats?: FlowStats;
}

interface Loaded {
  step: Step;
  ctx: StepContext;
  spec: StepSpec;
  label: string;
}

const label = (s: StepSpec) => ("builtin" in s.source ? s.source.builtin : basename(s.source.script));

export class Flow {
  dead?: string;

  private constructor(
    readonly spec: FlowSpec,
    private readonly steps: Loaded[],
    private readonly inputFilters: string[],
    private readonly stats?: FlowStats,
  ) {
    this.counters = stats?.forFlow(spec.name);
  }

  private readonly counters?: FlowCounters;

  static async load(spec: FlowSpec, env: FlowEnv): Promise<Flow> {
    const filters = spec.inputs.flatMap((i) => (i.kind === "mqtt" ? i.topics : []));
    for (const f of filters) {
      const e = filterError(f);
      if (e) throw new Error(`${spec.file}: input.mqtt.topics: ${e}`);
    }
    const flowKv = new MapKeyValue();
    const steps: Loaded[] = [];
    try {
      for (const [i, s] of spec.steps.entries()) {
        const ctx: StepContext = {
          config: s.config,
          mapper: env.mapper,
          flow: flowKv,
          script: env.scriptStore(
            `${spec.name}#${i}:${"builtin" in s.source ? s.source.builtin : s.source.script}`,
          ),
        };
        const step =
          "builtin" in s.source
            ? builtinStep(s.source.builtin, s.config)
            : await loadScriptStep(s.source.script, s.config, ctx, env.limits, env.log(spec.name));
        steps.push({ step, ctx, spec: s, label: label(s) });
      }
    } catch (e) {
      for (const s of steps) s.step.close?.();
      throw new Error(`${spec.file}: ${(e as Error).message}`);
    }
    return new Flow(spec, steps, filters, env.stats);
  }

  /** Steps with an `onInterval`, and how often to call it. */
  intervals(): { index: number; ms: number }[] {
    return this.steps.flatMap((s, index) => (s.step.onInterval ? [{ index, ms: s.spec.intervalMs }] : []));
  }

  onMessage(m: FlowMessage): Outcome {
    if (!this.counters) return this.run((o) => this.chain([m], 0, o));
    const t0 = nowNs();
    const o = this.run((o) => this.chain([m], 0, o));
    this.counters.message(o.out.length, o.errors.length, nowNs() - t0);
    return o;
  }

  onInterval(index: number, time: Date): Outcome {
    return this.counted(
      this.run((o) => {
        const s = this.steps[index];
        if (!s?.step.onInterval) return [];
        return this.chain(
          this.call(s, o, () => s.step.onInterval?.(time, s.ctx), time, "onInterval"),
          index + 1,
          o,
        );
      }),
    );
  }

  onStartup(time: Date): Outcome {
    return this.everyStep(
      time,
      (s) => s.step.onStartup && (() => s.step.onStartup?.(time, s.ctx)),
      "onStartup",
    );
  }

  /** A change to `context.mapper`: what each step releases goes on through the steps after it. */
  onContextUpdate(update: ContextUpdate, time: Date): Outcome {
    return this.everyStep(
      time,
      (s) => s.step.onContextUpdate && (() => s.step.onContextUpdate?.(update, s.ctx)),
    );
  }

  /** Calls a hook of every step that has it; its outputs continue after that step. */
  private everyStep(
    time: Date,
    hook: (s: Loaded) => (() => StepResult) | undefined,
    name?: StepHook,
  ): Outcome {
    return this.counted(
      this.run((o) => {
        const all: OutMessage[] = [];
        for (const [i, s] of this.steps.entries()) {
          const f = hook(s);
          if (f) all.push(...this.chain(this.call(s, o, f, time, name), i + 1, o));
        }
        return all;
      }),
    );
  }

  /** What a flow published besides `onMessage`, into its statistics. */
  private counted(o: Outcome): Outcome {
    if (o.out.length || o.errors.length) this.counters?.other(o.out.length, o.errors.length);
    return o;
  }

  close(): void {
    for (const s of this.steps) s.step.close?.();
  }

  private run(body: (o: Outcome) => OutMessage[]): Outcome {
    const o: Outcome = { out: [], errors: [] };
    if (this.dead) return o;
    try {
      const out = body(o);
      o.out = this.finish(out, o);
    } catch (e) {
      if (!(e instanceof StepKilled)) throw e;
      this.dead = `flow ${this.spec.name}: ${e.message}`;
      o.killed = this.dead;
      o.errors.push(this.dead);
      this.close();
    }
    return o;
  }

  /** Feeds messages through steps `from..`; errors cost the message, not the flow. */
  private chain(msgs: FlowMessage[], from: number, o: Outcome): OutMessage[] {
    let cur: OutMessage[] = msgs;
    for (let i = from; i < this.steps.length; i++) {
      const s = this.steps[i] as Loaded;
      const next: OutMessage[] = [];
      for (const m of cur) {
        const time = (m as FlowMessage).time ?? new Date();
        const input: FlowMessage = { topic: m.topic, payload: bytes(m.payload), time, mqtt: m.mqtt };
        next.push(...this.call(s, o, () => s.step.onMessage(input, s.ctx), time, "onMessage"));
      }
      cur = next;
      if (cur.length === 0) break;
    }
    return cur;
  }

  /** One step call; returns its messages (carrying `time` on) or, on a throw or garbage, none and an error. */
  private call(s: Loaded, o: Outcome, f: () => StepResult, time: Date, hook?: StepHook): FlowMessage[] {
    const counted = hook !== undefined && this.stats?.steps(hook) ? this.stats : undefined;
    const t0 = counted ? nowNs() : 0;
    let r: StepResult;
    try {
      r = f();
    } catch (e) {
      counted?.step(s.label, hook as StepHook, 0, true, nowNs() - t0);
      if (e instanceof StepKilled) throw new StepKilled(`step ${s.label}: ${e.message}`);
      o.errors.push(`flow ${this.spec.name}: step ${s.label}: ${(e as Error)?.message ?? String(e)}`);
      return [];
    }
    const list = r === null || r === undefined ? [] : Array.isArray(r) ? r : [r];
    const out: FlowMessage[] = [];
    for (const m of list) {
      const bad = garbage(m);
      if (bad) {
        o.errors.push(`flow ${this.spec.name}: step ${s.label}: ${bad}`);
        continue;
      }
      out.push({
        topic: m.topic,
        payload: bytes(m.payload),
        time: (m as FlowMessage).time ?? time,
        mqtt: m.mqtt,
      });
    }
    counted?.step(s.label, hook as StepHook, out.length, out.length < list.length, nowNs() - t0);
    return out;
  }

  private finish(out: OutMessage[], o: Outcome): Published[] {
    const forced = this.spec.output.kind === "mqtt" ? this.spec.output.topic : undefined;
    const res: Published[] = [];
    for (const m of out) {
      const topic = forced ?? m.topic;
      const bad = topicError(topic);
      if (bad) {
        o.errors.push(`flow ${this.spec.name}: output: ${bad}`);
        continue;
      }
      // loop protection: what the flow would read back is dropped unless the flow expects it
      if (!this.spec.expectLoop && this.inputFilters.some((f) => matches(f, topic))) continue;
      res.push({ topic, payload: bytes(m.payload), qos: m.mqtt?.qos ?? 1, retain: m.mqtt?.retain ?? false });
    }
    return res;
  }
}

/** What is wrong with a value a step returned as a message, or undefined. */
function garbage(m: unknown): string | undefined {
  if (m === null || typeof m !== "object")
    return `returned ${m === null ? "null" : typeof m} in place of a message`;
  const x = m as Record<string, unknown>;
  if (typeof x.topic !== "string") return "returned a message without a string topic";
  if (typeof x.payload !== "string" && !(x.payload instanceof Uint8Array))
    return `returned a message to '${x.topic}' whose payload is neither a string nor a Uint8Array`;
  const mqtt = x.mqtt as Record<string, unknown> | undefined;
  if (mqtt !== undefined && (typeof mqtt !== "object" || mqtt === null))
    return `returned a message to '${x.topic}' whose mqtt is not an object`;
  if (mqtt?.qos !== undefined && mqtt.qos !== 0 && mqtt.qos !== 1 && mqtt.qos !== 2)
    return `returned a message to '${x.topic}' with qos ${String(mqtt.qos)}`;
  if (mqtt?.retain !== undefined && typeof mqtt.retain !== "boolean")
    return `returned a message to '${x.topic}' with a non-boolean retain`;
  return undefined;
}
