import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The first `name` on `PATH` (which(1)), or undefined. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "/usr/bin:/bin").split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}
