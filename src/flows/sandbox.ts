/**
 * JavaScript steps run in QuickJS compiled to WebAssembly (the engine thin-edge uses), one QuickJS
 * runtime per step: no `fs`, `net` or `process`, its own heap, and the same behaviour on Bun and
 * on Node because both run the same WASM. Limits, enforced by QuickJS's interrupt handler, which
 * the interpreter calls every few thousand operations while a step runs:
 * - time: a call that passes `timeoutMs` is interrupted;
 * - memory: QuickJS's own malloc limit counts only the requested size of each allocation in this
 *   WASM build (it has no `malloc_usable_size`), so it stops one huge allocation but not a million
 *   small ones; the interrupt handler therefore also stops the step that grows the shared WASM heap
 *   past `memoryBytes`. WASM memory never shrinks, so that cap also bounds what flows can take.
 * A step that is interrupted is dead (`StepKilled`): its runtime is freed and its flow stopped.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import type {
  QuickJSContext,
  QuickJSHandle,
  QuickJSRuntime,
  QuickJSWASMModule,
} from "quickjs-emscripten-core";
import { PRELUDE } from "./prelude.ts";
import {
  type FlowMessage,
  type KeyValue,
  type OutMessage,
  type Step,
  type StepContext,
  StepKilled,
  type StepResult,
} from "./types.ts";

export interface SandboxLimits {
  /** Longest one call of a step may run. */
  timeoutMs: number;
  /** Largest the WASM heap shared by every JavaScript step may grow. */
  memoryBytes: number;
}

export type StepLog = (level: "debug" | "info" | "warn" | "error", text: string) => void;

let shared: Promise<QuickJSWASMModule> | undefined;

/** The QuickJS WASM module, loaded once per process and only when a JavaScript step exists. */
export function quickjs(): Promise<QuickJSWASMModule> {
  shared ??= (async () => {
    const [{ newQuickJSWASMModuleFromVariant }, variant] = await Promise.all([
      import("quickjs-emscripten-core"),
      import("@jitl/quickjs-singlefile-cjs-release-sync"),
    ]);
    return newQuickJSWASMModuleFromVariant(
      (variant as unknown as { default: Parameters<typeof newQuickJSWASMModuleFromVariant>[0] }).default ??
        variant,
    );
  })();
  return shared;
}

const readModule = (path: string) => readFileSync(path, "utf8");

/** Loads the script at `path` as an ES module in its own QuickJS runtime and wraps it as a `Step`. */
export async function loadScriptStep(
  path: string,
  config: Record<string, unknown>,
  kv: Omit<StepContext, "config">,
  limits: SandboxLimits,
  log: StepLog,
): Promise<Step> {
  // QuickJS runs JavaScript only, and Node 20 (the armv7 binary) has no type stripping to lean on
  if (path.endsWith(".ts"))
    throw new Error(`${path}: TypeScript steps are not supported; compile the step to .js`);
  const qjs = await quickjs();
  return new ScriptStep(qjs, path, config, kv, limits, log);
}

type Fn = "onMessage" | "onInterval" | "onStartup";

class ScriptStep implements Step {
  private rt?: QuickJSRuntime;
  private vm?: QuickJSContext;
  private readonly fns = new Map<Fn, QuickJSHandle>();
  private glue?: QuickJSHandle;
  private settle?: QuickJSHandle;
  private deadline = Number.POSITIVE_INFINITY;
  private heapAtStart = 0;
  onInterval?: (time: Date, ctx: StepContext) => StepResult;
  onStartup?: (time: Date, ctx: StepContext) => StepResult;

