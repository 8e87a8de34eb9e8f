/**
 * Reading logs of any size in bounded memory: lines of a byte stream, and the start of a file's
 * last N lines found by reading backwards from its end.
 */
import type { FileHandle } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";

/** A line longer than this is cut (and the rest dropped): one huge line must not fill memory. */
export const MAX_LINE_CHARS = 64 * 1024;

/**
 * The lines (without `\n`) of a byte stream, a batch per chunk read (one promise per chunk, not
 * per line); a last line without `\n` is a line too.
 */
export async function* streamLines(
  source: AsyncIterable<Uint8Array | string>,
  maxLine = MAX_LINE_CHARS,
): AsyncGenerator<string[]> {
  const decoder = new StringDecoder("utf8");
  let carry = "";
  let cut = false;
  for await (const chunk of source) {
    const text = carry + (typeof chunk === "string" ? chunk : decoder.write(chunk as Buffer));
    const batch: string[] = [];
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      if (!cut) batch.push(text.slice(start, Math.min(nl, start + maxLine)));
      cut = false;
      start = nl + 1;
    }
    carry = text.slice(start);
    if (carry.length > maxLine) {
      if (!cut) batch.push(carry.slice(0, maxLine));
      cut = true;
      carry = "";
    }
    if (batch.length) yield batch;
  }
  carry += decoder.end();
  if (carry && !cut) yield [carry.slice(0, maxLine)];
}

const BLOCK = 64 * 1024;

/**
 * Where the last `n` lines of a file start, and how many lines that is (fewer when the file has
 * fewer). Reads backwards in 64 KiB blocks, so the cost is the tail, not the file.
 */
export async function tailStart(
  fh: FileHandle,
  size: number,
  n: number,
): Promise<{ offset: number; lines: number }> {
  if (size === 0 || n <= 0) return { offset: size, lines: 0 };
  const buf = Buffer.alloc(BLOCK);
  // a last line without "\n" counts as a line; the "\n" that ends the file does not start one
  const last = Buffer.alloc(1);
  await fh.read(last, 0, 1, size - 1);
  let newlines = last[0] === 0x0a ? -1 : 0;
  let pos = size;
  while (pos > 0) {
    const len = Math.min(BLOCK, pos);
    pos -= len;
    await fh.read(buf, 0, len, pos);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) continue;
      newlines++;
      if (newlines === n) return { offset: pos + i + 1, lines: n };
    }
  }
  return { offset: 0, lines: newlines + 1 };
}
