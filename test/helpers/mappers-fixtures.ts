import { C8yMapper } from "../../src/mappers/c8y/mapper.ts";
import type { InMessage, MapperContext, OutMessage } from "../../src/mappers/common/types.ts";

/** The fixed clock of every mapper table: 2024-01-01T00:00:00.000Z. */
export const NOW = Date.UTC(2024, 0, 1);
export const NOW_ISO = "2024-01-01T00:00:00.000Z";

export const ctx: MapperContext = {
  mainId: "test-device",
  root: "te",
  now: () => NOW,
  maxPayloadBytes: 4096,
};

export function c8yMapper(
  opts: { announce?: boolean } & Partial<ConstructorParameters<typeof C8yMapper>[0]> = {},
): C8yMapper {
  return new C8yMapper({
    ...ctx,
    fileTransferUrl: "http://127.0.0.1:8000",
    useOperationId: true,
    ...opts,
    announceAutoRegistration: opts.announce ?? false,
  });
}

export function msg(topic: string, payload: string | object = "", retain = false): InMessage {
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  return { topic, payload: Buffer.from(text), retain, qos: 0 };
}

/** Messages as `[topic, payload]` pairs: what the tables compare. */
export function pairs(out: OutMessage[]): [string, string][] {
  return out.map((m) => [
    m.topic,
    typeof m.payload === "string" ? m.payload : Buffer.from(m.payload).toString(),
  ]);
}

/** Feeds `setup` messages (registrations, metadata) and returns only what `input` produces. */
export function run(
  mapper: { translate(m: InMessage): OutMessage[] },
  setup: InMessage[],
  input: InMessage,
): [string, string][] {
  for (const s of setup) mapper.translate(s);
  return pairs(mapper.translate(input));
}
