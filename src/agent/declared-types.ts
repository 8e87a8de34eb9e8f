import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { parse } from "smol-toml";

/** A declared config or log type: its name and the file (or `*` glob for logs) behind it. */
export interface DeclaredType {
  type: string;
  path: string;
  /** Config types: a command that checks a new file (its path appended) before it is installed. */
  validate?: string[];
}

export interface DeclaredTypes {
  config: DeclaredType[];
  log: DeclaredType[];
  errors: string[];
}

/** Relative paths are under the config dir; `journal:<unit>` (systemd journal) stays as it is. */
export function resolveTypePath(path: string, configDir: string): string {
  return isAbsolute(path) || path.startsWith("journal:") ? path : join(configDir, path);
}

/** `"type=path"` entries from ledge.toml. */
export function parseTypeEntries(entries: string[], configDir: string): DeclaredType[] {
  return entries.map((e) => {
    const i = e.indexOf("=");
    const path = e.slice(i + 1).trim();
    return { type: e.slice(0, i).trim(), path: resolveTypePath(path, configDir) };
  });
}

/** `agent.toml`: `[[config]]` and `[[log]]` tables with `type` and `path`. */
export function parseAgentToml(text: string, configDir: string): DeclaredTypes {
  const out: DeclaredTypes = { config: [], log: [], errors: [] };
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    out.errors.push(`agent.toml: ${(e as Error).message.split("\n")[0]}`);
    return out;
  }
  for (const kind of ["config", "log"] as const) {
    const list = doc[kind];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      out.errors.push(`agent.toml: '${kind}' must be an array of tables ([[${kind}]])`);
      continue;
    }
    for (const [i, t] of list.entries()) {
      const { type, path, validate } = (t ?? {}) as Record<string, unknown>;
      if (typeof type !== "string" || !type || typeof path !== "string" || !path) {
        out.errors.push(`agent.toml: [[${kind}]] #${i + 1} needs string 'type' and 'path'`);
        continue;
      }
      if (
        validate !== undefined &&
        (kind !== "config" ||
          !Array.isArray(validate) ||
          !validate.length ||
          validate.some((a) => typeof a !== "string"))
      ) {
        out.errors.push(
          `agent.toml: [[${kind}]] '${type}': 'validate' must be a command as a list of strings`,
        );
        continue;
      }
      const entry: DeclaredType = { type, path: resolveTypePath(path, configDir) };
      if (validate) entry.validate = validate as string[];
      out[kind].push(entry);
    }
  }
  return out;
}

/**
 * Every declared type: ledge.toml keys first, then agent.toml (the first declaration of a type
 * wins), plus `ledge.toml` itself as a config type.
 */
export function loadDeclaredTypes(
  configDir: string,
  configEntries: string[],
  logEntries: string[],
): DeclaredTypes {
  let fromFile: DeclaredTypes = { config: [], log: [], errors: [] };
  try {
    fromFile = parseAgentToml(readFileSync(join(configDir, "agent.toml"), "utf8"), configDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT")
      fromFile.errors.push(`agent.toml: ${(e as Error).message}`);
  }
  const merge = (...lists: DeclaredType[][]) => {
    const seen = new Map<string, DeclaredType>();
    for (const l of lists) for (const t of l) if (!seen.has(t.type)) seen.set(t.type, t);
    return [...seen.values()];
  };
  return {
    config: merge(parseTypeEntries(configEntries, configDir), fromFile.config, [
      { type: "ledge.toml", path: join(configDir, "ledge.toml") },
    ]),
    log: merge(parseTypeEntries(logEntries, configDir), fromFile.log),
    errors: fromFile.errors,
  };
}
