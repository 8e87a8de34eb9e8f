/** MQTT topic validation and filter matching ([MQTT-4.7]). */

const SLASH = 47;
const HASH = 35;
const PLUS = 43;
const DOLLAR = 36;

export function topicError(topic: string): string | undefined {
  if (topic.length === 0) return "topic is empty";
  if (topic.includes("+") || topic.includes("#")) return `topic '${topic}' contains a wildcard (+ or #)`;
  if (topic.includes("\u0000")) return "topic contains a NUL character";
  // A UTF-16 unit is at most 3 bytes of UTF-8: shorter topics need no count.
  if (topic.length > 21_845 && Buffer.byteLength(topic) > 65535) return "topic is longer than 65535 bytes";
  return undefined;
}

export function filterError(filter: string): string | undefined {
  if (filter.length === 0) return "topic filter is empty";
  if (filter.includes("\u0000")) return "topic filter contains a NUL character";
  const levels = filter.split("/");
  for (const [i, level] of levels.entries()) {
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1))
      return `'#' must be the last level on its own in '${filter}'`;
    if (level.includes("+") && level !== "+") return `'+' must stand alone in its level in '${filter}'`;
  }
  return undefined;
}

/** A filter whose first level is a lone wildcard (`#`, `+`, `#/...`, `+/...`). */
function wildFirst(filter: string): boolean {
  const c = filter.charCodeAt(0);
  return (c === HASH || c === PLUS) && (filter.length === 1 || filter.charCodeAt(1) === SLASH);
}

/** Runs per message per subscription and route: compares level by level in place, no split. */
export function matches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  // [MQTT-4.7.2-1] wildcards at the first level do not match topics starting with '$'
  if (topic.charCodeAt(0) === DOLLAR && wildFirst(filter)) return false;
  let f = 0;
  let t = 0;
  for (;;) {
    let fEnd = filter.indexOf("/", f);
    if (fEnd === -1) fEnd = filter.length;
    const lone = fEnd - f === 1 ? filter.charCodeAt(f) : 0;
    if (lone === HASH) return true;
    if (t > topic.length) return false;
    let tEnd = topic.indexOf("/", t);
    if (tEnd === -1) tEnd = topic.length;
    if (lone !== PLUS) {
      if (fEnd - f !== tEnd - t) return false;
      for (let i = 0; i < fEnd - f; i++)
        if (filter.charCodeAt(f + i) !== topic.charCodeAt(t + i)) return false;
    }
    f = fEnd + 1;
    t = tEnd + 1;
    if (f > filter.length) return t > topic.length;
  }
}
