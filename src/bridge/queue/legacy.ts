import {
  closeSync,
  fdatasyncSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { crc32 } from "../../foundation/crc32.ts";
import { encodeHead } from "./record.ts";
import { segmentPath } from "./segment.ts";

const SUFFIX = ".seg";

/**
 * Queues written before records carried their seq (`<base>.seg`: `len u32 | crc u32 | flags u8 |
 * topicLen u16 | topic | payload`, seq = base + position) are rewritten once into the current format,
 * keeping every record from `next` on. Rewriting is idempotent, so a crash halfway repeats it.
 * Returns how many records were carried over.
 */
export function convertLegacySegments(dir: string, next: number, now: number): number {
  const bases = readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX) && /^\d+$/.test(f.slice(0, -SUFFIX.length)))
    .map((f) => Number(f.slice(0, -SUFFIX.length)))
    .sort((a, b) => a - b);
  let carried = 0;
  for (const base of bases) {
    const path = join(dir, `${String(base).padStart(16, "0")}${SUFFIX}`);
    const buf = readFileSync(path);
    const parts: Uint8Array[] = [];
    let first: number | undefined;
    for (let pos = 0, seq = base; pos + 8 <= buf.byteLength; seq++) {
      const len = buf.readUInt32LE(pos);
      const body = buf.subarray(pos + 8, pos + 8 + len);
      // The old format stops at its first bad record (it had no way to resynchronise).
      if (len < 3 || body.byteLength < len || crc32(body) !== buf.readUInt32LE(pos + 4)) break;
      pos += 8 + len;
      if (seq < next) continue;
      const topicLen = body.readUInt16LE(1);
      const msg = {
        topic: body.toString("utf8", 3, 3 + topicLen),
        payload: body.subarray(3 + topicLen),
        qos: (body[0]! & 1) as 0 | 1,
        retain: (body[0]! & 4) !== 0,
      };
      first ??= seq;
      parts.push(encodeHead(msg, seq, now), msg.payload);
      carried++;
    }
    if (first !== undefined) {
      const fd = openSync(segmentPath(dir, first), "w");
      try {
        for (const p of parts) writeSync(fd, p);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    unlinkSync(path);
  }
  return carried;
}
