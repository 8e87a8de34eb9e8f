/**
 * The one reader of device description files (`modbus.toml`, `serial.toml`): typed reads of the
 * tables of a parsed file into one problem collector. A read never throws: a missing or bad value
 * is recorded with its line (found by `locate`) and the read returns undefined, so validation goes
 * on and one pass reports every problem of the file. Unknown keys are problems too, so a typo never
 * falls back to a default silently.
 *
 * Messages are `<where>: '<key>' must be <what>, not <value>`, where `<where>` names the table
 * (`device #2 'pump' point #3 'flow'`), so a message read without the file still says which device.
 */
import { isObj, type Obj } from "../../foundation/json.ts";
import { DeviceFileError, locate, type Problem, parseTomlDoc, type TomlPath } from "./toml-file.ts";

/** How a value shows in a message: strings quoted, anything else as JSON. */
function show(v: unknown): string {
  return typeof v === "string" ? `'${v}'` : v instanceof Date ? v.toISOString() : JSON.stringify(v);
}

function inRange(v: unknown, o: NumOptions, integer: boolean): v is number {
  if (typeof v !== "number" || !(integer ? Number.isInteger(v) : Number.isFinite(v))) return false;
  return v >= (o.min ?? Number.NEGATIVE_INFINITY) && v <= (o.max ?? Number.POSITIVE_INFINITY);
}

function range(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` between ${min} and ${max}`;
  if (min !== undefined) return ` of at least ${min}`;
  if (max !== undefined) return ` of at most ${max}`;
  return "";
}

/**
 * Whether a key may be left out: with a `default` it reads as the default, with `optional` as
 * undefined without a problem; otherwise its absence is a problem (`'<key>' is required`).
 */
interface Presence<T> {
  default?: T;
  optional?: boolean;
}

export interface StrOptions extends Presence<string> {
  /** A whole-value pattern, with `hint` saying in words what it accepts. */
  pattern?: RegExp;
  hint?: string;
  /** Accept "" (by default an empty string is a problem). */
  empty?: boolean;
}

export interface NumOptions extends Presence<number> {
  min?: number;
  max?: number;
}

/** One device file being read: its parsed data, where its keys are, and every problem found. */
export class DeviceFile {
  readonly problems: Problem[] = [];

  private constructor(
    readonly file: string,
    readonly source: string,
    readonly data: Obj,
  ) {}

  /** Parses the text; a TOML syntax error (smol-toml stops at the first) throws DeviceFileError. */
  static parse(file: string, source: string): DeviceFile {
    const doc = parseTomlDoc(file, source);
    return new DeviceFile(file, source, doc.data);
  }

  /** The line of `path`, or of its nearest enclosing table; 1 for the file as a whole. */
  lineOf(path: TomlPath): number {
    return locate(this.source, path) ?? 1;
  }

  report(path: TomlPath, reason: string): void {
    this.problems.push({ line: this.lineOf(path), reason });
  }

  /** The top level as a table. */
  root(): DeviceTable {
    return new DeviceTable(this, [], this.data, "");
  }

  /** Throws every problem recorded, in line order, if there is any. */
  check(): void {
    if (this.problems.length > 0) throw new DeviceFileError(this.file, this.problems);
  }
}

/** Typed reads from one table of a device file; each bad value is reported at its line. */
export class DeviceTable {
  constructor(
    readonly file: DeviceFile,
    readonly path: TomlPath,
    readonly table: Obj,
    /** `device #2 'pump'`: this table among its siblings ("" at the top level). */
    readonly own: string,
    /** `device #2 'pump' point #3 'flow'`: the path of `own`s that prefixes this table's messages. */
    readonly label = own,
  ) {}

  /** Records a problem at `key` (or at the table itself), prefixed with the table's label. */
  report(key: string | undefined, reason: string): void {
    this.file.report(
      key === undefined ? this.path : [...this.path, key],
      this.label ? `${this.label}: ${reason}` : reason,
    );
  }

