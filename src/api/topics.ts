/**
 * The thin-edge topic scheme: `<root>/<entity topic id>/<channel>/<type>[/<rest>]`, where the entity
 * topic id has exactly four segments (`device/main//`, `device/child01//`, `device/main/service/x`).
 */

export type Channel = "m" | "e" | "a" | "twin" | "cmd" | "status" | "signal";
const CHANNELS: ReadonlySet<string> = new Set(["m", "e", "a", "twin", "cmd", "status", "signal"]);

/** Four segments joined with `/`, e.g. `device/main//`. */
export type EntityTopicId = string;

export const MAIN_DEVICE: EntityTopicId = "device/main//";

export interface ParsedTopic {
  entity: EntityTopicId;
  /** Absent on the bare entity topic (registration). */
  channel?: Channel;
  /** The type segment after the channel (may be empty: `te/device/main///m/`). */
  type?: string;
  /** Segments after the type: `meta` for measurement units, the command id for commands. */
  rest: string[];
}

export type TopicParse = { ok: true; value: ParsedTopic } | { ok: false; error: string };

export function parseTopic(topic: string, root = "te"): TopicParse {
  const prefix = `${root}/`;
  if (!topic.startsWith(prefix)) return { ok: false, error: `topic '${topic}' is not under '${root}/'` };
  const parts = topic.slice(prefix.length).split("/");
  if (parts.length < 4)
    return {
      ok: false,
      error: `topic '${topic}' has no entity topic id of four segments (e.g. device/main//)`,
    };
  const entity = parts.slice(0, 4).join("/");
  if (parts.length === 4) return { ok: true, value: { entity, rest: [] } };
  const channel = parts[4]!;
  if (!CHANNELS.has(channel))
    return { ok: false, error: `topic '${topic}' has unknown channel '${channel}'` };
  return {
    ok: true,
    value: { entity, channel: channel as Channel, type: parts[5] ?? "", rest: parts.slice(6) },
  };
}

export function topicFor(
  root: string,
  entity: EntityTopicId,
  channel: Channel,
  type = "",
  ...rest: string[]
): string {
  return [root, entity, channel, type, ...rest].join("/");
}

/** The entity types of the te/ registration's `@type`. */
export const ENTITY_TYPES = ["device", "child-device", "service"] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

export function isEntityType(t: unknown): t is EntityType {
  return ENTITY_TYPES.includes(t as EntityType);
}

export interface DefaultScheme {
  kind: EntityType;
  /** The parent entity for children and services. */
  parent?: EntityTopicId;
  /** Device or service name from the topic. */
  name: string;
}

/**
 * Entity kinds that follow the default topic scheme: `device/<name>//` and
 * `device/<name>/service/<svc>`. Anything else needs explicit registration.
 */
export function defaultScheme(entity: EntityTopicId): DefaultScheme | undefined {
  const [a, device, c, service] = entity.split("/");
  if (a !== "device" || !device) return undefined;
  if (c === "" && service === "") {
    return device === "main"
      ? { kind: "device", name: "main" }
      : { kind: "child-device", parent: MAIN_DEVICE, name: device };
  }
  if (c === "service" && service) return { kind: "service", parent: `device/${device}//`, name: service };
  return undefined;
}

/** A UTF-16 surrogate without its pair: not encodable as UTF-8, so never part of an MQTT topic. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` can be (part of) an MQTT topic name: no wildcards, no NUL, valid UTF-16 [MQTT-4.7.3-2]. */
export function isTopicText(text: string): boolean {
  return !/[+#\0]/.test(text) && !LONE_SURROGATE.test(text);
}

export function isValidEntityTopicId(entity: string): boolean {
  return entity.split("/").length === 4 && isTopicText(entity);
}

/** Cloud-independent external id used by thin-edge: `<main-id>:` + topic id with `/` → `:`, trailing empties dropped. */
export function defaultExternalId(mainId: string, entity: EntityTopicId): string {
  return entity === MAIN_DEVICE ? mainId : `${mainId}:${colonEntity(entity)}`;
}

/** `device/child//` → `device:child` (trailing empty segments dropped), as thin-edge writes entities in ids and AWS topics. */
export function colonEntity(entity: EntityTopicId): string {
  const parts = entity.split("/");
  while (parts.length && parts.at(-1) === "") parts.pop();
  return parts.join(":");
}
