import type { MapperContext, OutMessage } from "./types.ts";

/** thin-edge reports mapper errors as free text on `te/errors`; naming the topic makes them actionable. */
export function errorMessage(ctx: Pick<MapperContext, "root">, topic: string, reason: string): OutMessage {
  return { topic: `${ctx.root}/errors`, payload: `${topic}: ${reason}`, qos: 1 };
}
