/**
 * `ledge flows test` (TEDGE-FACTS §10.6): runs flows or one step over messages given on the command
 * line or on stdin as `[<topic>] <payload>` lines and prints what they would publish, in the same
 * form, so runs can be chained. No MQTT involved.
 */
import { basename, resolve } from "node:path";
import { matches } from "../bus/topic-filter.ts";
import { DEFAULT_ERRORS_TOPIC, type FlowSpec, loadFlow } from "./config.ts";
import { Flow, type Published } from "./flow.ts";
import { contextOutcomes, FlowSet } from "./flow-set.ts";
import { loadMapperToml } from "./params.ts";
import type { SandboxLimits } from "./sandbox.ts";
import { MapKeyValue, text } from "./types.ts";

export interface TestOptions {
  flowsDir: string;
  /** A flow file, or a script run as a flow of one step. */
  flow?: string;
  /** Initial `context.mapper` entries. */
  context?: Record<string, unknown>;
  /**
   * A Cumulocity mapper's flows: registration messages among the input keep the entities'
   * registration data in `context.mapper`, as the mapper does when the flows run.
   */
  c8y?: { mainId: string; root: string };
  finalOnInterval: boolean;
  time: Date;
  base64Input: boolean;
  base64Output: boolean;
  limits: SandboxLimits;
  log: (line: string) => void;
}

/** `[topic] payload` → message; a line without a `[topic]` is a usage error. */
export function parseLine(line: string, base64: boolean): { topic: string; payload: Uint8Array } {
  const m = /^\[([^\]]+)\]\s?(.*)$/s.exec(line);
  if (!m) throw new Error(`expected '[<topic>] <payload>', got: ${line}`);
  const payload = m[2] ?? "";
  return {
    topic: m[1] as string,
    payload: base64 ? new Uint8Array(Buffer.from(payload, "base64")) : new TextEncoder().encode(payload),
  };
}

export function formatLine(p: { topic: string; payload: Uint8Array }, base64: boolean): string {
  return `[${p.topic}] ${base64 ? Buffer.from(p.payload).toString("base64") : text(p.payload)}`;
}

export class FlowTester {
  private constructor(
    private readonly flows: Flow[],
    private readonly set: FlowSet,
    private readonly opts: TestOptions,
  ) {}

  static async open(opts: TestOptions): Promise<FlowTester> {
    const stepLog = (flow: string) => (_level: string, line: string) => opts.log(`${flow}: ${line}`);
    const set = new FlowSet("test", opts.flowsDir, opts.limits, stepLog, { c8y: opts.c8y });
    for (const [k, v] of Object.entries(opts.context ?? {})) set.mapperKv.set(k, v);
    const alone = async (spec: FlowSpec) => [
      await Flow.load(spec, {
        mapper: set.mapperKv,
        scriptStore: () => new MapKeyValue(),
        limits: opts.limits,
        log: stepLog,
      }),
    ];
    let flows: Flow[];
    if (opts.flow && /\.(m?js|ts)$/.test(opts.flow)) {
      const script = resolve(opts.flow);
      const spec: FlowSpec = {
        name: basename(script),
        file: script,
        tags: [],
        inputs: [{ kind: "mqtt", topics: ["#"] }],
        steps: [{ source: { script }, config: {}, intervalMs: 1000 }],
        output: { kind: "mqtt" },
        errors: { kind: "mqtt", topic: DEFAULT_ERRORS_TOPIC },
        expectLoop: true,
      };
      flows = await alone(spec);
    } else if (opts.flow) {
      flows = await alone(
        loadFlow(opts.flowsDir, resolve(opts.flow), loadMapperToml(resolve(opts.flowsDir, ".."))),
      );
    } else {
      for (const c of await set.refresh()) if (c.error) throw new Error(c.error);
      flows = set.live();
    }
    return new FlowTester(flows, set, opts);
  }

  /** onStartup of every flow. */
  startup(): string[] {
    return [
      ...this.flows.flatMap((f) => this.lines(f, f.onStartup(this.opts.time))),
      ...this.contextChanges(),
    ];
  }

  /** One input line through every flow whose MQTT input matches its topic. */
  message(line: string): string[] {
    const { topic, payload } = parseLine(line, this.opts.base64Input);
    const single = this.flows.length === 1 && this.opts.flow !== undefined;
    const bad = this.set.entities?.onMessage(topic, payload);
    if (bad) this.opts.log(bad);
    const out = this.flows
      .filter(
        (f) =>
          single || f.spec.inputs.some((i) => i.kind === "mqtt" && i.topics.some((t) => matches(t, topic))),
      )
      .flatMap((f) =>
        this.lines(f, f.onMessage({ topic, payload, time: this.opts.time, mqtt: { qos: 0, retain: false } })),
      );
    return [...out, ...this.contextChanges()];
  }

  /** `--final-on-interval`: one onInterval of every step, in order. */
  final(): string[] {
    return [
      ...this.flows.flatMap((f) =>
        f.intervals().flatMap((i) => this.lines(f, f.onInterval(i.index, this.opts.time))),
      ),
      ...this.contextChanges(),
    ];
  }

  /** What the changes to `context.mapper` made so far release. */
  private contextChanges(): string[] {
    return contextOutcomes(this.set.mapperKv, this.flows, this.opts.time).flatMap((r) =>
      this.lines(r.flow, r.outcome),
    );
  }

  close(): void {
    for (const f of this.flows) f.close();
  }

  private lines(f: Flow, o: { out: Published[]; errors: string[] }): string[] {
    const errTopic =
      f.spec.errors.kind === "mqtt" ? (f.spec.errors.topic ?? DEFAULT_ERRORS_TOPIC) : DEFAULT_ERRORS_TOPIC;
    return [
      ...o.out.map((p) => formatLine(p, this.opts.base64Output)),
      ...o.errors.map((e) => `[${errTopic}] ${e}`),
    ];
  }
}
