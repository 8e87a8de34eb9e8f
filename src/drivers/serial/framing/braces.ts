/**
 * Bytes → JSON documents framed by balanced braces, not by line ends: a pretty-printed document
 * over several lines is one frame, and two documents on one line are two. Braces inside strings
 * (with escapes) do not count. A document starts at a line start or right after another one; any
 * other text outside a document (garbage, a log line) is reported as bad once per line; a document longer than `maxBytes` is dropped as an overflow.
 * A `{` at the very start of a line inside a document resynchronises: pretty printers indent nested
 * objects, so it opens a new document and the unterminated one before it is reported as bad.
 */
import type { FrameEvent } from "./frame-event.ts";

const OPEN = 0x7b;
const CLOSE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class BraceFramer {
  private parts: Buffer[] = [];
  private size = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private skipping = false;
  private junk = "";
  private junkBytes = 0;
  private atLineStart = true;

  constructor(private readonly maxBytes = 65536) {}

  push(chunk: Buffer, emit: (e: FrameEvent) => void): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] ?? 0;
      const lineStart = this.atLineStart;
      this.atLineStart = b === 0x0a || b === 0x0d;
      if (this.depth > 0 && lineStart && b === OPEN) {
        this.append(chunk.subarray(start, i), emit);
        if (!this.skipping)
          emit({ bad: "unterminated JSON document", raw: Buffer.concat(this.parts).toString("utf8").trim() });
        this.reset();
      }
      if (this.depth === 0) {
        if (b === OPEN && this.junkBytes === 0) {
          this.depth = 1;
          start = i;
        } else if (b === 0x0a || b === 0x0d) this.flushJunk(emit);
        else if (b !== 0x20 && b !== 0x09) {
          if (this.junkBytes++ < 200) this.junk += String.fromCharCode(b);
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        continue;
      }
      if (b === QUOTE) this.inString = true;
      else if (b === OPEN) this.depth++;
      else if (b === CLOSE && --this.depth === 0) {
        this.append(chunk.subarray(start, i + 1), emit);
        if (!this.skipping) emit({ text: Buffer.concat(this.parts).toString("utf8") });
        this.reset();
        start = i + 1;
      }
    }
    if (this.depth > 0) this.append(chunk.subarray(start), emit);
  }

  private append(part: Buffer, emit: (e: FrameEvent) => void): void {
    this.size += part.length;
    if (this.skipping) return;
    this.parts.push(Buffer.from(part));
    if (this.size > this.maxBytes) {
      emit({ overflow: this.size });
      this.parts = [];
      this.skipping = true;
    }
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.skipping = false;
  }

  private flushJunk(emit: (e: FrameEvent) => void): void {
    if (this.junkBytes === 0) return;
    emit({ bad: "text outside a JSON object", raw: this.junk });
    this.junk = "";
    this.junkBytes = 0;
  }
}
