/**
 * Cumulocity operations no built-in conversion handles, matched against the operation files:
 * a command to run (SmartREST line or JSON operation), or a te/ command for the agent workflow an
 * operation file delegates to (`[exec.workflow]`). Pure.
 */
import { asText, expandValue, type TemplateMessage } from "../../api/template.ts";
import { isObj, type Obj } from "../../foundation/json.ts";
import type { MapperContext, OutMessage, Result } from "../common/types.ts";
import type { CustomRun } from "./custom-operations.ts";
import { matchJson, matchSmartRest, type OperationFile } from "./operation-files.ts";
import { CMD_ID_PREFIX } from "./operations.ts";

/** The field a delegated te/ command carries so the mapper can answer Cumulocity (thin-edge's name). */
export const DELEGATION_FIELD = "c8y-mapper";

export interface Matched {
  runs: CustomRun[];
  out: OutMessage[];
}

/** SmartREST lines on `topic` that an operation file handles (main device only). */
export function smartRestCustom(
  files: OperationFile[],
  topic: string,
  text: string,
  mainId: string,
): CustomRun[] {
  const runs: CustomRun[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const file = matchSmartRest(files, topic, line, mainId);
    if (file) runs.push({ file, line });
  }
  return runs;
}

/** One JSON operation an operation file handles; undefined when none does. */
export function jsonCustom(
  files: OperationFile[],
  topic: string,
  op: Obj,
  ctx: MapperContext,
): Result<Matched> | undefined {
  const src = op.externalSource;
  const xid = isObj(src) && typeof src.externalId === "string" ? src.externalId : ctx.mainId;
  if (xid !== ctx.mainId) return undefined;
  const file = matchJson(files, topic, op);
  if (!file) return undefined;
  const id = typeof op.id === "number" ? String(op.id) : typeof op.id === "string" ? op.id : undefined;
  const message: TemplateMessage = { topic, payload: op };
  if (!file.workflow) return { ok: true, value: { runs: [{ file, message, opId: opIdOf(id) }], out: [] } };
  if (!id || !/^[A-Za-z0-9_-]+$/.test(id))
    return { ok: false, error: `operation ${file.name} needs an 'id' to become a te/ command` };
  const input = file.workflow.input === undefined ? {} : expandValue(file.workflow.input, message);
  if (!isObj(input))
    return { ok: false, error: `operation ${file.name}: the workflow input is not a JSON object` };
  const payload = {
    ...input,
    status: "init",
    [DELEGATION_FIELD]: { on_fragment: file.name, output: file.workflow.output ?? null },
  };
  return {
    ok: true,
    value: {
      runs: [],
      out: [
        {
          topic: `${ctx.root}/device/main///cmd/${file.workflow.operation}/${CMD_ID_PREFIX}${id}`,
          payload: JSON.stringify(payload),
          retain: true,
          qos: 1,
        },
      ],
    },
  };
}

function opIdOf(id: string | undefined): string | undefined {
  return id !== undefined && /^\d+$/.test(id) ? id : undefined;
}

/**
 * A delegated command's Cumulocity name and, once successful, its result parameters: the
 * `output` template over the final message (a string: one field; an array: one field each).
 */
export function delegation(payload: Obj): { name: string; params: () => Result<string[]> } | undefined {
  const d = payload[DELEGATION_FIELD];
  if (!isObj(d) || typeof d.on_fragment !== "string") return undefined;
  return {
    name: d.on_fragment,
    params: () => {
      if (d.output === undefined || d.output === null) return { ok: true, value: [] };
      const v = expandValue(d.output, { topic: "", payload });
      if (typeof v === "string") return { ok: true, value: [v] };
      if (Array.isArray(v)) return { ok: true, value: v.map(asText) };
      if (v === undefined || v === null) return { ok: true, value: [] };
      return { ok: false, error: "'output' supports only String or Array" };
    },
  };
}
