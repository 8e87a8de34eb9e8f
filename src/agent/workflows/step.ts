/**
 * The pure core of the workflow engine: from the outcome of a state's action (a script's exit, a
 * sub-command's final message, an iteration, a timeout) to the next state and payload, as
 * thin-edge's agent computes it. No I/O, no clock: `engine.ts` runs the actions.
 */
import { expandValue, type TemplateMessage } from "../../api/template.ts";
import { isObj, type Obj } from "../../foundation/json.ts";
import type { ScriptResult } from "../../foundation/run-script.ts";
import type { Handlers, Target } from "./definition.ts";

/** The next state and what to change in the payload. */
export interface Update {
  status: string;
  reason?: string;
  /** Fields merged into the payload (a script's JSON, a result). */
  merge?: Obj;
}

const failed = (reason: string): Update => ({ status: "failed", reason });

/** Only the text between `:::begin-tedge:::` and `:::end-tedge:::` lines counts. */
export function excerpt(stdout: string): string | undefined {
  const b = stdout.indexOf(":::begin-tedge:::\n");
  if (b < 0) return undefined;
  const rest = stdout.slice(b + 18);
  const e = rest.indexOf("\n:::end-tedge:::");
  return e < 0 ? undefined : rest.slice(0, e);
}

/** The script's JSON excerpt, or why there is none. */
export function scriptJson(
  program: string,
  stdout: string,
): { ok: true; value: unknown } | { ok: false; error: string } {
  const x = excerpt(stdout);
  if (x === undefined)
    return { ok: false, error: `Program \`${program}\` stdout contains no :::tedge::: content` };
  try {
    return { ok: true, value: JSON.parse(x) };
  } catch (e) {
    return { ok: false, error: `Program \`${program}\` stdout is not valid JSON: ${(e as Error).message}` };
  }
}

/** A handler's target with a script's dynamic update: the handler's status wins, the script's reason wins. */
function inject(t: Target, dynamic: unknown): Update {
  const u: Update = { status: t.status };
  const d = isObj(dynamic) ? { ...dynamic } : {};
  delete d.status;
  const reason = typeof d.reason === "string" ? d.reason : t.reason;
  delete d.reason;
  if (reason !== undefined) u.reason = reason;
  if (Object.keys(d).length) u.merge = d;
  return u;
}

function fromDynamic(dynamic: unknown, program: string, onStdout: string[]): Update {
  if (!isObj(dynamic)) return failed(`Program \`${program}\` stdout is not a JSON object`);
  const status = dynamic.status;
  if (typeof status !== "string") return failed(`Program \`${program}\` stdout gives no 'status'`);
  if (onStdout.length && !onStdout.includes(status))
    return failed(`Program \`${program}\` stdout status '${status}' is not one of ${onStdout.join(", ")}`);
  return inject({ status }, dynamic);
}

/** thin-edge's mapping of a script's end to the next state (`ExitHandlers::state_update`). */
export function scriptOutcome(program: string, h: Handlers, r: ScriptResult): Update {
  if (r.kind === "launch-error")
    return h.onError ? { ...h.onError } : failed(`Failed to launch ${program}: ${r.error}`);
  if (r.kind === "killed")
    return h.onKill ? { ...h.onKill } : failed(`${program} killed by signal ${r.signo} (${r.signal})`);
  const json = scriptJson(program, r.stdout);
  if (r.code === 0) {
    if (!h.onSuccess) return json.ok ? fromDynamic(json.value, program, h.onStdout) : failed(json.error);
    return json.ok ? inject(h.onSuccess, json.value) : { ...h.onSuccess };
  }
  const handler = h.onExit.find((e) => e.from <= r.code && r.code <= e.to);
  if (handler) return json.ok ? inject(handler.target, json.value) : { ...handler.target };
  const scriptReason =
    json.ok && isObj(json.value) && typeof json.value.reason === "string" ? json.value.reason : undefined;
  return {
    status: h.onError?.status ?? "failed",
    reason: scriptReason ?? `${program} returned exit code ${r.code}`,
  };
}

/** A builtin action's result (download, builtin operation, restart-agent): `state_update_on_result`. */
export function resultOutcome(
  action: string,
  h: Handlers,
  r: { ok: true; value: Obj } | { ok: false; error: string },
): Update {
  if (r.ok) return inject(h.onSuccess ?? { status: "successful" }, r.value);
  return h.onError ? { reason: r.error, ...h.onError } : failed(`${action} failed with ${r.error}`);
}

/** The await states' timeout: `on_timeout`, default failed "timeout". */
export function timeoutOutcome(h: Handlers): Update {
  return h.onTimeout ? { ...h.onTimeout } : failed("timeout");
}

/**
 * A sub-command finished: its final message decides, and `output.*` templates over that message
 * copy values into the caller's payload (add or update, never remove).
 */
export function awaitOutcome(h: Handlers, output: unknown, sub: TemplateMessage): Update {
  const p = isObj(sub.payload) ? sub.payload : {};
  if (p.status === "successful") {
    const t = h.onSuccess ?? { status: "successful" };
    const u: Update = { ...t };
    if (output !== undefined) {
      const o = expandValue(output, sub);
      if (isObj(o)) u.merge = o;
    }
    return u;
  }
  const reason = typeof p.reason === "string" ? p.reason : "sub-operation failed";
  return h.onError ? { reason, ...h.onError } : failed(reason);
}

/**
 * `iterate = "${.payload.xs}"`: `@next = {index, item}`, starting at 0, then one further per pass;
 * past the end → `on_success`.
 */
export function iterateOutcome(h: Handlers, list: unknown, payload: Obj): Update {
  if (!Array.isArray(list))
    return h.onError ? { ...h.onError } : failed("the value to iterate over is not an array");
  const prev = isObj(payload["@next"]) ? payload["@next"] : undefined;
  const index = typeof prev?.index === "number" ? prev.index + 1 : 0;
  if (index >= list.length) return { ...(h.onSuccess ?? { status: "successful" }) };
  const next = h.onNext ?? h.onSuccess ?? { status: "successful" };
  return { ...next, merge: { "@next": { index, item: list[index] } } };
}

/**
 * The payload of the next state: fields kept, merged ones added, status set; a handler's reason
 * is set, and a stale reason dropped when the command succeeds.
 */
export function applyUpdate(payload: Obj, u: Update): Obj {
  const out: Obj = { ...payload, ...(u.merge ?? {}), status: u.status };
  if (u.reason !== undefined) out.reason = u.reason;
  else if (u.status === "successful") delete out.reason;
  return out;
}

/** The next state of a proceed, background script, sub-operation launch or restart-agent. */
export function execTarget(h: Handlers): Update {
  return { ...(h.onExec ?? h.onSuccess ?? { status: "successful" }) };
}
