/** SmartREST 2.0 CSV records: fields joined by commas, quoted only when they must be. */

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** A CSV field, quoted (with `"` doubled) when it holds a comma, quote, newline or edge space. */
export function field(value: string): string {
  return NEEDS_QUOTES.test(value) ? quoted(value) : value;
}

/** Always quoted, as thin-edge writes free text such as an event's. */
export function quoted(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/** One SmartREST record from a template id and fields (already-quoted fields pass through `raw`). */
export function record(template: number, ...fields: (string | { raw: string })[]): string {
  let out = String(template);
  for (const f of fields) out += `,${typeof f === "string" ? field(f) : f.raw}`;
  return out;
}

/** Splits one SmartREST line into fields, honouring quotes; the inverse of `record`. */
export function parseRecord(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let value = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          value += line.slice(i);
          i = line.length;
          break;
        }
        value += line.slice(i, q);
        i = q + 1;
        if (line[i] === '"') {
          value += '"';
          i++;
        } else break;
      }
      const comma = line.indexOf(",", i);
      i = comma < 0 ? line.length : comma;
    } else {
      const comma = line.indexOf(",", i);
      value = line.slice(i, comma < 0 ? line.length : comma);
      i = comma < 0 ? line.length : comma;
    }
    fields.push(value);
    if (i >= line.length) return fields;
    i++;
  }
}

export { smartRestTopic } from "../c8y.ts";
