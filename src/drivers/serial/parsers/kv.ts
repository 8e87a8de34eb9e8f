import { bad, type LineParser, put, toNumber, type Values } from "./types.ts";

export interface KvOptions {
  /** Separates pairs; default: whitespace, ',' or ';'. */
  separator?: string;
  /** Separates a key from its value; default '='. */
  assign?: string;
}

/**
 * `key=value` pairs: `t=21.5 h=40 status=ok`. Numeric values become series (`group.series` nests),
 * other values are skipped. A line with no numeric pair, or with a token that is not a pair, is bad.
 */
export function kvParser(o: KvOptions = {}): LineParser {
  const assign = o.assign ?? "=";
  const split = (line: string) =>
    (o.separator === undefined ? line.split(/[\s,;]+/) : line.split(o.separator)).map((t) => t.trim());
  return (line) => {
    const values: Values = {};
    let n = 0;
    for (const token of split(line)) {
      if (token === "") continue;
      const at = token.indexOf(assign);
      if (at <= 0) return bad(`'${token.slice(0, 40)}' is not a key${assign}value pair`);
      const key = token.slice(0, at).trim();
      const v = toNumber(token.slice(at + assign.length));
      if (v === undefined) continue;
      const err = put(values, key, v, ".");
      if (err) return bad(err);
      n++;
    }
    return n === 0 ? bad("no numeric key=value pair") : { ok: true, values };
  };
}
