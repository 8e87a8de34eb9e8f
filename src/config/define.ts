/**
 * Typed config key definitions. Each area of ledge declares its keys in `keys/<area>.ts`; `schema.ts`
 * merges them. Defaults are written once, here, and the TypeScript types are derived from them.
 */
export type KeyType = "string" | "integer" | "number" | "boolean" | "string[]";

export interface KeyDef<T> {
  type: KeyType;
  default: T;
  doc: string;
  /** Extra validation beyond the type; returns an error message or undefined. */
  check?: (value: T) => string | undefined;
  /** Allowed values, for enumerations. */
  choices?: readonly T[];
  /** A credential: never printed by support tools (`ledge diag collect` redacts it). */
  secret?: boolean;
}

export const str = (
  doc: string,
  def = "",
  extra: Partial<Pick<KeyDef<string>, "check" | "choices" | "secret">> = {},
): KeyDef<string> => ({ type: "string", default: def, doc, ...extra });

export const int = (doc: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): KeyDef<number> => ({
  type: "integer",
  default: def,
  doc,
  check: (v) => (v < min || v > max ? `must be between ${min} and ${max}` : undefined),
});

export const num = (doc: string, def: number, min = 0, max = Number.MAX_VALUE): KeyDef<number> => ({
  type: "number",
  default: def,
  doc,
  check: (v) => (v < min || v > max ? `must be between ${min} and ${max}` : undefined),
});

export const bool = (doc: string, def: boolean): KeyDef<boolean> => ({ type: "boolean", default: def, doc });

export const list = (doc: string, def: string[] = []): KeyDef<string[]> => ({
  type: "string[]",
  default: def,
  doc,
});

export const port = (doc: string, def: number): KeyDef<number> => int(doc, def, 1, 65535);
