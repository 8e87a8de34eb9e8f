// biome-ignore-all lint/suspicious/noTemplateCurlyInString: thin-edge templates are `${…}` inside plain strings
/**
 * thin-edge's `${…}` path expressions over a command message, and its shell-like command-line
 * split. Shared by the agent's workflows (`script`, `operation`, `input.*`, `output.*`) and the
 * Cumulocity mapper's operation files (`command`), so it lives below both.
 */

/** The message a template is evaluated against: `${.topic…}` and `${.payload…}`. */
export interface TemplateMessage {
  topic: string;
  payload: unknown;
}

const EXPR = /\$\{([^}]*)\}/g;

/**
 * `.topic` parts: `te/device/main///cmd/op/id` → root_prefix `te`, target `device/main//`,
 * operation `op`, cmd_id `id`. Topics of another shape only answer `${.topic}`.
 */
function topicPart(topic: string, part: string): string | undefined {
  const p = topic.split("/");
  const isCmd = p.length === 8 && p[5] === "cmd";
  switch (part) {
    case "root_prefix":
      return isCmd ? p[0] : undefined;
    case "target":
      return isCmd ? p.slice(1, 5).join("/") : undefined;
    case "operation":
      return isCmd ? p[6] : undefined;
    case "cmd_id":
      return isCmd ? p[7] : undefined;
    default:
      return undefined;
  }
}

/** Splits `a.b[1].c[-1]` into keys and indexes; undefined when ill-formed. */
function pathSteps(path: string): (string | number)[] | undefined {
  const steps: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(-?\d+)\]|\./g;
  let m: RegExpExecArray | null;
  let last = 0;
  for (;;) {
    m = re.exec(path);
    if (!m) break;
    if (m.index !== last) return undefined;
    last = re.lastIndex;
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
  }
  return last === path.length ? steps : undefined;
}

function walk(value: unknown, steps: (string | number)[]): unknown {
  let v = value;
  for (const s of steps) {
    if (typeof s === "number") {
      if (!Array.isArray(v)) return undefined;
      v = v[s < 0 ? v.length + s : s];
    } else {
      if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
      v = (v as Record<string, unknown>)[s];
    }
  }
  return v;
}

export type Resolved = { found: true; value: unknown } | { found: false };

/**
 * One expression (without `${` `}`): `.`, `.topic[.part]`, `.payload[.path]`. An unknown root or
 * an ill-formed path is not found (the caller leaves it verbatim); an unknown payload path is
 * found as undefined (it expands to the empty string).
 */
export function resolvePath(expr: string, msg: TemplateMessage): Resolved {
  const e = expr.trim();
  if (e === ".") return { found: true, value: { topic: msg.topic, payload: msg.payload } };
  if (e === ".topic") return { found: true, value: msg.topic };
  if (e.startsWith(".topic.")) {
    const v = topicPart(msg.topic, e.slice(7));
    return v === undefined ? { found: false } : { found: true, value: v };
  }
  if (e === ".payload") return { found: true, value: msg.payload };
  if (e.startsWith(".payload.") || e.startsWith(".payload[")) {
    const steps = pathSteps(e.slice(8));
    if (!steps) return { found: false };
    return { found: true, value: walk(msg.payload, steps) };
  }
  return { found: false };
}

/** A resolved value as text: strings raw, undefined/null empty, anything else as JSON. */
export function asText(v: unknown): string {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Expands every `${…}` in `text`; unknown roots and ill-formed expressions stay verbatim. */
export function expand(text: string, msg: TemplateMessage): string {
  return text.replace(EXPR, (whole, expr: string) => {
    const r = resolvePath(expr, msg);
    return r.found ? asText(r.value) : whole;
  });
}

/**
 * A template that is exactly one expression yields the value itself (an object for
 * `input = "${.payload.x}"`); anything else yields the expanded text.
 */
export function expandValue(value: unknown, msg: TemplateMessage): unknown {
  if (typeof value === "string") {
    const m = /^\$\{([^}]*)\}$/.exec(value);
    if (m) {
      const r = resolvePath(m[1]!, msg);
      if (r.found) return r.value;
    }
    return expand(value, msg);
  }
  if (Array.isArray(value)) return value.map((v) => expandValue(v, msg));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandValue(v, msg)]));
  return value;
}

/**
 * Splits a command line as a POSIX shell would split words (single quotes literal, double quotes
 * with `\` escapes, backslash outside quotes), without running a shell. Errors on an open quote.
 */
export function splitCommandLine(line: string): { ok: true; value: string[] } | { ok: false; error: string } {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { ok: false, error: `unterminated ' in: ${line}` };
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) {
          cur += line[i + 1];
          i += 2;
        } else {
          cur += d;
          i++;
        }
      }
      if (!closed) return { ok: false, error: `unterminated " in: ${line}` };
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) out.push(cur);
  return { ok: true, value: out };
}

/** A command line split into words, each expanded against the message (thin-edge's order). */
export function commandArgv(
  line: string,
  msg: TemplateMessage,
): { ok: true; value: string[] } | { ok: false; error: string } {
  const words = splitCommandLine(line);
  if (!words.ok) return words;
  return { ok: true, value: words.value.map((w) => expand(w, msg)) };
}
