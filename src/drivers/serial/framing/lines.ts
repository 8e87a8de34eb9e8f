/**
 * Bytes from the port → text lines. Lines end with LF (a preceding CR is dropped; a lone CR also
 * ends a line, as some sensors send only CR). A line longer than `maxLine` is cut off and reported as
 * an overflow instead of growing the buffer without bound (garbage without line ends).
 */
import type { FrameEvent } from "./frame-event.ts";

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;
  private lastWasCr = false;

  constructor(private readonly maxLine = 4096) {}

  push(chunk: Buffer, emit: (e: FrameEvent) => void): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b !== 0x0a && b !== 0x0d) continue;
      const crlf = b === 0x0a && this.lastWasCr && i === start && this.size === 0;
      this.lastWasCr = b === 0x0d;
      if (!crlf) this.finish(chunk.subarray(start, i), emit);
      start = i + 1;
    }
    if (start < chunk.length) {
      this.lastWasCr = false;
      this.append(chunk.subarray(start), emit);
    }
  }

  private append(part: Buffer, emit: (e: FrameEvent) => void): void {
    if (this.skipping) {
      this.size += part.length;
      return;
    }
    this.parts.push(Buffer.from(part));
    this.size += part.length;
    if (this.size > this.maxLine) {
      this.parts = [];
      this.skipping = true;
      emit({ overflow: this.size });
    }
  }

  private finish(tail: Buffer, emit: (e: FrameEvent) => void): void {
    if (this.skipping) {
      this.skipping = false;
      this.size = 0;
      return;
    }
    if (this.size + tail.length > this.maxLine) {
      const overflow = this.size + tail.length;
      this.parts = [];
      this.size = 0;
      emit({ overflow });
      return;
    }
    const line =
      this.parts.length === 0 ? tail.toString("utf8") : Buffer.concat([...this.parts, tail]).toString("utf8");
    this.parts = [];
    this.size = 0;
    if (line.trim() !== "") emit({ text: line });
  }
}
