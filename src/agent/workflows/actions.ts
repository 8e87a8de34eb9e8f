// biome-ignore-all lint/suspicious/noTemplateCurlyInString: thin-edge templates are `${…}` inside plain strings
/**
 * Runs the action of one workflow state and returns where the command goes next. The engine
 * (`commands/engine.ts`) owns persistence, publication and the sub-command bookkeeping; this
 * file owns what each action kind does.
 */
import { join } from "node:path";
import { commandArgv, expand, expandValue, resolvePath, type TemplateMessage } from "../../api/template.ts";
import { isObj, type Obj } from "../../foundation/json.ts";
import type { Logger } from "../../foundation/logger.ts";
import { runScript, startBackground } from "../../foundation/run-script.ts";
import type { CommandRecord } from "../commands/state.ts";
import { download } from "../transfer.ts";
import type { StateDef } from "./definition.ts";
import {
  awaitOutcome,
  execTarget,
  iterateOutcome,
  resultOutcome,
  scriptJson,
  scriptOutcome,
  timeoutOutcome,
  type Update,
} from "./step.ts";

export type BuiltinResult = { ok: true; value: Obj } | { ok: false; error: string };

export interface ActionHost {
  readonly runId: string;
  readonly log: Logger;
  readonly downloadDir: string;
  clock(): number;
  /** Persists, then publishes, the command in its next state. */
  transition(rec: CommandRecord, u: Update): Promise<void>;
  persist(rec: CommandRecord): void;
  /** Runs a built-in operation's implementation for this command (queued per operation). */
  runBuiltin(
    rec: CommandRecord,
    op: string,
    signal: AbortSignal,
    payload?: Record<string, unknown>,
  ): Promise<BuiltinResult>;
  /** Resolves with the sub-command's final message, or undefined at the deadline. */
  awaitSub(
    topic: string,
    deadline: number | undefined,
    signal: AbortSignal,
  ): Promise<TemplateMessage | undefined>;
  /** A new sub-command topic for this command. */
  subTopic(rec: CommandRecord, op: string): string;
  publish(topic: string, payload: string): Promise<void>;
  restartAgent(): void;
}

/** `next`: move on with this update; `parked`: the engine already moved it, or it waits for a restart. */
export type Step = { kind: "next"; update: Update } | { kind: "parked" };

const next = (update: Update): Step => ({ kind: "next", update });

function messageOf(rec: CommandRecord): TemplateMessage {
  return { topic: rec.topic, payload: rec.payload };
}

/** Milliseconds since epoch at which a state with `timeout_second` gives up. */
function deadline(rec: CommandRecord, st: StateDef, now: number): number | undefined {
  const t = st.handlers.timeoutS;
  return t ? (rec.since ?? now) + t * 1000 : undefined;
}

