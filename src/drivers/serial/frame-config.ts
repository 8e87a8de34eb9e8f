/** `[device.frame]` of serial.toml: a declarative binary frame description, every problem reported. */
import type { DeviceTable } from "../common/device-file.ts";
import { CHECKSUM_KINDS, checkSpec, FIELD_TYPES, type FieldSpec, type FrameSpec } from "./framing/binary.ts";

const BYTES = { min: 0, max: 255, optional: true, hint: "an array of bytes (0..255, e.g. [0xAA, 0xC0])" };

function field(t: DeviceTable): FieldSpec | undefined {
  t.keys(["name", "offset", "type", "scale"]);
  const name = t.str("name", { pattern: /^[^/#+.\s]+(\.[^/#+.\s]+)?$/, hint: "'series' or 'group.series'" });
  const offset = t.int("offset", { min: 0 });
  const type = t.oneOf("type", FIELD_TYPES);
  const scale = t.num("scale", { default: 1 });
  if (name === undefined || offset === undefined || type === undefined || scale === undefined)
    return undefined;
  return { name, offset, type, scale };
}

/** The frame description, or undefined (with its problems recorded) when it is invalid. */
export function frameSpec(f: DeviceTable): FrameSpec | undefined {
  const before = f.file.problems.length;
  f.keys(["start", "length", "end", "checksum", "field"]);
  const start = f.ints("start", BYTES) ?? [];
  const end = f.ints("end", BYTES) ?? [];
  const length = f.int("length", { min: 1, max: 4096 }) ?? 0;
  const c = f.sub("checksum");
  c?.keys(["kind", "from", "to", "at"]);
  const checksum = c
    ? {
        kind: c.oneOf("kind", CHECKSUM_KINDS) ?? "none",
        from: c.int("from", { min: 0 }) ?? 0,
        to: c.int("to", { min: 0 }) ?? 0,
        at: c.int("at", { min: 0 }) ?? 0,
      }
    : { kind: "none" as const, from: 0, to: 0, at: 0 };
  const tables = f.tables("field");
  if (tables.length === 0 && !f.has("field"))
    f.report(undefined, "a frame needs at least one [[device.frame.field]]");
  const fields = tables.map(field);
  if (f.file.problems.length > before) return undefined;
  const spec: FrameSpec = { start, length, end, checksum, fields: fields.filter((x) => x !== undefined) };
  const why = checkSpec(spec);
  if (why) f.report(undefined, why);
  return why ? undefined : spec;
}
