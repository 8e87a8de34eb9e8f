/**
 * Device description files (`<config-dir>/serial.toml`, `modbus.toml`) as TOML: read and parse
 * with errors that name the file, the line and the reason. smol-toml reports lines for syntax
 * errors; for semantic errors (a bad value in the 3rd `[[device]]`) `locate` finds the line of the
 * offending key or table in the source. `device-file.ts` reads the values.
 */
import { readFileSync } from "node:fs";
import { parse, TomlError } from "smol-toml";

/** One problem in a device file; `line` 0 when it has no line (the file cannot be read). */
export interface Problem {
  line: number;
  reason: string;
}

/**
 * A rejected device file: every problem found, in line order, each `file:line: reason`. Both drivers
 * report all of them at once, so one edit-and-check round fixes a file.
 */
export class DeviceFileError extends Error {
  readonly errors: Problem[];
  constructor(
    readonly file: string,
    errors: Problem[],
  ) {
    const sorted = [...errors].sort((a, b) => a.line - b.line);
    super(
      sorted.map((e) => (e.line > 0 ? `${file}:${e.line}: ${e.reason}` : `${file}: ${e.reason}`)).join("\n"),
    );
    this.name = "DeviceFileError";
    this.errors = sorted;
  }

  /** The first problem's line (0: none). */
  get line(): number {
    return this.errors[0]?.line ?? 0;
  }
}

/** A DeviceFileError with one problem. */
export function fileError(file: string, line: number | undefined, reason: string): DeviceFileError {
  return new DeviceFileError(file, [{ line: line ?? 0, reason }]);
}

interface TomlDoc {
  file: string;
  source: string;
  data: Record<string, unknown>;
}

/** Parses TOML text; syntax errors become DeviceFileError with smol-toml's line. */
export function parseTomlDoc(file: string, source: string): TomlDoc {
  try {
    return { file, source, data: parse(source) as Record<string, unknown> };
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0]?.replace(/^Invalid TOML document: /, "") ?? "invalid TOML";
      throw fileError(file, e.line, `TOML syntax error: ${first}`);
    }
    throw fileError(file, undefined, (e as Error).message);
  }
}

/** A path into the parsed document: `["device", 2, "parser"]`, `["device", 0, "points", 3, "type"]`. */
export type TomlPath = readonly (string | number)[];

function pathString(path: TomlPath): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s === "" ? p : `.${p}`;
  return s;
}

const HEADER = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/;
const KEY = /^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/;

function splitKey(k: string): string[] {
  return k
    .split(/\s*\.\s*(?=(?:[^"']*["'][^"']*["'])*[^"']*$)/)
    .map((p) => p.trim().replace(/^["']|["']$/g, ""));
}

/**
 * The 1-based line of `path` in the TOML source: the key itself when it is written there, else the
 * nearest enclosing table or array-of-tables entry (so a missing key points at its `[[device]]`).
 * Understands `[table]`, `[[array]]` (nested too) and dotted keys; inline tables resolve to the key
 * that holds them.
 */
export function locate(source: string, path: TomlPath): number | undefined {
  const target = pathString(path);
  const arrayIdx = new Map<string, number>();
  let table = "";
  let best: { len: number; line: number } | undefined;
  const consider = (loc: string, line: number) => {
    const isPrefix = target === loc || target.startsWith(`${loc}.`) || target.startsWith(`${loc}[`);
    if (isPrefix && (!best || loc.length > best.len)) best = { len: loc.length, line };
  };
  const lines = source.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? "";
    const h = HEADER.exec(text);
    if (h) {
      const parts = splitKey(h[2] ?? "");
      const name = parts.join(".");
      if (h[1] === "[[") {
        arrayIdx.set(name, (arrayIdx.get(name) ?? -1) + 1);
        for (const k of [...arrayIdx.keys()]) if (k.startsWith(`${name}.`)) arrayIdx.delete(k);
      }
      let loc = "";
      for (let j = 0; j < parts.length; j++) {
        const prefix = parts.slice(0, j + 1).join(".");
        loc += loc === "" ? parts[j] : `.${parts[j]}`;
        const idx = arrayIdx.get(prefix);
        if (idx !== undefined) loc += `[${idx}]`;
      }
      table = loc;
      consider(loc, i + 1);
      continue;
    }
    const k = KEY.exec(text);
    if (k) {
      const key = splitKey(k[1] ?? "").join(".");
      consider(table === "" ? key : `${table}.${key}`, i + 1);
    }
  }
  return best?.line;
}

/** The text of a device file; undefined when it does not exist, a DeviceFileError when unreadable. */
export function readDeviceFile(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fileError(file, undefined, `cannot read: ${(e as Error).message}`);
  }
}
