/**
 * The generic built-in steps thin-edge ships (TEDGE-FACTS §10.4), reimplemented as plain steps.
 * The cloud-format ones (`into-c8y-*`) are not here: ledge's own c8y mapper does that translation.
 */
import { bytes, jsonObject, type OutMessage, type Step, text } from "../types.ts";
import {
  type Config,
  entityOf,
  bool as flag,
  measurement,
  num,
  str,
  strList,
  topicMatches,
} from "./common.ts";

const pass = (m: OutMessage): OutMessage => m;

/** `add-timestamp`: adds `property` (default `time`) when missing, as unix seconds or RFC 3339; `reformat` converts one that is there. */
export function addTimestamp(c: Config): Step {
  const property = str(c, "property", "time");
  const format = str(c, "format", "unix");
  if (format !== "unix" && format !== "rfc3339") throw new Error("config.format must be unix or rfc3339");
  const reformat = flag(c, "reformat", false);
  const render = (ms: number) => (format === "unix" ? ms / 1000 : new Date(ms).toISOString());
  return {
    onMessage(m) {
      const o = measurement(m);
      const cur = o[property];
      if (cur === undefined) o[property] = render(m.time.getTime());
      else if (reformat) {
        const t =
          typeof cur === "number" ? cur * 1000 : typeof cur === "string" ? Date.parse(cur) : Number.NaN;
        if (!Number.isFinite(t)) throw new Error(`'${property}' is not a time: ${JSON.stringify(cur)}`);
        o[property] = render(t);
      } else return pass(m);
      return { ...m, payload: JSON.stringify(o) };
    },
  };
}

/** `ignore-topics`: drops messages whose topic matches one of `topics` (filters). */
export function ignoreTopics(c: Config): Step {
  const topics = strList(c, "topics", []);
  return { onMessage: (m) => (topics.some((f) => topicMatches(f, m.topic)) ? [] : m) };
}

/** `limit-payload-size`: a payload over `max_size` bytes is an error, or dropped silently with `discard = true`. */
export function limitPayloadSize(c: Config): Step {
  const max = num(c, "max_size");
  const discard = flag(c, "discard", false);
  return {
    onMessage(m) {
      if (m.payload.byteLength <= max) return m;
      if (discard) return [];
      throw new Error(`payload on '${m.topic}' is ${m.payload.byteLength} bytes, more than max_size ${max}`);
    },
  };
}

/** `set-topic`: every message goes to `topic`. */
export function setTopic(c: Config): Step {
  const topic = str(c, "topic");
  return { onMessage: (m) => ({ ...m, topic }) };
}

/** `set-aws-topic`: `te/<entity>/<channel>/<type>` → `<prefix>/td/<entity with : for />/<channel>/<type>` (DESIGN §3). */
export function setAwsTopic(c: Config): Step {
  const prefix = str(c, "prefix", "aws");
  return {
    onMessage(m) {
      const p = m.topic.split("/");
      if (p.length < 6) return m;
      const entity = p.slice(1, 5).filter(Boolean).join(":");
      return { ...m, topic: [`${prefix}/td/${entity}`, ...p.slice(5)].join("/") };
    },
  };
}

/** `skip-mosquitto-health-status`: drops the health status mosquitto publishes for its bridges (`0`/`1`). */
export function skipMosquittoHealth(_c: Config): Step {
  return { onMessage: (m) => (/\/service\/mosquitto-[^/]*-bridge\/status\/health$/.test(m.topic) ? [] : m) };
}

/** `update-context`: stores each JSON payload in `context.mapper` under its topic (empty payload: deletes); passes the message on. */
export function updateContext(c: Config): Step {
  const topics = c.topics === undefined ? undefined : strList(c, "topics");
  return {
    onMessage(m, ctx) {
      if (topics && !topics.some((f) => topicMatches(f, m.topic))) return m;
      if (m.payload.byteLength === 0) ctx.mapper.remove(m.topic);
      else ctx.mapper.set(m.topic, jsonObject(m.payload) ?? text(m.payload));
      return m;
    },
  };
}

/**
 * `cache-early-messages`: holds messages from an entity until its registration is in
 * `context.mapper` (as `update-context` stores it, under `<topic_root>/<entity>`); the main device
 * counts as registered. Held messages leave in order, ahead of the message that finds the entity registered.
 */
export function cacheEarlyMessages(c: Config): Step {
  const root = str(c, "topic_root", "te");
  const max = num(c, "max_messages", 1000);
  const held = new Map<string, OutMessage[]>();
  const known = (entity: string, ctx: { mapper: { get(k: string): unknown } }) =>
    entity === `${root}/device/main//` || ctx.mapper.get(entity) !== null;
  const release = (ctx: { mapper: { get(k: string): unknown } }) => {
    const out: OutMessage[] = [];
    for (const [entity, list] of held)
      if (known(entity, ctx)) {
        out.push(...list);
        held.delete(entity);
      }
    return out;
  };
  return {
    onMessage(m, ctx) {
      const entity = entityOf(m.topic);
      const out = release(ctx);
      if (!entity || !m.topic.startsWith(`${root}/`) || known(entity, ctx) || m.topic.split("/").length === 5)
        return [...out, m];
      const list = held.get(entity) ?? [];
      if (list.length >= max) throw new Error(`more than ${max} messages held for unregistered ${entity}`);
      list.push({ ...m, payload: bytes(m.payload) });
      held.set(entity, list);
      return out;
    },
    onInterval: (_t, ctx) => release(ctx),
  };
}

/**
 * `group-measurements`: collects the measurements of `time_window` and emits them at once, one
 * message per topic with the fields of its messages merged (later values win). thin-edge's docs
 * name only the key; this merge is ledge's reading of it.
 */
export function groupMeasurements(c: Config): Step {
  const windowMs = c.time_window === undefined ? 1000 : (num(c, "time_window") as number) * 1000;
  const groups = new Map<string, Record<string, unknown>>();
  let started: number | undefined;
  const flush = (): OutMessage[] => {
    const out = [...groups].map(([topic, o]) => ({ topic, payload: JSON.stringify(o) }));
    groups.clear();
    started = undefined;
    return out;
  };
  return {
    onMessage(m) {
      const o = measurement(m);
      started ??= m.time.getTime();
      groups.set(m.topic, { ...(groups.get(m.topic) ?? {}), ...o });
      return [];
    },
    onInterval: (time) => (started !== undefined && time.getTime() - started >= windowMs ? flush() : []),
  };
}
