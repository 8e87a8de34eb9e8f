/**
 * A te/ topic parsed once into what it is (thin-edge's `Channel` in `mqtt_topics.rs`): converters
 * switch over `kind` instead of comparing topic segments.
 */
import { type EntityTopicId, parseTopic } from "./topics.ts";

export type TeChannel =
  | { kind: "registration"; entity: EntityTopicId }
  | { kind: "measurement"; entity: EntityTopicId; type: string }
  | { kind: "measurement-meta"; entity: EntityTopicId; type: string }
  | { kind: "event"; entity: EntityTopicId; type: string }
  | { kind: "alarm"; entity: EntityTopicId; type: string }
  | { kind: "twin"; entity: EntityTopicId; fragment: string }
  | { kind: "command-metadata"; entity: EntityTopicId; op: string }
  | { kind: "command"; entity: EntityTopicId; op: string; cmdId: string }
  | { kind: "health"; entity: EntityTopicId }
  /** Any other te/ topic (signals, other status types, deeper levels): nothing to map. */
  | { kind: "other"; entity: EntityTopicId };

export type ChannelParse = { ok: true; value: TeChannel } | { ok: false; error: string };

export function parseChannel(topic: string, root = "te"): ChannelParse {
  const t = parseTopic(topic, root);
  if (!t.ok) return t;
  const { entity, channel, type = "", rest } = t.value;
  const value = ((): TeChannel => {
    switch (channel) {
      case undefined:
        return { kind: "registration", entity };
      case "m":
        if (rest.length === 0) return { kind: "measurement", entity, type };
        return rest.length === 1 && rest[0] === "meta"
          ? { kind: "measurement-meta", entity, type }
          : { kind: "other", entity };
      case "e":
        return rest.length === 0 ? { kind: "event", entity, type } : { kind: "other", entity };
      case "a":
        return rest.length === 0 ? { kind: "alarm", entity, type } : { kind: "other", entity };
      case "twin":
        return rest.length === 0 ? { kind: "twin", entity, fragment: type } : { kind: "other", entity };
      case "cmd":
        if (rest.length === 0) return { kind: "command-metadata", entity, op: type };
        return rest.length === 1 && rest[0]
          ? { kind: "command", entity, op: type, cmdId: rest[0] }
          : { kind: "other", entity };
      case "status":
        return type === "health" && rest.length === 0
          ? { kind: "health", entity }
          : { kind: "other", entity };
      case "signal":
        return { kind: "other", entity };
    }
  })();
  return { ok: true, value };
}
