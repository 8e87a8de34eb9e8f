import type { FrameSpec } from "../framing/binary.ts";
import { jsonParser } from "./json.ts";
import { kvParser } from "./kv.ts";
import { nmeaParser } from "./nmea.ts";
import { compilePattern, regexParser } from "./regex.ts";
import type { LineParser } from "./types.ts";
import { veDirectParser } from "./vedirect.ts";

export const PARSER_KINDS = ["regex", "kv", "json", "nmea", "vedirect", "sds011", "frame"] as const;
/** Parsers whose readings can carry the device's own time (`time_source = "device"`). */
export const DEVICE_TIME_KINDS = ["json", "nmea"] as const;

export type ParserConfig =
  | { kind: "regex"; pattern: string }
  | { kind: "kv"; separator?: string; assign?: string }
  | {
      kind: "json";
      deviceTime?: boolean;
      timeField?: string;
      arrays?: "index" | "ignore";
      select?: Record<string, string>;
    }
  | { kind: "nmea"; requireChecksum: boolean; deviceTime?: boolean }
  | { kind: "vedirect" }
  | { kind: "sds011" }
  | { kind: "frame"; frame: FrameSpec };

/** The parsers of text frames (lines, JSON documents, VE.Direct blocks). */
export type TextParserConfig = Exclude<ParserConfig, { kind: "sds011" | "frame" }>;

/** The text parser of a text-framed kind; throws with the reason for a bad regex. */
export function buildParser(c: TextParserConfig): LineParser {
  switch (c.kind) {
    case "regex":
      return regexParser(compilePattern(c.pattern));
    case "kv":
      return kvParser({ separator: c.separator, assign: c.assign });
    case "json":
      return jsonParser(c);
    case "nmea":
      return nmeaParser(c);
    case "vedirect":
      return veDirectParser();
  }
}

export type { LineParser, ParseResult, Values } from "./types.ts";