  has(key: string): boolean {
    return this.table[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.table[key];
  }

  /** The value, or the default, or undefined (reported as missing unless optional). */
  private value<T>(key: string, o: Presence<T>): unknown {
    const v = this.table[key];
    if (v !== undefined) return v;
    if (o.default === undefined && !o.optional) this.report(undefined, `'${key}' is required`);
    return o.default;
  }

  private bad(key: string, what: string, v: unknown): undefined {
    this.report(key, `'${key}' must be ${what}, not ${show(v)}`);
    return undefined;
  }

  str(key: string, o: StrOptions = {}): string | undefined {
    const v = this.value(key, o);
    if (v === undefined) return undefined;
    if (typeof v !== "string") return this.bad(key, "a string", v);
    if (v === "" && !o.empty) {
      this.report(key, `'${key}' must not be empty`);
      return undefined;
    }
    if (o.pattern && !o.pattern.test(v)) return this.bad(key, o.hint ?? `a string matching ${o.pattern}`, v);
    return v;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], o: Presence<T> = {}): T | undefined {
    const v = this.value(key, o);
    if (v === undefined) return undefined;
    if (typeof v === "string" && (choices as readonly string[]).includes(v)) return v as T;
    return this.bad(key, `one of ${choices.join(", ")}`, v);
  }

  num(key: string, o: NumOptions = {}): number | undefined {
    return this.number(key, o, false);
  }

  int(key: string, o: NumOptions = {}): number | undefined {
    return this.number(key, o, true);
  }

  private number(key: string, o: NumOptions, integer: boolean): number | undefined {
    const v = this.value(key, o);
    if (v === undefined || inRange(v, o, integer)) return v as number | undefined;
    return this.bad(key, `${integer ? "an integer" : "a number"}${range(o.min, o.max)}`, v);
  }

  bool(key: string, o: Presence<boolean> = {}): boolean | undefined {
    const v = this.value(key, o);
    if (v === undefined || typeof v === "boolean") return v;
    return this.bad(key, "true or false", v);
  }

  /** An array of integers, each within the range (`start = [0xAA, 0xC0]`). */
  ints(key: string, o: NumOptions & { hint?: string } = {}): number[] | undefined {
    const v = this.value(key, { optional: o.optional });
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((n) => inRange(n, o, true)))
      return this.bad(key, o.hint ?? `an array of integers${range(o.min, o.max)}`, v);
    return v as number[];
  }

  /** A sub-table (`[device.frame]` or an inline table); undefined when absent or not a table. */
  sub(key: string, o: { optional?: boolean } = { optional: true }): DeviceTable | undefined {
    const v = this.value(key, o);
    if (v === undefined) return undefined;
    if (!isObj(v)) return this.bad(key, "a table", v);
    return new DeviceTable(this.file, [...this.path, key], v, key, `${this.label} ${key}`.trim());
  }

  /** An array of tables (`[[device.point]]`); empty when absent or not an array of tables. */
  tables(key: string): DeviceTable[] {
    const v = this.table[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(isObj)) {
      const header = [...this.path, key].filter((p) => typeof p === "string").join(".");
      this.bad(key, `an array of tables ([[${header}]])`, v);
      return [];
    }
    return v.map((t, i) => {
      const own = `${key} #${i + 1}${typeof t.name === "string" ? ` '${t.name}'` : ""}`;
      return new DeviceTable(this.file, [...this.path, key, i], t, own, `${this.label} ${own}`.trim());
    });
  }

  /** Reports every key not in `allowed`. */
  keys(allowed: readonly string[]): void {
    for (const k of Object.keys(this.table))
      if (!allowed.includes(k)) this.report(k, `'${k}' is not a known key (known: ${allowed.join(", ")})`);
  }
}

/**
 * A value that must be unique across sibling tables (device names, ports): the second and later
 * tables that write it are reported at the key, naming the first. Checked on the value as written,
 * so a duplicate is reported even when the table has other problems.
 */
export class Unique {
  private readonly first = new Map<string, DeviceTable>();
  constructor(private readonly key: string) {}

  check(t: DeviceTable): void {
    const value = t.raw(this.key);
    if (typeof value !== "string" || value === "") return;
    const holder = this.first.get(value);
    if (holder) t.report(this.key, `${this.key} ${show(value)} is already used by ${holder.own}`);
    else this.first.set(value, t);
  }
}
