import { crc32 } from "../../foundation/crc32.ts";
import { type QueuedMessage, RECORD_OVERHEAD } from "./types.ts";

/**
 * On-disk record: `len u32le | crc u32le | flags u8 | topicLen u16le | topic | payload`, where
 * `len` counts the bytes after the crc and `crc` is CRC-32 over them. A torn write shows up as
 * a short record or a crc mismatch.
 */
const HEADER = 8;

/** The record's head (everything but the payload), so the payload is written without a copy. */
export function encodeHead(msg: QueuedMessage): Buffer {
  const topicLen = Buffer.byteLength(msg.topic);
  const head = Buffer.allocUnsafe(RECORD_OVERHEAD + topicLen);
  head.writeUInt32LE(3 + topicLen + msg.payload.byteLength, 0);
  head.writeUInt8((msg.qos & 3) | (msg.retain ? 4 : 0), 8);
  head.writeUInt16LE(topicLen, 9);
  head.write(msg.topic, RECORD_OVERHEAD, "utf8");
  const crc = crc32(msg.payload, crc32(head.subarray(HEADER)));
  head.writeUInt32LE(crc, 4);
  return head;
}

export type Decoded =
  | { ok: true; msg: QueuedMessage; size: number }
  | { ok: false; reason: "short" | "crc" | "format" };

/** Decodes the record at `pos` in `buf` (buf may end early: "short"). The payload is a view. */
export function decodeRecord(buf: Uint8Array, pos: number): Decoded {
  if (buf.byteLength - pos < HEADER) return { ok: false, reason: "short" };
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = view.readUInt32LE(pos);
  if (len < 3) return { ok: false, reason: "format" };
  if (buf.byteLength - pos - HEADER < len) return { ok: false, reason: "short" };
  const body = view.subarray(pos + HEADER, pos + HEADER + len);
  if (crc32(body) !== view.readUInt32LE(pos + 4)) return { ok: false, reason: "crc" };
  const flags = body[0]!;
  const topicLen = body.readUInt16LE(1);
  if (3 + topicLen > len || (flags & 3) > 1) return { ok: false, reason: "format" };
  return {
    ok: true,
    size: HEADER + len,
    msg: {
      topic: body.toString("utf8", 3, 3 + topicLen),
      payload: body.subarray(3 + topicLen),
      qos: (flags & 3) as 0 | 1,
      retain: (flags & 4) !== 0,
    },
  };
}

/** Total size of the record whose 8-byte header is `header`. */
export function sizeFromHeader(header: Uint8Array): number {
  return HEADER + Buffer.from(header.buffer, header.byteOffset, 4).readUInt32LE(0);
}

export const RECORD_HEADER_BYTES = HEADER;
