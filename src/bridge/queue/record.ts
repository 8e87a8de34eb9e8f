import { crc32 } from "../../foundation/crc32.ts";
import { type QueuedMessage, RECORD_OVERHEAD } from "./types.ts";

/**
 * On-disk record (all little-endian):
 *
 *     magic "LQ" | len u32 | crc u32 | seq u48 | time u48 | flags u8 | topicLen u16 | topic | payload
 *
 * `len` counts the bytes after the crc; `crc` is CRC-32 over the 4 length bytes and those bytes,
 * so a damaged length is caught too. `seq` makes every record self-describing: after damage the
 * reader finds the next record by its magic and a matching CRC, and the seq gap tells exactly how
 * many records were lost. `time` is the append time in ms (oldest queued age, compaction).
 */
const HEADER = 10;
const MAGIC = Buffer.from("LQ", "latin1");
/** Bytes of the body before the topic: seq, time, flags, topic length. */
const BODY_FIXED = RECORD_OVERHEAD - HEADER;
/** Larger than any MQTT message (256 MiB): a length beyond it is damage. */
const MAX_LEN = 256 << 20;

/** Magic, length and CRC: the length says how far the record reaches. */
export const RECORD_HEADER_BYTES = HEADER;

/** Header and body up to the topic length: enough to know a record's size, seq and time. */
export const RECORD_PEEK_BYTES = RECORD_OVERHEAD;

/** The record's head (everything but the payload), so the payload is written without a copy. */
export function encodeHead(msg: QueuedMessage, seq: number, time: number): Buffer {
  const topicLen = Buffer.byteLength(msg.topic);
  const head = Buffer.allocUnsafe(RECORD_OVERHEAD + topicLen);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(BODY_FIXED + topicLen + msg.payload.byteLength, 2);
  head.writeUIntLE(seq, 10, 6);
  head.writeUIntLE(time, 16, 6);
  head.writeUInt8((msg.qos & 3) | (msg.retain ? 4 : 0), 22);
  head.writeUInt16LE(topicLen, 23);
  head.write(msg.topic, RECORD_OVERHEAD, "utf8");
  const crc = crc32(msg.payload, crc32(head.subarray(HEADER), crc32(head.subarray(2, 6))));
  head.writeUInt32LE(crc, 6);
  return head;
}

export type BadReason = "short" | "magic" | "crc" | "format";

export type Decoded =
  | { ok: true; msg: QueuedMessage; seq: number; time: number; size: number }
  | { ok: false; reason: BadReason };

const view = (buf: Uint8Array) => Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);

/** Decodes the record at `pos` in `buf` (buf may end early: "short"). The payload is a view. */
export function decodeRecord(buf: Uint8Array, pos: number): Decoded {
  if (buf.byteLength - pos < HEADER) return { ok: false, reason: "short" };
  const v = view(buf);
  if (v[pos] !== MAGIC[0] || v[pos + 1] !== MAGIC[1]) return { ok: false, reason: "magic" };
  const len = v.readUInt32LE(pos + 2);
  if (len < BODY_FIXED || len > MAX_LEN) return { ok: false, reason: "format" };
  if (buf.byteLength - pos - HEADER < len) return { ok: false, reason: "short" };
  const body = v.subarray(pos + HEADER, pos + HEADER + len);
  if (crc32(body, crc32(v.subarray(pos + 2, pos + 6))) !== v.readUInt32LE(pos + 6))
    return { ok: false, reason: "crc" };
  const flags = body[12]!;
  const topicLen = body.readUInt16LE(13);
  if (BODY_FIXED + topicLen > len || (flags & 3) > 1) return { ok: false, reason: "format" };
  return {
    ok: true,
    size: HEADER + len,
    seq: body.readUIntLE(0, 6),
    time: body.readUIntLE(6, 6),
    msg: {
      topic: body.toString("utf8", BODY_FIXED, BODY_FIXED + topicLen),
      payload: body.subarray(BODY_FIXED + topicLen),
      qos: (flags & 3) as 0 | 1,
      retain: (flags & 4) !== 0,
    },
  };
}

/** Size, seq and time from the first RECORD_PEEK_BYTES of a record already known to be valid. */
export function peekRecord(buf: Uint8Array): { size: number; seq: number; time: number } {
  const v = view(buf);
  return { size: HEADER + v.readUInt32LE(2), seq: v.readUIntLE(10, 6), time: v.readUIntLE(16, 6) };
}

/**
 * Resynchronisation after damage: the position of the first valid record at or after `from`
 * (a magic whose record's CRC checks out) and its seq; undefined when `buf` holds none.
 */
export function nextValid(buf: Uint8Array, from: number): { pos: number; seq: number } | undefined {
  const v = view(buf);
  for (let p = v.indexOf(MAGIC, from); p >= 0; p = v.indexOf(MAGIC, p + 1)) {
    const d = decodeRecord(v, p);
    if (d.ok) return { pos: p, seq: d.seq };
  }
  return undefined;
}
