/**
 * What a framer hands the parser: a text frame (a line, a JSON document, a VE.Direct block), a
 * binary frame, a frame that arrived but failed its framing check (bad checksum, bytes between
 * frames), or an overflow (too many bytes without a frame end).
 */
export type FrameEvent =
  | { text: string }
  | { bytes: Buffer }
  | { bad: string; raw: string }
  | { overflow: number };

/** Splits a byte stream into frames; `push` may emit any number of them per chunk. */
export interface Framer {
  push(chunk: Buffer, emit: (e: FrameEvent) => void): void;
}
