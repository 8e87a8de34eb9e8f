import { jsonParser } from "./json.ts";
import { kvParser } from "./kv.ts";
import { nmeaParser } from "./nmea.ts";
import { compilePattern, regexParser } from "./regex.ts";
import type { LineParser } from "./types.ts";

export const PARSER_KINDS = ["regex", "kv", "json", "nmea"] as const;

export type ParserConfig =
  | { kind: "regex"; pattern: string }
  | { kind: "kv"; separator?: string; assign?: string }
  | { kind: "json" }
  | { kind: "nmea"; requireChecksum: boolean };

/** Builds the parser a device asked for; throws with the reason for a bad regex. */
export function buildParser(c: ParserConfig): LineParser {
  switch (c.kind) {
    case "regex":
      return regexParser(compilePattern(c.pattern));
    case "kv":
      return kvParser({ separator: c.separator, assign: c.assign });
    case "json":
      return jsonParser();
    case "nmea":
      return nmeaParser({ requireChecksum: c.requireChecksum });
  }
}

export type { LineParser, ParseResult, Values } from "./types.ts";
