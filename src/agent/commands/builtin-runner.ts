import type { Logger } from "../../foundation/logger.ts";
import type { Operation } from "../operations/operation.ts";
import type { BuiltinResult } from "../workflows/actions.ts";
import { type CommandRecord, reasonOf, resumeAction } from "./state.ts";

/** The phase of a built-in implementation that has started (operations may set their own). */
export const RUNNING = "running";

/**
 * Runs the built-in implementations (`builtin:<op>`): one command at a time per operation, under
 * the operation's time limit, the phase persisted before it starts so that a restart settles an
 * interrupted run by the operation's resume policy instead of replaying it blindly.
 */
export class BuiltinRunner {
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly ops: Map<string, Operation>,
    private readonly timeoutMs: (op: string) => number,
    private readonly persist: (rec: CommandRecord) => void,
    private readonly log: Logger,
  ) {}

  /** The runs queued or under way (tests and shutdown wait on them). */
  pending(): Promise<void>[] {
    return [...this.queues.values()];
  }

  /** Runs `op`'s implementation for this command once the operation's earlier commands are done. */
  run(
    rec: CommandRecord,
    op: string,
    signal: AbortSignal,
    payload: Record<string, unknown> = rec.payload,
  ): Promise<BuiltinResult> {
    const impl = this.ops.get(op);
    if (!impl) return Promise.resolve({ ok: false, error: `'${op}' has no built-in implementation` });
    // A phase persisted by an earlier run means the implementation was interrupted mid-way.
    const interrupted = rec.phase !== undefined;
    const prev = this.queues.get(op) ?? Promise.resolve();
    const result = prev.then(() => this.exec(rec, impl, signal, interrupted, payload));
    const tail = result.then(
      () => {},
      () => {},
    );
    this.queues.set(op, tail);
    void tail.finally(() => {
      if (this.queues.get(op) === tail) this.queues.delete(op);
    });
    return result;
  }

  private async exec(
    rec: CommandRecord,
    op: Operation,
    signal: AbortSignal,
    interrupted: boolean,
    payload: Record<string, unknown>,
  ): Promise<BuiltinResult> {
    if (interrupted) {
      const phase = rec.phase === RUNNING ? undefined : rec.phase;
      const action = resumeAction({ ...rec, status: "executing", phase }, op.resume);
      if (action.kind === "fail") return { ok: false, error: action.reason };
      if (action.kind === "custom") {
        try {
          const r = await op.onResume!(rec, this.log);
          if (r.status === "successful") return { ok: true, value: r.extra ?? {} };
          if (r.status === "failed") return { ok: false, error: r.reason };
        } catch (e) {
          return { ok: false, error: reasonOf(e) };
        }
      }
    }
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const limit = this.timeoutMs(op.op);
    const timer = setTimeout(
      () => controller.abort(new Error(`timed out after ${Math.round(limit / 1000)} s`)),
      limit,
    );
    rec.phase = RUNNING;
    this.persist(rec);
    try {
      if (controller.signal.aborted) throw controller.signal.reason;
      const extra = await op.run(payload, {
        signal: controller.signal,
        log: this.log.child(op.op),
        setPhase: (phase) => {
          rec.phase = phase;
          this.persist(rec);
        },
      });
      return { ok: true, value: extra ?? {} };
    } catch (e) {
      return { ok: false, error: reasonOf(e) };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }
}
