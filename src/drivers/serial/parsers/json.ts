import { bad, type LineParser, put, type Values } from "./types.ts";

export interface JsonOptions {
  /** The device's own time field: never a value; the reading's time when `deviceTime`. */
  timeField?: string;
  /** Take the measurement time from `timeField`: a number is unix seconds, a string ISO 8601. */
  deviceTime?: boolean;
  /** Arrays of numbers become `<key>_0`, `<key>_1`, ... (`index`, the default) or are skipped (`ignore`). */
  arrays?: "index" | "ignore";
  /**
   * Only these values, each `series name` (or `group.series`) → path in the document (`data.0`,
   * `env.t`); a path that is missing in a document is left out, a non-number there is bad.
   */
  select?: Record<string, string>;
}

/** The value at a dotted path (`data.0`, `env.t`): object keys and array indices. */
export function atPath(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const part of path.split(".")) {
    if (Array.isArray(v)) v = /^\d+$/.test(part) ? v[Number(part)] : undefined;
    else if (typeof v === "object" && v !== null) v = (v as Record<string, unknown>)[part];
    else return undefined;
  }
  return v;
}

/** A device time: a number is unix seconds (fractions allowed), a string ISO 8601 with a zone. */
export function deviceTimeOf(v: unknown): number | string {
  if (typeof v === "number" && Number.isFinite(v) && v > 0) return Math.round(v * 1000);
  if (
    typeof v === "string" &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v)
  ) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  return `time ${JSON.stringify(v)?.slice(0, 40)} is neither unix seconds nor an ISO 8601 time with a zone`;
}

function numbersOf(
  key: string,
  v: unknown[],
  into: Record<string, number>,
  arrays: "index" | "ignore",
): void {
  if (arrays === "ignore") return;
  v.forEach((x, i) => {
    if (typeof x === "number" && Number.isFinite(x)) into[`${key}_${i}`] = x;
  });
}

/** Numbers and one level of groups of the document's own keys (`select` unset). */
function allValues(doc: Record<string, unknown>, o: JsonOptions): Values | string {
  const values: Values = {};
  const arrays = o.arrays ?? "index";
  const top: Record<string, number> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === o.timeField) continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return `'${k}' is not a finite number`;
      values[k] = v;
    } else if (Array.isArray(v)) numbersOf(k, v, top, arrays);
    else if (typeof v === "object" && v !== null) {
      const group: Record<string, number> = {};
      for (const [s, sv] of Object.entries(v)) {
        if (typeof sv === "number") group[s] = sv;
        else if (Array.isArray(sv)) numbersOf(s, sv, group, arrays);
        else if (typeof sv === "object" && sv !== null) return `'${k}.${s}' nests deeper than one group`;
      }
      if (Object.keys(group).length > 0) values[k] = group;
    }
  }
  for (const [k, v] of Object.entries(top)) {
    if (k in values) return `'${k}' is both a key and an array element`;
    values[k] = v;
  }
  return values;
}

function selected(doc: Record<string, unknown>, select: Record<string, string>): Values | string {
  const values: Values = {};
  for (const [name, path] of Object.entries(select)) {
    const v = atPath(doc, path);
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v)) return `'${path}' is not a number`;
    const err = put(values, name, v, ".");
    if (err) return err;
  }
  return values;
}

/**
 * One JSON object per document (the framing below finds documents over one or several lines),
 * already close to Thin Edge JSON: numbers become series, objects of numbers become groups,
 * arrays of numbers indexed series; strings and booleans are skipped. With `select`, only the
 * named paths. The device's time field is never a value. No number at all is bad.
 */
export function jsonParser(o: JsonOptions = {}): LineParser {
  const opts = { ...o, timeField: o.timeField ?? "time" };
  return (text) => {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      return bad(`invalid JSON: ${(e as Error).message}`);
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return bad("not a JSON object");
    const obj = doc as Record<string, unknown>;
    const values = opts.select ? selected(obj, opts.select) : allValues(obj, opts);
    if (typeof values === "string") return bad(values);
    if (Object.keys(values).length === 0) return bad("no numeric value");
    if (!opts.deviceTime) return { ok: true, values };
    const raw = atPath(obj, opts.timeField);
    if (raw === undefined) return { ok: true, values };
    const time = deviceTimeOf(raw);
    return typeof time === "string" ? bad(time) : { ok: true, values, time };
  };
}
