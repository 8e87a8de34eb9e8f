/**
 * Framing plus parsing for one device: bytes in, one result per frame out. The framing follows the
 * parser: lines for regex, kv and nmea; balanced braces for json (a document may span lines);
 * VE.Direct blocks; fixed binary frames for sds011 and `frame`. Nothing is split on line ends
 * unless the protocol is line-based.
 */
import { BinaryFramer, SDS011 } from "./framing/binary.ts";
import { BraceFramer } from "./framing/braces.ts";
import type { FrameEvent, Framer } from "./framing/frame-event.ts";
import { LineSplitter } from "./framing/lines.ts";
import { VeDirectFramer } from "./framing/vedirect.ts";
import { frameValues } from "./parsers/frame.ts";
import { buildParser, type ParserConfig, type TextParserConfig } from "./parsers/index.ts";
import { bad, type ParseResult } from "./parsers/types.ts";

/** One frame's outcome; `raw` is the frame as text (binary frames in hex) for events and the CLI. */
export interface Decoded {
  raw: string;
  result: ParseResult;
  overflow?: true;
}

export interface Decoder {
  push(chunk: Buffer, now: number, emit: (d: Decoded) => void): void;
}

const hex = (b: Buffer) => b.toString("hex").replace(/(..)(?!$)/g, "$1 ");

function framerFor(c: ParserConfig, maxFrame: number): Framer {
  switch (c.kind) {
    case "json":
      return new BraceFramer(maxFrame);
    case "vedirect":
      return new VeDirectFramer(maxFrame);
    case "sds011":
      return new BinaryFramer(SDS011);
    case "frame":
      return new BinaryFramer(c.frame);
    default:
      return new LineSplitter(maxFrame);
  }
}

/** The decoder of a device's parser config; throws with the reason for a bad regex. */
export function buildDecoder(c: ParserConfig, maxFrame: number): Decoder {
  const framer = framerFor(c, maxFrame);
  const spec = c.kind === "sds011" ? SDS011 : c.kind === "frame" ? c.frame : undefined;
  const parse = spec ? undefined : buildParser(c as TextParserConfig);
  const unit = c.kind === "json" ? "document" : c.kind === "vedirect" ? "block" : "line";
  return {
    push(chunk, now, emit) {
      framer.push(chunk, (e: FrameEvent) => {
        if ("overflow" in e)
          emit({
            raw: "",
            overflow: true,
            result: bad(`${unit} longer than ${maxFrame} bytes (${e.overflow} bytes)`),
          });
        else if ("bad" in e) emit({ raw: e.raw, result: bad(e.bad) });
        else if ("bytes" in e && spec)
          emit({ raw: hex(e.bytes), result: { ok: true, values: frameValues(spec, e.bytes) } });
        else if ("text" in e && parse) emit({ raw: e.text, result: parse(e.text, now) });
      });
    },
  };
}
