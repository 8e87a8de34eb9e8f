/** `[device.frame]` of serial.toml: a declarative binary frame description, every problem reported. */
import type { TableReader } from "../common/fields.ts";
import { locate, type Problems } from "../common/toml-file.ts";
import {
  CHECKSUM_KINDS,
  type ChecksumKind,
  checkSpec,
  FIELD_TYPES,
  type FieldSpec,
  type FieldType,
  type FrameSpec,
} from "./framing/binary.ts";

const FRAME_KEYS = ["start", "length", "end", "checksum", "field"];
const CHECKSUM_KEYS = ["kind", "from", "to", "at"];
const FIELD_KEYS = ["name", "offset", "type", "scale"];

function bytes(t: TableReader, key: string, p: Problems): number[] {
  const v = t.raw(key);
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    p.add(
      locate(t.doc.source, [...t.path, key]),
      `${t.describe()}: '${key}' must be an array of bytes (0..255, e.g. [0xAA, 0xC0])`,
    );
    return [];
  }
  return v as number[];
}

function unknown(t: TableReader, keys: string[], p: Problems): void {
  for (const k of Object.keys(t.table))
    if (!keys.includes(k))
      p.add(
        locate(t.doc.source, [...t.path, k]),
        `${t.describe()}: '${k}' is not a known key (known: ${keys.join(", ")})`,
      );
}

/** The frame description, or undefined (with its problems recorded) when it is invalid. */
export function frameSpec(f: TableReader, p: Problems): FrameSpec | undefined {
  const before = p.list.length;
  unknown(f, FRAME_KEYS, p);
  const start = bytes(f, "start", p);
  const end = bytes(f, "end", p);
  const length = p.try(() => f.int("length", { min: 1, max: 4096 }), 0);
  const c = p.try(() => f.sub("checksum"), undefined);
  if (c) unknown(c, CHECKSUM_KEYS, p);
  const checksum = c
    ? {
        kind: p.try(() => c.str("kind", { choices: CHECKSUM_KINDS }), "none") as ChecksumKind,
        from: p.try(() => c.int("from", { min: 0 }), 0),
        to: p.try(() => c.int("to", { min: 0 }), 0),
        at: p.try(() => c.int("at", { min: 0 }), 0),
      }
    : { kind: "none" as const, from: 0, to: 0, at: 0 };
  const fields: FieldSpec[] = p
    .try(() => f.tables("field"), [])
    .map((t) => {
      unknown(t, FIELD_KEYS, p);
      return {
        name: p.try(
          () => t.str("name", { pattern: /^[^/#+.\s]+(\.[^/#+.\s]+)?$/, hint: "'series' or 'group.series'" }),
          "",
        ),
        offset: p.try(() => t.int("offset", { min: 0 }), 0),
        type: p.try(() => t.str("type", { choices: FIELD_TYPES }), "uint8") as FieldType,
        scale: p.try(() => t.num("scale", { default: 1 }), 1),
      };
    });
  if (fields.length === 0)
    p.add(locate(f.doc.source, f.path), `${f.describe()}: a frame needs at least one [[device.frame.field]]`);
  if (p.list.length > before) return undefined;
  const spec: FrameSpec = { start, length, end, checksum, fields };
  const why = checkSpec(spec);
  if (why) p.add(locate(f.doc.source, f.path), `${f.describe()}: ${why}`);
  return why ? undefined : spec;
}
