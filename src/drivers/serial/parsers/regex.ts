import { bad, type LineParser, put, toNumber, type Values } from "./types.ts";

/**
 * A regular expression with named groups: every named group that captured a number becomes a
 * series; `group__series` nests into a group (named groups cannot contain dots). A line that does
 * not match, or matches without any numeric group, is bad.
 */
export function regexParser(pattern: RegExp): LineParser {
  return (line) => {
    const m = pattern.exec(line);
    if (!m) return bad("does not match the pattern");
    const values: Values = {};
    let n = 0;
    for (const [name, text] of Object.entries(m.groups ?? {})) {
      if (text === undefined) continue;
      const v = toNumber(text);
      if (v === undefined) continue;
      const err = put(values, name, v, "__");
      if (err) return bad(err);
      n++;
    }
    return n === 0 ? bad("no named group captured a number") : { ok: true, values };
  };
}

/** Compiles a user pattern; throws with the reason when it is invalid or has no named group. */
export function compilePattern(source: string): RegExp {
  const re = new RegExp(source);
  if (!/\(\?<[A-Za-z_$][\w$]*>/.test(source)) throw new Error("the pattern has no named group (?<name>...)");
  return re;
}
