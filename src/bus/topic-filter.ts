/** MQTT topic validation and filter matching ([MQTT-4.7]). */

export function topicError(topic: string): string | undefined {
  if (topic.length === 0) return "topic is empty";
  if (topic.includes("+") || topic.includes("#")) return `topic '${topic}' contains a wildcard (+ or #)`;
  if (topic.includes("\u0000")) return "topic contains a NUL character";
  if (Buffer.byteLength(topic) > 65535) return "topic is longer than 65535 bytes";
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

export function matches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  const f = filter.split("/");
  const t = topic.split("/");
  // [MQTT-4.7.2-1] wildcards at the first level do not match topics starting with '$'
  if ((f[0] === "#" || f[0] === "+") && topic.startsWith("$")) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === "#") return true;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}
