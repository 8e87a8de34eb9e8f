import type { Bus, BusMessage, Subscription } from "../../bus/bus.ts";
import type { Logger } from "../../foundation/logger.ts";
import type { Operation } from "../operations/operation.ts";
import {
  type CommandRecord,
  type CommandStatus,
  decide,
  parseCommandTopic,
  resumeAction,
  statusPayload,
} from "./state.ts";
import type { CommandStore } from "./store.ts";

export interface EngineOptions {
  bus: Bus;
  root: string;
  /** The entity whose commands this agent executes, e.g. `device/main//`. */
  entity: string;
  store: CommandStore;
  operations: Operation[];
  clock: () => number;
  log: Logger;
  timeoutMs: (op: string) => number;
}

interface InFlight {
  controller: AbortController;
  cleared: boolean;
}

/** Finished commands the requester never cleared are forgotten after a week. */
const PRUNE_AGE_MS = 7 * 24 * 3600 * 1000;

/**
 * The I/O shell around the command state machine: subscribes to the entity's commands,
 * persists every transition before publishing it, runs operations (one at a time per
 * operation, different operations concurrently) under a time limit, and on start settles
 * every command a previous run left `executing`.
 */
export class CommandEngine {
  private sub?: Subscription;
  private readonly ops = new Map<string, Operation>();
  private readonly inflight = new Map<string, InFlight>();
  private readonly queues = new Map<string, Promise<void>>();
  private stopping = false;
  private readonly log: Logger;

  constructor(private readonly opts: EngineOptions) {
    for (const o of opts.operations) this.ops.set(o.op, o);
    this.log = opts.log;
  }

  private get prefix(): string {
    return `${this.opts.root}/${this.opts.entity}/cmd`;
  }

  async start(): Promise<void> {
    const { store, clock } = this.opts;
    const loaded = store.load();
    if (loaded.error) this.log.warn(loaded.error);
    store.prune(clock(), PRUNE_AGE_MS);
    await this.announce();
    for (const rec of store.list()) await this.resume(rec);
    this.sub = await this.opts.bus.subscribe(`${this.prefix}/+/+`, (msg) => this.onMessage(msg));
  }

  /** Aborts running operations without settling them: the next start resumes or fails them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.sub?.unsubscribe();
    for (const f of this.inflight.values()) f.controller.abort(new Error("agent stopping"));
    await Promise.allSettled([...this.queues.values()]);
  }

  async announce(): Promise<void> {
    for (const o of this.ops.values()) {
      const cap = o.capability();
      if (cap === undefined) continue;
      await this.opts.bus.publish(`${this.prefix}/${o.op}`, JSON.stringify(cap), { retain: true, qos: 1 });
    }
  }

  /** Resolves when every queued command has finished (tests). */
  async idle(): Promise<void> {
    while (this.queues.size) await Promise.allSettled([...this.queues.values()]);
  }

  private async resume(rec: CommandRecord): Promise<void> {
    const op = this.ops.get(rec.op);
    const action = resumeAction(rec, op?.resume);
    switch (action.kind) {
      case "keep":
        return;
      case "fail":
        this.log.warn("failing command interrupted by a restart", { topic: rec.topic });
        return this.settle(rec, "failed", { reason: action.reason });
      case "rerun":
        this.log.info("re-running command interrupted by a restart", { topic: rec.topic });
        return this.enqueue(rec);
      case "custom": {
        try {
          const r = await op!.onResume!(rec, this.log);
          if (r.status === "rerun") return this.enqueue(rec);
          if (r.status === "successful") return this.settle(rec, "successful", r.extra ?? {});
          return this.settle(rec, "failed", { reason: r.reason });
        } catch (e) {
          return this.settle(rec, "failed", { reason: (e as Error).message });
        }
      }
    }
  }

