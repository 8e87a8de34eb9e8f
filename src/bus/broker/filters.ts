import { filterError, topicError } from "../topic-filter.ts";

/** `$share/<group>/<filter>` split up [MQTT-4.8.2], or an error text. */
export function parseFilter(
  filter: string,
  maxLevels: number,
): { topicFilter: string; group?: string } | { error: string } {
  let topicFilter = filter;
  let group: string | undefined;
  if (filter.startsWith("$share/")) {
    const slash = filter.indexOf("/", 7);
    group = slash === -1 ? "" : filter.slice(7, slash);
    // [MQTT-4.8.2-1] a share name is at least one character, [MQTT-4.8.2-2] without / + #
    if (!group || group.includes("+") || group.includes("#"))
      return { error: `invalid shared subscription '${filter}'` };
    topicFilter = filter.slice(slash + 1);
  }
  const err = filterError(topicFilter) ?? levelsError(topicFilter, maxLevels);
  if (err) return { error: err };
  return group === undefined ? { topicFilter } : { topicFilter, group };
}

export function topicNameError(topic: string, maxLevels: number): string | undefined {
  return topicError(topic) ?? levelsError(topic, maxLevels);
}

function levelsError(s: string, max: number): string | undefined {
  let levels = 1;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 47) levels++;
  return levels > max ? `more than ${max} topic levels` : undefined;
}
