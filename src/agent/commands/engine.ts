import { join } from "node:path";
import { expand } from "../../api/template.ts";
import type { Bus, BusMessage, Subscription } from "../../bus/bus.ts";
import type { Logger } from "../../foundation/logger.ts";
import type { Operation } from "../operations/operation.ts";
import { type ActionHost, runAction } from "../workflows/actions.ts";
import { type DefinitionError, describeError, type Workflow } from "../workflows/definition.ts";
import type { WorkflowRegistry } from "../workflows/registry.ts";
import { applyUpdate, type Update } from "../workflows/step.ts";
import { BuiltinRunner, RUNNING } from "./builtin-runner.ts";
import {
  type CommandRecord,
  decide,
  isTerminal,
  parseCommandTopic,
  reasonOf,
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
  workflows: WorkflowRegistry;
  clock: () => number;
  log: Logger;
  timeoutMs: (op: string) => number;
  /** Where the `download` action puts files. */
  stateDir: string;
  /** The `restart-agent` action: ends this process so its supervisor starts it again. */
  restartAgent: () => void;
}

interface InFlight {
  controller: AbortController;
  cleared: boolean;
}

type SubEnd = { topic: string; payload: unknown };

/** Finished commands the requester never cleared are forgotten after a week. */
const PRUNE_AGE_MS = 7 * 24 * 3600 * 1000;

/**
 * The I/O shell around the workflow core: subscribes to the entity's commands, follows each
 * command through the states of the workflow version it started with, persists every transition
 * before publishing it, runs built-in implementations (one at a time per operation) under a time
 * limit, and on start resumes every command a previous run left in flight.
 */
export class CommandEngine {
  private sub?: Subscription;
  private readonly ops = new Map<string, Operation>();
  private readonly inflight = new Map<string, InFlight>();
  private readonly builtins: BuiltinRunner;
  private readonly drives = new Set<Promise<void>>();
  /** Sub-commands awaited by a command: their final message, kept if it comes before the wait. */
  private readonly subs = new Map<string, { end?: SubEnd; notify?: (end: SubEnd) => void }>();
  private stopping = false;
  private subSeq = 0;
  private readonly log: Logger;
  private readonly host: ActionHost;
  /** Identifies this run of the agent (`await-agent-restart` waits for another one). */
  readonly runId = crypto.randomUUID();

  constructor(private readonly opts: EngineOptions) {
    for (const o of opts.operations) this.ops.set(o.op, o);
    this.log = opts.log;
    this.builtins = new BuiltinRunner(this.ops, opts.timeoutMs, (rec) => this.persist(rec), this.log);
    this.host = {
      runId: this.runId,
      log: this.log,
      downloadDir: join(opts.stateDir, "downloads"),
      clock: opts.clock,
      transition: (rec, u) => this.transition(rec, u),
      persist: (rec) => this.persist(rec),
      runBuiltin: (rec, op, signal, payload) => this.builtins.run(rec, op, signal, payload),
      awaitSub: (topic, deadline, signal) => this.awaitSub(topic, deadline, signal),
      subTopic: (rec, op) => {
        const topic = `${this.prefix}/${op}/${rec.id}-${op}-${opts.clock()}-${++this.subSeq}`;
        // Watched before it exists: a fast sub-command may end before its caller starts waiting.
        this.subs.set(topic, {});
        return topic;
      },
      publish: (topic, payload) =>
        opts.bus.publish(topic, payload, { retain: true, qos: 1 }).catch((e) => {
          this.log.error("cannot publish", { topic, error: e });
        }),
      restartAgent: opts.restartAgent,
    };
  }

  private get prefix(): string {
    return `${this.opts.root}/${this.opts.entity}/cmd`;
  }

  async start(): Promise<void> {
    const { store, clock } = this.opts;
    const loaded = store.load();
    if (loaded.error) this.log.warn(loaded.error);
    store.prune(clock(), PRUNE_AGE_MS);
    this.opts.workflows.load();
    await this.announce();
    for (const rec of store.list()) await this.resume(rec);
    this.sub = await this.opts.bus.subscribe(`${this.prefix}/+/+`, (msg) => this.onMessage(msg));
    this.opts.workflows.watch();
  }

