/**
 * Where flows live (TEDGE-FACTS §10.1): `<config dir>/mappers/<mapper>/flows/`, every `.toml`
 * under it (recursively) but `params.toml`. ledge runs the flows of `mappers/local/flows` (the
 * generic local mapper) and of each cloud mapper's dir, each set with its own `context.mapper`.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const flowsDirOf = (configDir: string, mapper: string) => join(configDir, "mappers", mapper, "flows");

/** Flow files under `dir`, sorted; a missing dir has none. */
export function findFlowFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(".toml") && e.name !== "params.toml") out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Mappers that have a flows dir: `local` first, then the others by name. */
export function mappersWithFlows(configDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(configDir, "mappers"));
  } catch {
    return [];
  }
  return names
    .filter((n) => {
      try {
        return statSync(flowsDirOf(configDir, n)).isDirectory();
      } catch {
        return false;
      }
    })
    .sort((a, b) => (a === "local" ? -1 : b === "local" ? 1 : a.localeCompare(b)));
}

/** A change stamp for a set of files: any edit, creation or deletion changes it. */
export function stamp(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${f}:${s.mtimeMs}:${s.size}`;
      } catch {
        return `${f}:-`;
      }
    })
    .join("|");
}
