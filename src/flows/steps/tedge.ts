/**
 * The generic built-in steps thin-edge ships (TEDGE-FACTS §10.4), reimplemented as plain steps.
 * The Cumulocity ones (`into-c8y-*`) are in `c8y.ts`.
 */
import { MAIN_DEVICE } from "../../api/topics.ts";
import { bytes, jsonObject, type OutMessage, type Step, text } from "../types.ts";
import { type Config, bool as flag, measurement, num, str, strList, topicMatches } from "./common.ts";

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
      // thin-edge: a payload that is not a JSON object passes unchanged (an alarm clear).
      const o = jsonObject(m.payload);
      if (!o) return m;
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

/**
 * `update-context`: a message on one of `topics` (default: all) is stored in `context.mapper`
 * under its topic and goes no further (an empty payload deletes the key); other messages pass.
 */
export function updateContext(c: Config): Step {
  const topics = c.topics === undefined ? undefined : strList(c, "topics");
  return {
    onMessage(m, ctx) {
      if (topics && !topics.some((f) => topicMatches(f, m.topic))) return m;
      if (m.payload.byteLength === 0) ctx.mapper.remove(m.topic);
      else {
        let value: unknown;
        try {
          value = JSON.parse(text(m.payload));
        } catch {
          throw new Error(`cannot update the context from '${m.topic}': not a JSON payload`);
        }
        ctx.mapper.set(m.topic, value);
      }
      return [];
    },
  };
}

/**
 * `cache-early-messages` (thin-edge's `MessageCache`): holds the messages of an entity until its
 * registration data is in `context.mapper` under its topic id (`device/child//`, as the mapper's
 * entity cache stores it). The main device and topics outside `<topic_root>/` pass at once; what
 * was held leaves in order when the registration is stored (`onContextUpdate`) and is forgotten
 * when it is removed. An entity already in the context when a message comes is registered too
 * (a flow reloaded after the registration holds nothing).
 */
export function cacheEarlyMessages(c: Config): Step {
  const root = str(c, "topic_root", "te");
  const max = num(c, "max_messages", 1000);
  const held = new Map<string, OutMessage[]>();
  const birthed = new Set<string>();
  return {
    onMessage(m, ctx) {
      const p = m.topic.split("/");
      if (p[0] !== root || p.length < 5) return m;
      const entity = p.slice(1, 5).join("/");
      if (entity === MAIN_DEVICE || birthed.has(entity)) return m;
      if (ctx.mapper.get(entity) !== null) {
        birthed.add(entity);
        return m;
      }
      const list = held.get(entity) ?? [];
      if (list.length >= max) throw new Error(`more than ${max} messages held for unregistered ${entity}`);
      list.push({ ...m, payload: bytes(m.payload) });
      held.set(entity, list);
      return [];
    },
    onContextUpdate(u) {
      if (u.kind === "removed") {
        birthed.delete(u.key);
        held.delete(u.key);
        return [];
      }
      birthed.add(u.key);
      const list = held.get(u.key) ?? [];
      held.delete(u.key);
      return list;
    },
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
