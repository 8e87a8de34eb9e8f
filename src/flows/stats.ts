/**
 * Flow statistics as thin-edge publishes them (`tedge_flows/src/stats.rs`; TEDGE-FACTS §10.5):
 * counted from start per mapper, one record per dimension — `runtime` (all flows of the mapper),
 * each flow (the last segment of its name), and, when enabled, each step's `onMessage`
 * (`<script file or builtin>`), `onInterval` (`<step>.onInterval`) and `onStartup`
 * (`<step>.onStartup`) — with payload
 * `{"type","input","output","error","cpu-min","cpu-max"}`, the CPU times in Rust's `Duration`
 * debug form (`12.5µs`), present once a time was measured.
 */

export type StatsKind = "runtime" | "flow" | "onMessage" | "onInterval" | "onStartup";
export type StepHook = "onMessage" | "onInterval" | "onStartup";

export interface StatsFilter {
  onMessage: boolean;
  onInterval: boolean;
  onStartup: boolean;
}

interface Counter {
  kind: StatsKind;
  input: number;
  output: number;
  error: number;
  /** Nanoseconds; undefined until one time is measured. */
  min?: number;
  max?: number;
}

/** `performance.now()` in nanoseconds. */
export const nowNs = (): number => performance.now() * 1e6;

/**
 * Rust's `Debug` of a `Duration`: the largest unit of s, ms, µs, ns that is at least 1, with the
 * fraction's trailing zeros dropped (`1.5ms`, `850ns`, `2s`).
 */
export function rustDuration(ns: number): string {
  const n = Math.max(0, Math.round(ns));
  const [unit, div] =
    n >= 1e9 ? ["s", 1e9] : n >= 1e6 ? ["ms", 1e6] : n >= 1e3 ? ["µs", 1e3] : (["ns", 1] as const);
  const whole = Math.floor(n / div);
  const frac = String(n % div)
    .padStart(String(div).length - 1, "0")
    .replace(/0+$/, "");
  return `${whole}${frac ? `.${frac}` : ""}${unit}`;
}

export class FlowStats {
  private readonly dims = new Map<string, Counter>();

  constructor(readonly filter: StatsFilter) {}

  /** Whether calls of `hook` are counted per step. */
  steps(hook: StepHook): boolean {
    return this.filter[hook];
  }

  private dim(name: string, kind: StatsKind): Counter {
    const key = `${kind}\0${name}`;
    let c = this.dims.get(key);
    if (!c) {
      c = { kind, input: 0, output: 0, error: 0 };
      this.dims.set(key, c);
    }
    return c;
  }

  /** The counters of one flow, looked up once (the hot path only adds to them). */
  forFlow(flow: string): FlowCounters {
    return new FlowCounters(this.dim("runtime", "runtime"), this.dim(flowDimension(flow), "flow"));
  }

  /** One call of a step's hook (only when `steps(hook)`). */
  step(step: string, hook: StepHook, out: number, failed: boolean, ns: number): void {
    add(this.dim(hook === "onMessage" ? step : `${step}.${hook}`, hook), 1, out, failed ? 1 : 0, ns);
  }

  /** Every record: its topic suffix and payload. */
  dump(): { name: string; payload: string }[] {
    return [...this.dims].map(([key, c]) => ({
      name: key.slice(key.indexOf("\0") + 1),
      payload: JSON.stringify({
        type: c.kind,
        input: c.input,
        output: c.output,
        error: c.error,
        ...(c.min === undefined || c.max === undefined
          ? {}
          : { "cpu-min": rustDuration(c.min), "cpu-max": rustDuration(c.max) }),
      }),
    }));
  }
}

export class FlowCounters {
  constructor(
    private readonly runtime: Counter,
    private readonly flow: Counter,
  ) {}

  /** One message through the flow (`onMessage`); `ns`: how long it took. */
  message(out: number, errors: number, ns: number): void {
    add(this.runtime, 1, out, errors, ns);
    add(this.flow, 1, out, errors, ns);
  }

  /** Messages the flow published from `onInterval`, `onStartup` or a context change. */
  other(out: number, errors: number): void {
    add(this.runtime, 0, out, errors);
    add(this.flow, 0, out, errors);
  }
}

/** thin-edge names a flow's record by the last segment of the flow's name (`sensors/remap` → `remap`). */
const flowDimension = (flow: string) => flow.slice(flow.lastIndexOf("/") + 1);

function add(c: Counter, input: number, output: number, error: number, ns?: number): void {
  c.input += input;
  c.output += output;
  c.error += error;
  if (ns === undefined) return;
  if (c.min === undefined || ns < c.min) c.min = ns;
  if (c.max === undefined || ns > c.max) c.max = ns;
}
