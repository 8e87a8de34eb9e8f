/**
 * `rename`: renames series in measurement payloads (`series = { temp = "temperature", "env.h" = "humidity" }`).
 * `route`: sends messages to new topics by filter, first match wins (`routes = [{ filter =
 * "sensors/+/temp", topic = "te/device/{1}///m/temperature" }]`; `{n}` is the n-th wildcard level,
 * `{#}` what `#` matched); `drop_unmatched = true` drops what matches no route.
 */
import type { Step } from "../types.ts";
import {
  bool,
  type Config,
  measurement,
  StepConfigError,
  series,
  setSeries,
  str,
  topicMatches,
} from "./common.ts";

export function rename(c: Config): Step {
  const map = c.series ?? {};
  if (typeof map !== "object" || map === null || Array.isArray(map))
    throw new StepConfigError("config.series must be a table of old = new names");
  const names = Object.entries(map as Record<string, unknown>).map(([k, v]) => {
    if (typeof v !== "string" || !v) throw new StepConfigError(`config.series.${k} must be a name`);
    return [k, v] as const;
  });
  return {
    onMessage(m) {
      const o = measurement(m);
      const have = new Map(series(o));
      let changed = false;
      for (const [from, to] of names) {
        const v = have.get(from);
        if (v === undefined) continue;
        setSeries(o, from, undefined);
        setSeries(o, to, v);
        changed = true;
      }
      return changed ? { ...m, payload: JSON.stringify(o) } : m;
    },
  };
}

/** The levels the wildcards of `filter` matched in `topic`. */
function captures(filter: string, topic: string): { plus: string[]; rest: string } {
  const f = filter.split("/");
  const t = topic.split("/");
  const plus: string[] = [];
  let rest = "";
  f.forEach((level, i) => {
    if (level === "+") plus.push(t[i] ?? "");
    else if (level === "#") rest = t.slice(i).join("/");
  });
  return { plus, rest };
}

export function route(c: Config): Step {
  const raw = c.routes;
  if (!Array.isArray(raw)) throw new StepConfigError("config.routes must be a list of { filter, topic }");
  const routes = raw.map((r, i) => {
    if (typeof r !== "object" || r === null) throw new StepConfigError(`config.routes[${i}] must be a table`);
    return { filter: str(r as Config, "filter"), topic: str(r as Config, "topic") };
  });
  const dropUnmatched = bool(c, "drop_unmatched", false);
  return {
    onMessage(m) {
      const r = routes.find((x) => topicMatches(x.filter, m.topic));
      if (!r) return dropUnmatched ? [] : m;
      const { plus, rest } = captures(r.filter, m.topic);
      const topic = r.topic.replace(/\{(\d+|#)\}/g, (_s, k: string) =>
        k === "#" ? rest : (plus[Number(k) - 1] ?? ""),
      );
      return { ...m, topic };
    },
  };
}
