import { bad, type LineParser, type Values } from "./types.ts";

/**
 * One JSON object per line, already close to Thin Edge JSON: numbers become series, objects of
 * numbers become groups; strings and booleans are skipped (a `time` from the device is not trusted,
 * readings carry the read time). Deeper nesting or no number at all is bad.
 */
export function jsonParser(): LineParser {
  return (line) => {
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch (e) {
      return bad(`invalid JSON: ${(e as Error).message}`);
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return bad("not a JSON object");
    const values: Values = {};
    let n = 0;
    for (const [k, v] of Object.entries(doc)) {
      if (typeof v === "number") {
        if (!Number.isFinite(v)) return bad(`'${k}' is not a finite number`);
        values[k] = v;
        n++;
      } else if (typeof v === "object" && v !== null && !Array.isArray(v)) {
        const group: Record<string, number> = {};
        for (const [s, sv] of Object.entries(v)) {
          if (typeof sv === "number") group[s] = sv;
          else if (typeof sv === "object" && sv !== null)
            return bad(`'${k}.${s}' nests deeper than one group`);
        }
        if (Object.keys(group).length > 0) {
          values[k] = group;
          n++;
        }
      }
    }
    return n === 0 ? bad("no numeric value") : { ok: true, values };
  };
}