  /** Aborts running operations without settling them: the next start resumes or fails them. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.opts.workflows.close();
    await this.sub?.unsubscribe();
    for (const f of this.inflight.values()) f.controller.abort(new Error("agent stopping"));
    await Promise.allSettled([...this.builtins.pending(), ...this.drives]);
  }

  /** Capabilities: the built-in operations' own payloads, `{}` for workflow-only operations. */
  async announce(ops = this.opts.workflows.operations()): Promise<void> {
    for (const op of ops) {
      const builtin = this.ops.get(op);
      const current = this.opts.workflows.current(op);
      const cap = builtin ? builtin.capability() : current ? {} : undefined;
      if (builtin && cap === undefined) continue;
      await this.opts.bus.publish(`${this.prefix}/${op}`, cap === undefined ? "" : JSON.stringify(cap), {
        retain: true,
        qos: 1,
      });
    }
  }

  /** Workflow files changed: announce the capabilities of what changed. */
  async workflowsChanged(ops: string[]): Promise<void> {
    await this.announce(ops);
  }

  /** A workflow file that cannot be used, on te/errors. */
  workflowError(e: DefinitionError, stillServing: boolean): void {
    this.publishError(
      `workflow ${describeError(e)}${stillServing ? " (the previous version keeps serving)" : ""}`,
    );
  }

  /** Re-reads the workflow files now; returns the operations that changed. */
  private rescan(): string[] {
    const changed = this.opts.workflows.rescan().changed;
    if (changed.length) void this.workflowsChanged(changed);
    return changed;
  }

  /** Resolves when every command has gone as far as it can (tests). */
  async idle(): Promise<void> {
    while (this.builtins.pending().length || this.drives.size)
      await Promise.allSettled([...this.builtins.pending(), ...this.drives]);
  }

  private async resume(rec: CommandRecord): Promise<void> {
    if (isTerminal(rec.status)) return;
    const wf = rec.version ? this.opts.workflows.version(rec.op, rec.version) : this.currentWorkflow(rec.op);
    if (!wf) {
      const reason = rec.version
        ? `the workflow version ${rec.version} of '${rec.op}' this command started with is gone`
        : `operation '${rec.op}' is no longer supported by this agent`;
      return this.transition(rec, { status: "failed", reason });
    }
    if (!rec.version && rec.status === "executing" && this.ops.has(rec.op)) {
      // A record of an agent without workflows: its implementation was running.
      rec.sub = { builtin: rec.op };
      rec.phase ??= RUNNING;
    }
    // Its sub-command's retained final message comes on subscription: be ready for it.
    if (rec.sub?.topic && !this.subs.has(rec.sub.topic)) this.subs.set(rec.sub.topic, {});
    rec.version = wf.version;
    this.log.info("resuming command", { topic: rec.topic, state: rec.status });
    this.drive(rec);
  }

  private currentWorkflow(op: string): Workflow | undefined {
    const c = this.opts.workflows.current(op);
    return c?.ok ? c.workflow : undefined;
  }