export async function runAction(
  host: ActionHost,
  rec: CommandRecord,
  st: StateDef,
  signal: AbortSignal,
): Promise<Step> {
  const h = st.handlers;
  const a = st.action;
  const msg = messageOf(rec);
  switch (a.kind) {
    case "proceed":
      return next(execTarget(h));
    case "cleanup":
      return { kind: "parked" };
    case "script": {
      const argv = commandArgv(a.line, msg);
      if (!argv.ok) return next({ status: h.onError?.status ?? "failed", reason: argv.error });
      const program = argv.value[0] ?? "";
      const r = await runScript(argv.value, { timeoutS: h.timeoutS, signal });
      return next(scriptOutcome(program, h, r));
    }
    case "background": {
      const argv = commandArgv(a.line, msg);
      if (!argv.ok) return next({ status: h.onError?.status ?? "failed", reason: argv.error });
      // The next state is persisted first: the script may well restart the device.
      await host.transition(rec, execTarget(h));
      const err = startBackground(argv.value);
      if (err) host.log.error(`background script ${argv.value[0]} did not start: ${err}`);
      return { kind: "parked" };
    }
    case "operation":
      return startOperation(host, rec, st, signal);
    case "await-operation": {
      const sub = rec.sub;
      if (sub?.builtin) {
        const r = await host.runBuiltin(rec, sub.builtin, signal);
        delete rec.sub;
        return next(resultOutcome(`builtin:${sub.builtin}`, h, r));
      }
      if (!sub?.topic)
        return next({ status: "failed", reason: `state '${st.name}' has no sub-operation to await` });
      const end = await host.awaitSub(sub.topic, deadline(rec, st, host.clock()), signal);
      if (signal.aborted) return { kind: "parked" };
      // The caller clears the sub-command it created.
      await host.publish(sub.topic, "");
      delete rec.sub;
      return next(end ? awaitOutcome(h, (a as { output?: unknown }).output, end) : timeoutOutcome(h));
    }
    case "await-agent-restart": {
      if (rec.restartMark && rec.restartMark !== host.runId) {
        delete rec.restartMark;
        return next({ ...(h.onSuccess ?? { status: "successful" }) });
      }
      if (!rec.restartMark) {
        rec.restartMark = host.runId;
        host.persist(rec);
      }
      const d = deadline(rec, st, host.clock());
      if (d === undefined) return { kind: "parked" };
      await sleepUntil(d - host.clock(), signal);
      if (signal.aborted) return { kind: "parked" };
      delete rec.restartMark;
      return next(timeoutOutcome(h));
    }
    case "restart-agent": {
      rec.restartMark = host.runId;
      await host.transition(rec, execTarget(h));
      host.restartAgent();
      return { kind: "parked" };
    }
    case "iterate": {
      const r = resolvePath(a.over.replace(/^\$\{|\}$/g, ""), msg);
      return next(iterateOutcome(h, r.found ? r.value : undefined, rec.payload));
    }
    case "download": {
      const input = expandValue(a.input, msg) as Obj;
      const url = [input.url, rec.payload.tedgeUrl, rec.payload.remoteUrl].find(
        (u): u is string => typeof u === "string" && u !== "",
      );
      if (!url)
        return next(
          resultOutcome("download", h, { ok: false, error: "no url, tedgeUrl or remoteUrl to download" }),
        );
      const dest = join(host.downloadDir, `${rec.op}-${rec.id.replace(/[^\w.-]/g, "_")}`);
      try {
        await download(url, dest, signal);
        return next(resultOutcome("download", h, { ok: true, value: { downloadedPath: dest } }));
      } catch (e) {
        return next(resultOutcome("download", h, { ok: false, error: (e as Error).message }));
      }
    }
    case "builtin-step": {
      // ledge's config_update is one step: `set` applies the file the workflow downloaded
      // (`input.setFrom`); prepare, verify and rollback have nothing left to do (the
      // replacement is atomic, a failed one leaves the old file).
      if (a.step !== "set")
        return next(resultOutcome(`builtin:${a.op}:${a.step}`, h, { ok: true, value: {} }));
      const input = expandValue(a.input, msg);
      const from = isObj(input) && typeof input.setFrom === "string" ? input.setFrom : undefined;
      const payload = from ? { ...rec.payload, tedgeUrl: from } : rec.payload;
      return next(resultOutcome(`builtin:${a.op}:set`, h, await host.runBuiltin(rec, a.op, signal, payload)));
    }
    case "publish": {
      const topic = expand(a.topic, msg);
      await host.publish(topic, JSON.stringify(expandValue(a.payload, msg)));
      return next(execTarget(h));
    }
  }
}

/** Builds the sub-command's init payload: `input_script` excerpt first, then `input`. */
async function subInput(st: StateDef, msg: TemplateMessage, signal: AbortSignal): Promise<BuiltinResult> {
  const a = st.action as { input?: unknown; inputScript?: string };
  let payload: Obj = {};
  if (a.inputScript) {
    const argv = commandArgv(a.inputScript, msg);
    if (!argv.ok) return { ok: false, error: argv.error };
    const program = argv.value[0] ?? "";
    const r = await runScript(argv.value, { signal });
    if (r.kind !== "exit" || r.code !== 0) return { ok: false, error: `input script ${program} failed` };
    const j = scriptJson(program, r.stdout);
    if (!j.ok) return { ok: false, error: j.error };
    if (isObj(j.value)) payload = { ...j.value };
  }
  if (a.input !== undefined) {
    const v = expandValue(a.input, msg);
    if (!isObj(v)) return { ok: false, error: "the sub-operation input is not a JSON object" };
    payload = { ...payload, ...v };
  }
  return { ok: true, value: { ...payload, status: "init" } };
}

async function startOperation(
  host: ActionHost,
  rec: CommandRecord,
  st: StateDef,
  signal: AbortSignal,
): Promise<Step> {
  const a = st.action as { operation: string; inline: boolean };
  const h = st.handlers;
  const op = expand(a.operation, messageOf(rec));
  if (op.startsWith("builtin:")) {
    const builtin = op.slice(8);
    if (a.inline) return next(resultOutcome(op, h, await host.runBuiltin(rec, builtin, signal)));
    rec.sub = { builtin };
    await host.transition(rec, execTarget(h));
    return { kind: "parked" };
  }
  if (!/^[A-Za-z0-9_-]+$/.test(op))
    return next({ status: h.onError?.status ?? "failed", reason: `'${op}' is not an operation name` });
  const input = await subInput(st, messageOf(rec), signal);
  if (!input.ok) return next({ status: "failed", reason: input.error });
  const topic = host.subTopic(rec, op);
  rec.sub = { topic };
  if (a.inline) {
    host.persist(rec);
    await host.publish(topic, JSON.stringify(input.value));
    const end = await host.awaitSub(topic, undefined, signal);
    if (signal.aborted || !end) return { kind: "parked" };
    await host.publish(topic, "");
    delete rec.sub;
    return next(awaitOutcome(h, undefined, end));
  }
  // The waiting state and the sub-command's topic are persisted before the sub-command exists.
  await host.transition(rec, execTarget(h));
  await host.publish(topic, JSON.stringify(input.value));
  return { kind: "parked" };
}

function sleepUntil(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