  constructor(
    private readonly qjs: QuickJSWASMModule,
    path: string,
    config: Record<string, unknown>,
    kv: Omit<StepContext, "config">,
    private readonly limits: SandboxLimits,
    log: StepLog,
  ) {
    const rt = qjs.newRuntime();
    this.rt = rt;
    rt.setMemoryLimit(limits.memoryBytes);
    rt.setMaxStackSize(1 << 20);
    // no limits at all only to measure what they cost (bench/flows.ts): the config keys are finite
    if (Number.isFinite(limits.timeoutMs))
      rt.setInterruptHandler(
        () => Date.now() > this.deadline || this.heap() > Math.max(limits.memoryBytes, this.heapAtStart),
      );
    rt.setModuleLoader(
      (name) => readModule(name),
      (base, requested) => (isAbsolute(requested) ? requested : resolve(dirname(base), requested)),
    );
    const vm = rt.newContext();
    this.vm = vm;
    try {
      this.hostFunctions(vm, kv, log);
      this.guard(
        () => vm.unwrapResult(vm.evalCode(PRELUDE, "ledge:prelude", { type: "global" })).dispose(),
        true,
      );
      const glue = vm.getProp(vm.global, "__ledge");
      this.glue = glue;
      this.settle = vm.getProp(glue, "settle");
      this.guard(() => {
        using cfg = vm.newString(JSON.stringify(config));
        vm.unwrapResult(vm.callMethod(glue, "init", [cfg])).dispose();
      }, true);
      const ns = this.guard(
        () => vm.unwrapResult(vm.evalCode(readModule(path), path, { type: "module" })),
        true,
      );
      const state = vm.getPromiseState(ns);
      if (state.type === "pending") {
        ns.dispose();
        throw new Error("the module's top-level await did not settle");
      }
      if (state.error) {
        ns.dispose();
        throw new Error(describe(vm, state.error));
      }
      const exports = state.value;
      if (exports !== ns) ns.dispose();
      for (const fn of ["onMessage", "onInterval", "onStartup"] as const) {
        const h = vm.getProp(exports, fn);
        if (vm.typeof(h) === "function") this.fns.set(fn, h);
        else h.dispose();
      }
      exports.dispose();
      if (!this.fns.has("onMessage")) throw new Error("the script does not export onMessage");
      if (this.fns.has("onInterval"))
        this.onInterval = (time) => this.call("onInterval", "time", "", undefined, time);
      if (this.fns.has("onStartup"))
        this.onStartup = (time) => this.call("onStartup", "time", "", undefined, time);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  onMessage(m: FlowMessage): StepResult {
    return this.call(
      "onMessage",
      "message",
      m.topic,
      m.payload,
      m.time,
      m.mqtt?.qos ?? 0,
      m.mqtt?.retain ?? false,
    );
  }

  close(): void {
    for (const h of this.fns.values()) h.dispose();
    this.fns.clear();
    this.settle?.dispose();
    this.glue?.dispose();
    this.settle = this.glue = undefined;
    this.vm?.dispose();
    this.rt?.dispose();
    this.vm = this.rt = undefined;
  }

  private heap(): number {
    return this.qjs.getWasmMemory().buffer.byteLength;
  }

  /**
   * Runs VM code under the limits; an interrupt or out-of-memory kills the step. Loading gets ten
   * times the time (at least 5 s): the first calls into the WASM module compile it lazily, which
   * takes a while on a slow armv7 board.
   */
  private guard<T>(f: () => T, loading = false): T {
    const limit = loading ? Math.max(this.limits.timeoutMs * 10, 5000) : this.limits.timeoutMs;
    this.deadline = Date.now() + limit;
    this.heapAtStart = this.heap();
    try {
      return f();
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      if (/^InternalError: (interrupted|out of memory)$/.test(msg) || Date.now() > this.deadline) {
        const why =
          Date.now() > this.deadline
            ? `ran longer than ${limit} ms`
            : `used more memory than ${Math.round(this.limits.memoryBytes / 1048576)} MiB`;
        this.close();
        throw new StepKilled(`step stopped: it ${why}`);
      }
      throw e;
    } finally {
      this.deadline = Number.POSITIVE_INFINITY;
    }
  }

  private call(
    fn: Fn,
    kind: "message" | "time",
    topic: string,
    payload: Uint8Array | undefined,
    time: Date,
    qos = 0,
    retain = false,
  ): StepResult {
    const vm = this.vm;
    const f = this.fns.get(fn);
    const glue = this.glue;
    const rt = this.rt;
    if (!vm || !f || !glue || !rt) throw new StepKilled("step stopped earlier");
    return this.guard(() => {
      using k = vm.newString(kind);
      using t = vm.newString(topic);
      using p = payload
        ? vm.newArrayBuffer(payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength))
        : vm.undefined;
      using ms = vm.newNumber(time.getTime());
      using q = vm.newNumber(qos);
      using r = retain ? vm.true : vm.false;
      let meta = vm.getString(
        (() => {
          using res = this.unwrap(vm, vm.callMethod(glue, "call", [f, k, t, p, ms, q, r]));
          return res.dup();
        })(),
      );
      if (meta === "P") {
        rt.executePendingJobs();
        using res = this.unwrap(vm, vm.callFunction(this.settle as QuickJSHandle, glue));
        meta = vm.getString(res);
      }
      return this.outputs(vm, glue, meta);
    });
  }

  private unwrap(vm: QuickJSContext, r: ReturnType<QuickJSContext["callFunction"]>): QuickJSHandle {
    if (r.error) {
      const text = describe(vm, r.error);
      r.error.dispose();
      throw new StepError(text);
    }
    return r.value;
  }

  private outputs(vm: QuickJSContext, glue: QuickJSHandle, meta: string): OutMessage[] {
    const list = JSON.parse(meta) as { t: string; s?: string; b?: number; q?: unknown; r?: unknown }[];
    if (!list.some((m) => m.b !== undefined)) return list.map((m) => out(m, m.s ?? ""));
    using bins = vm.getProp(glue, "bins");
    return list.map((m) => {
      if (m.b === undefined) return out(m, m.s ?? "");
      using ab = vm.getProp(bins, m.b);
      using buf = vm.getArrayBuffer(ab);
      return out(m, new Uint8Array(buf.value));
    });
  }

  private hostFunctions(vm: QuickJSContext, kv: Omit<StepContext, "config">, log: StepLog): void {
    const stores: Record<string, KeyValue> = { mapper: kv.mapper, flow: kv.flow, script: kv.script };
    const def = (name: string, f: (...args: QuickJSHandle[]) => QuickJSHandle | undefined) => {
      using h = vm.newFunction(name, f);
      vm.setProp(vm.global, name, h);
    };
    def("__host_log", (level, textH) => {
      log(vm.getString(level) as "info", vm.getString(textH));
      return undefined;
    });
    def("__host_uuid", () => vm.newString(randomUUID()));
    def("__host_random", (n) => {
      const len = Math.min(65536, Math.max(0, vm.getNumber(n)));
      const b = randomBytes(len);
      return vm.newArrayBuffer(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    });
    def("__host_kv", (scopeH, opH, keyH, valueH) => {
      const store = stores[vm.getString(scopeH)];
      if (!store) return undefined;
      const op = vm.getString(opH);
      if (op === "keys") return vm.newString(JSON.stringify(store.keys()));
      const key = keyH ? vm.getString(keyH) : "";
      if (op === "get") {
        const v = store.get(key);
        return v === null || v === undefined ? undefined : vm.newString(JSON.stringify(v));
      }
      if (op === "set") {
        const s = valueH && vm.typeof(valueH) === "string" ? vm.getString(valueH) : undefined;
        store.set(key, s === undefined ? null : JSON.parse(s));
      }
      if (op === "remove") store.remove(key);
      return undefined;
    });
  }
}

/** A step that threw, or returned something that is not messages: the message is lost, the step lives. */
export class StepError extends Error {
  override name = "StepError";
}

function out(m: { t: string; q?: unknown; r?: unknown }, payload: string | Uint8Array): OutMessage {
  const o: OutMessage = { topic: m.t, payload };
  if (m.q !== undefined || m.r !== undefined) {
    const mqtt: OutMessage["mqtt"] = {};
    if (m.q !== undefined) mqtt.qos = m.q as 0;
    if (m.r !== undefined) mqtt.retain = m.r as boolean;
    o.mqtt = mqtt;
  }
  return o;
}

function describe(vm: QuickJSContext, err: QuickJSHandle): string {
  const d = vm.dump(err) as unknown;
  if (d && typeof d === "object" && "message" in d) {
    const e = d as { name?: string; message?: string };
    return `${e.name ?? "Error"}: ${e.message ?? ""}`;
  }
  return `thrown: ${typeof d === "string" ? d : JSON.stringify(d)}`;
}
