/**
 * A strict, allocation-free walk over one CBOR item, run before cbor-x decodes a frame: it rejects
 * truncation (every declared length is checked against the bytes left, so a forged length cannot make
 * the decoder allocate), indefinite lengths, maps, and tags other than the typed arrays a frame uses.
 */
import { BatchFormatError, TAG } from "./format.ts";

const ALLOWED_TAGS: ReadonlySet<number> = new Set(Object.values(TAG));
const MAX_DEPTH = 4;

/** End offset of the CBOR item starting at `pos`; throws BatchFormatError if it is not acceptable. */
export function scanItem(b: Uint8Array, pos: number, depth = 0): number {
  if (pos >= b.length) throw truncated(pos);
  const head = b[pos]!;
  const major = head >> 5;
  const ai = head & 31;
  let p = pos + 1;
  let arg: number;
  if (ai < 24) arg = ai;
  else if (ai <= 27) {
    const size = 1 << (ai - 24);
    if (p + size > b.length) throw truncated(p);
    arg = 0;
    for (let i = 0; i < size; i++) arg = arg * 256 + b[p + i]!;
    p += size;
  } else if (ai === 31) throw new BatchFormatError(`indefinite-length item at byte ${pos} (not in a frame)`);
  else throw new BatchFormatError(`malformed CBOR head 0x${head.toString(16)} at byte ${pos}`);
  switch (major) {
    case 0:
    case 1:
      return p;
    case 2:
    case 3:
      if (arg > b.length - p) throw truncated(b.length, `${arg}-byte string at byte ${pos}`);
      return p + arg;
    case 4: {
      if (depth >= MAX_DEPTH) throw new BatchFormatError(`arrays nested too deep at byte ${pos}`);
      if (arg > b.length - p) throw truncated(b.length, `${arg}-item array at byte ${pos}`);
      for (let i = 0; i < arg; i++) p = scanItem(b, p, depth + 1);
      return p;
    }
    case 5:
      throw new BatchFormatError(`unexpected map at byte ${pos}`);
    case 6:
      if (!ALLOWED_TAGS.has(arg)) throw new BatchFormatError(`unexpected tag ${arg} at byte ${pos}`);
      if (p >= b.length) throw truncated(p);
      if (b[p]! >> 5 !== 2) throw new BatchFormatError(`tag ${arg} at byte ${pos} must wrap a byte string`);
      return scanItem(b, p, depth + 1);
    default:
      // major 7: false, true, null, undefined and floats (16, 32, 64 bit) are well-formed.
      if ((ai >= 20 && ai <= 23) || (ai >= 25 && ai <= 27)) return p;
      throw new BatchFormatError(`unexpected simple value ${ai} at byte ${pos}`);
  }
}

function truncated(at: number, what?: string): BatchFormatError {
  return new BatchFormatError(
    what ? `truncated frame: ${what} runs past the end` : `truncated frame: data ends at byte ${at}`,
  );
}
