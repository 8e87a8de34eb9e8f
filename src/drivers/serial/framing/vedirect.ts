/**
 * Victron VE.Direct text protocol: a block is a series of `\r\n<label>\t<value>` fields ending
 * with `\r\nChecksum\t<byte>`, where the byte makes the sum of every byte of the block 0 (mod 256).
 * The checksum byte can be any value (also CR or LF), so blocks are framed on the `Checksum` field,
 * not on line ends. HEX protocol messages (`:...\n`) the device sends between blocks are skipped. A block that fails its checksum is reported as bad with its text.
 */
import type { FrameEvent } from "./frame-event.ts";

const MARK = Buffer.from("\r\nChecksum\t", "latin1");

export class VeDirectFramer {
  private block: number[] = [];
  private inHex = false;
  private overflowed = false;

  constructor(private readonly maxBytes = 1024) {}

  push(chunk: Buffer, emit: (e: FrameEvent) => void): void {
    for (const b of chunk) {
      if (this.inHex) {
        if (b === 0x0a) this.inHex = false;
        continue;
      }
      const n = this.block.length;
      // a ':' between blocks opens a HEX message, which is not part of any block's checksum
      if (b === 0x3a && n === 0) {
        this.inHex = true;
        continue;
      }
      this.block.push(b);
      if (this.endsWithMark(1)) this.finish(emit);
      else if (this.block.length > this.maxBytes) {
        if (!this.overflowed) emit({ overflow: this.block.length });
        this.overflowed = true;
        this.block = this.block.slice(-MARK.length);
      }
    }
  }

  /** True when the block ends with the `Checksum` mark followed by `extra` byte(s). */
  private endsWithMark(extra: number): boolean {
    const at = this.block.length - extra - MARK.length;
    if (at < 0) return false;
    for (let k = 0; k < MARK.length; k++) if (this.block[at + k] !== MARK[k]) return false;
    return true;
  }

  private finish(emit: (e: FrameEvent) => void): void {
    const bytes = Buffer.from(this.block);
    this.block = [];
    if (this.overflowed) {
      this.overflowed = false;
      return;
    }
    let sum = 0;
    for (const b of bytes) sum = (sum + b) & 0xff;
    const text = bytes.subarray(0, bytes.length - 1).toString("latin1");
    if (sum !== 0) emit({ bad: `VE.Direct block checksum mismatch (sum ${sum})`, raw: text.trim() });
    else emit({ text });
  }
}
