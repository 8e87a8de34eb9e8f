import { accessSync, constants, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The sm-plugins in a directory: executable regular files, by name (the software type). */
export function discoverPlugins(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const path = join(dir, name);
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, constants.X_OK);
      out.set(name, path);
    } catch {
      // not executable: not a plugin
    }
  }
  return out;
}