  private onMessage(msg: BusMessage): void {
    const t = parseCommandTopic(msg.topic, this.opts.root);
    if (!t || this.stopping) return;
    const sub = this.subs.get(msg.topic);
    if (sub && msg.payload.length) {
      try {
        const p = JSON.parse(msg.payload.toString("utf8")) as { status?: unknown };
        if (typeof p.status === "string" && isTerminal(p.status)) {
          sub.end = { topic: msg.topic, payload: p };
          sub.notify?.(sub.end);
        }
      } catch {
        // reported below like any other bad payload
      }
    }
    if (!this.opts.workflows.current(t.op) && !this.ops.has(t.op)) {
      // A file added for it may not have been reported by the watcher yet (thin-edge re-reads too).
      if (!isInit(msg.payload) || !this.rescan().includes(t.op)) return; // another component's
    }
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
        const rec = this.opts.store.get(msg.topic);
        this.opts.store.delete(msg.topic);
        if (rec?.version) this.release(rec.op, rec.version);
        return;
      }
      case "fail-orphan":
        this.log.warn("failing orphaned executing command", { topic: msg.topic });
        this.publish(msg.topic, statusPayload(d.payload, "failed", { reason: d.reason }));
        return;
      case "start":
        this.begin(msg.topic, t.op, t.id, d.payload);
        return;
    }
  }

  private begin(topic: string, op: string, id: string, payload: Record<string, unknown>): void {
    // An edit the watcher has not reported yet still applies to a new command (as thin-edge).
    this.rescan();
    const c = this.opts.workflows.current(op);
    const rec: CommandRecord = { topic, op, id, status: "init", payload, startedAt: this.opts.clock() };
    if (!c?.ok) {
      // thin-edge moves a command of an ill-formed workflow through executing to failed.
      const reason = c
        ? `Invalid operation workflow definition ${describeError(c.error)}`
        : `no workflow for '${op}'`;
      void this.transition(rec, { status: "executing" }).then(() =>
        this.transition(rec, { status: "failed", reason }),
      );
      return;
    }
    rec.version = c.workflow.version;
    rec.payload = { ...payload, "@version": c.workflow.version };
    rec.since = rec.startedAt;
    try {
      this.opts.store.put(rec);
    } catch (e) {
      // Without persisted state a restart could leave it running forever: refuse it instead.
      this.publish(
        topic,
        statusPayload(payload, "failed", { reason: `cannot persist the command: ${reasonOf(e)}` }),
      );
      return;
    }
    this.opts.workflows.pin(c.workflow);
    this.drive(rec);
  }

  /** Follows a command from its current state until it ends, waits, or is cleared. */
  private drive(rec: CommandRecord): void {
    const f: InFlight = { controller: new AbortController(), cleared: false };
    this.inflight.set(rec.topic, f);
    const p = this.run(rec, f).finally(() => {
      if (this.inflight.get(rec.topic) === f) this.inflight.delete(rec.topic);
      this.drives.delete(p);
    });
    this.drives.add(p);
  }

  private async run(rec: CommandRecord, f: InFlight): Promise<void> {
    const signal = f.controller.signal;
    for (;;) {
      if (signal.aborted || this.stopping || f.cleared) return;
      const wf = this.opts.workflows.version(rec.op, rec.version ?? "");
      const st = wf?.states[rec.status];
      if (isTerminal(rec.status)) {
        this.release(rec.op, rec.version ?? "");
        return;
      }
      if (!st) {
        await this.transition(rec, {
          status: "failed",
          reason: `the workflow of '${rec.op}' has no state '${rec.status}'`,
        });
        continue;
      }
      const before = rec.status;
      let step: Awaited<ReturnType<typeof runAction>>;
      try {
        step = await runAction(this.host, rec, st, signal);
      } catch (e) {
        step = { kind: "next", update: { status: "failed", reason: reasonOf(e) } };
      }
      if (signal.aborted || this.stopping || f.cleared) return;
      if (step.kind === "next") await this.transition(rec, step.update);
      else if (rec.status === before) return;
    }
  }

  /** Persists, then publishes, the command in its next state. */
  private async transition(rec: CommandRecord, u: Update): Promise<void> {
    const reason =
      u.reason === undefined ? undefined : expand(u.reason, { topic: rec.topic, payload: rec.payload });
    rec.payload = applyUpdate(rec.payload, { ...u, reason });
    rec.status = u.status;
    rec.since = this.opts.clock();
    delete rec.phase;
    this.persist(rec);
    this.log.info(`command ${u.status}`, { topic: rec.topic, reason });
    await this.publishAsync(rec.topic, rec.payload);
  }

  private persist(rec: CommandRecord): void {
    try {
      this.opts.store.put(rec);
    } catch (e) {
      this.log.error("cannot persist command state", { topic: rec.topic, error: e });
    }
  }

  /** A version no command in flight uses any more loses its in-use copy. */
  private release(op: string, version: string): void {
    const used = this.opts.store
      .list()
      .some((r) => r.op === op && r.version === version && !isTerminal(r.status));
    if (!used) this.opts.workflows.release(op, version);
  }

  private awaitSub(topic: string, deadline: number | undefined, signal: AbortSignal) {
    return new Promise<SubEnd | undefined>((resolve) => {
      const entry = this.subs.get(topic) ?? {};
      this.subs.set(topic, entry);
      let timer: NodeJS.Timeout | undefined;
      const done = (v: SubEnd | undefined) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.subs.delete(topic);
        resolve(v);
      };
      const onAbort = () => done(undefined);
      if (entry.end) return done(entry.end);
      entry.notify = done;
      signal.addEventListener("abort", onAbort, { once: true });
      if (deadline !== undefined)
        timer = setTimeout(() => done(undefined), Math.max(0, deadline - this.opts.clock()));
    });
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

function isInit(payload: Buffer): boolean {
  return /"status"\s*:\s*"init"/.test(payload.toString("utf8"));
}