  private onMessage(msg: BusMessage): void {
    const t = parseCommandTopic(msg.topic, this.opts.root);
    if (!t || this.stopping) return;
    const op = this.ops.get(t.op);
    if (!op) return; // another component may execute it
    const known = this.opts.store.get(msg.topic) !== undefined || this.inflight.has(msg.topic);
    const d = decide(msg.payload, { known });
    switch (d.kind) {
      case "ignore":
        return;
      case "error":
        this.publishError(`${msg.topic}: ${d.error}`);
        return;
      case "clear": {
        const f = this.inflight.get(msg.topic);
        if (f) {
          f.cleared = true;
          f.controller.abort(new Error("cleared by the requester"));
        }
        this.opts.store.delete(msg.topic);
        return;
      }
      case "fail-orphan":
        this.log.warn("failing orphaned executing command", { topic: msg.topic });
        this.publish(msg.topic, statusPayload(d.payload, "failed", { reason: d.reason }));
        return;
      case "start": {
        const rec: CommandRecord = {
          topic: msg.topic,
          op: t.op,
          id: t.id,
          status: "executing",
          payload: statusPayload(d.payload, "executing"),
          startedAt: this.opts.clock(),
        };
        try {
          this.opts.store.put(rec);
        } catch (e) {
          // Without persisted state a restart could leave it executing forever: refuse it instead.
          this.publish(
            rec.topic,
            statusPayload(d.payload, "failed", { reason: `cannot persist the command: ${reasonOf(e)}` }),
          );
          return;
        }
        this.publish(rec.topic, rec.payload);
        this.enqueue(rec);
        return;
      }
    }
  }

  private enqueue(rec: CommandRecord): void {
    const f: InFlight = { controller: new AbortController(), cleared: false };
    this.inflight.set(rec.topic, f);
    const prev = this.queues.get(rec.op) ?? Promise.resolve();
    const next = prev.then(() => this.execute(rec, f));
    this.queues.set(rec.op, next);
    void next.finally(() => {
      if (this.queues.get(rec.op) === next) this.queues.delete(rec.op);
    });
  }

  private async execute(rec: CommandRecord, f: InFlight): Promise<void> {
    const op = this.ops.get(rec.op)!;
    const limit = this.opts.timeoutMs(rec.op);
    const timer = setTimeout(
      () => f.controller.abort(new Error(`timed out after ${Math.round(limit / 1000)} s`)),
      limit,
    );
    const log = this.log.child(rec.op);
    try {
      if (f.controller.signal.aborted) throw f.controller.signal.reason;
      if (rec.status !== "executing") {
        rec.status = "executing";
        rec.payload = statusPayload(rec.payload, "executing");
        this.publish(rec.topic, rec.payload);
      }
      const extra = await op.run(rec.payload, {
        signal: f.controller.signal,
        log,
        setPhase: (phase) => {
          rec.phase = phase;
          this.opts.store.put(rec);
        },
      });
      if (!this.stopping && !f.cleared) await this.settle(rec, "successful", extra ?? {});
    } catch (e) {
      if (!this.stopping && !f.cleared) await this.settle(rec, "failed", { reason: reasonOf(e) });
    } finally {
      clearTimeout(timer);
      this.inflight.delete(rec.topic);
    }
  }

  private async settle(
    rec: CommandRecord,
    status: CommandStatus,
    extra: Record<string, unknown>,
  ): Promise<void> {
    rec.status = status;
    rec.payload = statusPayload(rec.payload, status, extra);
    delete rec.phase;
    try {
      this.opts.store.put(rec);
    } catch (e) {
      this.log.error("cannot persist command state", { topic: rec.topic, error: e });
    }
    this.log.info(`command ${status}`, { topic: rec.topic, reason: extra.reason });
    await this.publishAsync(rec.topic, rec.payload);
  }

  private publish(topic: string, payload: Record<string, unknown>): void {
    this.publishAsync(topic, payload).catch(() => {});
  }

  private async publishAsync(topic: string, payload: Record<string, unknown>): Promise<void> {
    try {
      await this.opts.bus.publish(topic, JSON.stringify(payload), { retain: true, qos: 1 });
    } catch (e) {
      this.log.error("cannot publish command status", { topic, error: e });
    }
  }

  private publishError(text: string): void {
    this.opts.bus.publish(`${this.opts.root}/errors`, text).catch(() => {});
  }
}

function reasonOf(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.trim() || "operation failed without a reason";
}
