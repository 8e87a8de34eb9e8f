import { parseTopic } from "../../api/topics.ts";
import { validateMessage } from "../../api/validate-message.ts";
import type { InMessage, MapperContext, OutMessage } from "./types.ts";

/** thin-edge reports mapper errors as free text on `te/errors`; naming the topic makes them actionable. */
export function errorMessage(ctx: Pick<MapperContext, "root">, topic: string, reason: string): OutMessage {
  return { topic: `${ctx.root}/errors`, payload: `${topic}: ${reason}`, qos: 1 };
}

/**
 * The te/errors line for a te/ message a mapper could not take, unless the api component reports
 * the same fault (a bad topic or payload by thin-edge's rules, or `byApi`: an unregistered entity
 * outside the default scheme): then one line on te/errors, not one per component. Faults only
 * this cloud has (a reserved name, a limit of its own) are always reported.
 */
export function inputError(ctx: MapperContext, msg: InMessage, reason: string, byApi = false): OutMessage[] {
  if (ctx.apiReportsErrors && (byApi || apiRejects(msg, ctx))) return [];
  return [errorMessage(ctx, msg.topic, reason)];
}

function apiRejects(msg: InMessage, ctx: MapperContext): boolean {
  const t = parseTopic(msg.topic, ctx.root);
  return !t.ok || validateMessage(t.value, msg.payload, ctx.maxPayloadBytes).kind === "invalid";
}
