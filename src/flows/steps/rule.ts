/**
 * `rule`: safe local control. When a condition on a measurement becomes true, send a te/ command
 * (e.g. `modbus_write`) — unless an interlock holds, the last action is younger than
 * `min_interval`, or the rule is in `dry_run`. Every decision that matters is recorded as a te/
 * event (`fired`, `dry-run`, `blocked`), so what the edge did on its own is visible upstream once
 * the cloud is back; the rule itself needs nothing but the local bus.
 *
 * Interlocks fail safe: an interlock whose series has never been seen, or was last seen longer than
 * `interlock_max_age` ago, blocks like one that holds.
 */
import type { FlowMessage, OutMessage, Step } from "../types.ts";
import { bool, type Config, jsonOf, ms, StepConfigError, series, str, topicMatches } from "./common.ts";

interface Condition {
  topic?: string;
  series: string;
  test: (v: number) => boolean;
  text: string;
}

const OPS = ["above", "below", "at_least", "at_most", "equals", "not_equals"] as const;

function condition(raw: unknown, where: string): Condition {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new StepConfigError(`${where} must be a table like { series = "temperature", above = 30 }`);
  const c = raw as Config;
  const name = str(c, "series");
  const ops = OPS.filter((o) => c[o] !== undefined);
  if (ops.length !== 1) throw new StepConfigError(`${where} needs exactly one of ${OPS.join(", ")}`);
  const op = ops[0] as (typeof OPS)[number];
  const x = c[op];
  if (typeof x !== "number") throw new StepConfigError(`${where}.${op} must be a number`);
  const test = {
    above: (v: number) => v > x,
    below: (v: number) => v < x,
    at_least: (v: number) => v >= x,
    at_most: (v: number) => v <= x,
    equals: (v: number) => v === x,
    not_equals: (v: number) => v !== x,
  }[op];
  return {
    topic: c.topic === undefined ? undefined : str(c, "topic"),
    series: name,
    test,
    text: `${name} ${op.replace("_", " ")} ${x}`,
  };
}

export function rule(c: Config): Step {
  const name = str(c, "name", "rule");
  const when = condition(c.when, "config.when");
  const cmd = c.command as Config | undefined;
  if (!cmd || typeof cmd !== "object") throw new StepConfigError("config.command must be { topic, payload }");
  const cmdTopic = str(cmd, "topic");
  if (!/^[^/]+\/[^/]*\/[^/]*\/[^/]*\/[^/]*\/cmd\/[^/+#]+$/.test(cmdTopic))
    throw new StepConfigError(
      `config.command.topic '${cmdTopic}' is not a te/ command topic (te/<entity>/cmd/<operation>)`,
    );
  const payload = cmd.payload ?? {};
  if (typeof payload !== "object" || payload === null || Array.isArray(payload))
    throw new StepConfigError("config.command.payload must be a table");
  const rawLocks = c.interlocks ?? [];
  if (!Array.isArray(rawLocks)) throw new StepConfigError("config.interlocks must be a list of conditions");
  const locks = rawLocks.map((l, i) => condition(l, `config.interlocks[${i}]`));
  const minInterval = ms(c, "min_interval", "0s");
  const maxAge = c.interlock_max_age === undefined ? Number.POSITIVE_INFINITY : ms(c, "interlock_max_age");
  const dryRun = bool(c, "dry_run", false);
  const repeat = bool(c, "repeat", false);
  const eventTopic = `${str(c, "event_entity", `${cmdTopic.split("/")[0]}/device/main//`)}/e/${str(c, "event_type", "rule_action")}`;

  const seen = new Map<Condition, { v: number; at: number }>();
  let active = false;
  let lastAction = Number.NEGATIVE_INFINITY;
  let seq = 0;
  const mine = new Set<string>();

  const observe = (m: FlowMessage, values: Map<string, number>) => {
    for (const l of locks) {
      if (l.topic && !topicMatches(l.topic, m.topic)) continue;
      const v = values.get(l.series);
      if (v !== undefined) seen.set(l, { v, at: m.time.getTime() });
    }
  };
  /** The first interlock that blocks, as text; undefined when none does. */
  const blocking = (now: number): string | undefined => {
    for (const l of locks) {
      const s = seen.get(l);
      if (!s) return `interlock ${l.series} unknown`;
      if (now - s.at > maxAge) return `interlock ${l.series} stale`;
      if (l.test(s.v)) return `interlock ${l.text} holds (${s.v})`;
    }
    return undefined;
  };
  const event = (
    action: string,
    text: string,
    m: FlowMessage,
    extra: Record<string, unknown>,
  ): OutMessage => ({
    topic: eventTopic,
    payload: JSON.stringify({
      text: `rule ${name}: ${text}`,
      time: m.time.toISOString(),
      rule: name,
      action,
      ...extra,
    }),
  });

  return {
    onMessage(m) {
      // the state of a command this rule sent: clear it once finished, as a requester must
      if (m.topic.startsWith(`${cmdTopic}/`)) {
        const id = m.topic.slice(cmdTopic.length + 1);
        const status = jsonOf(m.payload)?.status;
        if (mine.has(id) && (status === "successful" || status === "failed")) {
          mine.delete(id);
          return [{ topic: m.topic, payload: "", mqtt: { qos: 1, retain: true } }];
        }
        return [];
      }
      const obj = jsonOf(m.payload);
      if (!obj) return [];
      const values = new Map(series(obj));
      observe(m, values);
      if (when.topic && !topicMatches(when.topic, m.topic)) return [];
      const v = values.get(when.series);
      if (v === undefined) return [];
      const now = m.time.getTime();
      const holds = when.test(v);
      const rising = holds && !active;
      active = holds;
      if (!holds || (!rising && !repeat)) return [];
      if (now - lastAction < minInterval) return [];
      const why = blocking(now);
      const detail = { value: v, command: { topic: cmdTopic, payload } };
      if (why) return [event("blocked", `${when.text} (${v}) but ${why}`, m, { ...detail, reason: why })];
      lastAction = now;
      if (dryRun) return [event("dry-run", `${when.text} (${v}): would send ${cmdTopic}`, m, detail)];
      const id = `ledge-rule-${name}-${now}-${++seq}`;
      mine.add(id);
      return [
        {
          topic: `${cmdTopic}/${id}`,
          payload: JSON.stringify({ ...payload, status: "init" }),
          mqtt: { qos: 1, retain: true },
        },
        event("fired", `${when.text} (${v}): sent ${cmdTopic}/${id}`, m, { ...detail, cmd_id: id }),
      ];
    },
  };
}
