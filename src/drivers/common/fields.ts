/**
 * Typed reads from one table of a device file, each failure a DeviceFileError at the key's line.
 * Unknown keys are errors too (`checkKeys`): a typo must not silently fall back to a default.
 */

import { isObj as isTable } from "../../foundation/json.ts";
import { type DeviceFileError, errorAt, type TomlDoc, type TomlPath } from "./toml-file.ts";

type Opt<T> = { default?: T };

export class TableReader {
  constructor(
    readonly doc: TomlDoc,
    readonly path: TomlPath,
    readonly table: Record<string, unknown>,
  ) {}

  error(key: string | undefined, reason: string): DeviceFileError {
    return errorAt(this.doc, key === undefined ? this.path : [...this.path, key], reason);
  }

  private where(key: string): string {
    return `${this.describe()}: '${key}'`;
  }

  /** `[[device]] #2 'pump'` style label for messages. */
  describe(): string {
    if (this.path.length === 0) return "top level";
    const name = this.table.name;
    const last = this.path[this.path.length - 1];
    const head =
      typeof last === "number" ? `${String(this.path[this.path.length - 2])} #${last + 1}` : String(last);
    return typeof name === "string" ? `${head} '${name}'` : head;
  }

  has(key: string): boolean {
    return this.table[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.table[key];
  }

  str(
    key: string,
    o: Opt<string> & { choices?: readonly string[]; pattern?: RegExp; hint?: string } = {},
  ): string {
    const v = this.table[key] ?? o.default;
    if (v === undefined) throw this.error(undefined, `${this.where(key)} is required`);
    if (typeof v !== "string") throw this.error(key, `${this.where(key)} must be a string`);
    if (o.choices && !o.choices.includes(v))
      throw this.error(key, `${this.where(key)} must be one of ${o.choices.join(", ")}, not '${v}'`);
    if (o.pattern && !o.pattern.test(v))
      throw this.error(key, `${this.where(key)} '${v}' is invalid${o.hint ? ` (${o.hint})` : ""}`);
    return v;
  }

  optStr(key: string): string | undefined {
    return this.has(key) ? this.str(key) : undefined;
  }

  num(key: string, o: Opt<number> & { min?: number; max?: number; integer?: boolean } = {}): number {
    const v = this.table[key] ?? o.default;
    if (v === undefined) throw this.error(undefined, `${this.where(key)} is required`);
    if (typeof v !== "number" || Number.isNaN(v))
      throw this.error(key, `${this.where(key)} must be a number`);
    if (o.integer && !Number.isInteger(v)) throw this.error(key, `${this.where(key)} must be an integer`);
    if ((o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max))
      throw this.error(
        key,
        `${this.where(key)} must be between ${o.min ?? "-∞"} and ${o.max ?? "∞"}, not ${v}`,
      );
    return v;
  }

  int(key: string, o: Opt<number> & { min?: number; max?: number } = {}): number {
    return this.num(key, { ...o, integer: true });
  }

  bool(key: string, o: Opt<boolean> = {}): boolean {
    const v = this.table[key] ?? o.default;
    if (v === undefined) throw this.error(undefined, `${this.where(key)} is required`);
    if (typeof v !== "boolean") throw this.error(key, `${this.where(key)} must be true or false`);
    return v;
  }

  /** A sub-table (`[device.options]` or an inline table); undefined when absent. */
  sub(key: string): TableReader | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    if (!isTable(v)) throw this.error(key, `${this.where(key)} must be a table`);
    return new TableReader(this.doc, [...this.path, key], v);
  }

  /** An array of tables (`[[device.points]]`); empty when absent. */
  tables(key: string): TableReader[] {
    const v = this.table[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(isTable))
      throw this.error(key, `${this.where(key)} must be an array of tables`);
    return v.map((t, i) => new TableReader(this.doc, [...this.path, key, i], t));
  }

  checkKeys(allowed: readonly string[]): void {
    for (const k of Object.keys(this.table))
      if (!allowed.includes(k))
        throw this.error(k, `${this.where(k)} is not a known key (known: ${allowed.join(", ")})`);
  }
}

/** The `[[<name>]]` tables at the root of a document, as readers. */
export function rootTables(doc: TomlDoc, name: string): TableReader[] {
  return new TableReader(doc, [], doc.data).tables(name);
}
