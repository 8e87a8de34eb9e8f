import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processAlive } from "../../foundation/files.ts";

/**
 * One writer per queue directory: two processes appending to the same segment would interleave
 * records. The lock file holds the owner's pid; a lock left by a dead process (kill -9) is taken
 * over. Returns the release function.
 */
export function lockDir(dir: string, pid = process.pid): () => void {
  const path = join(dir, "lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(pid), { flag: "wx" });
      return () => {
        try {
          unlinkSync(path);
        } catch {}
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = Number(readFileSync(path, "utf8").trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== pid && processAlive(owner))
      throw new Error(
        `queue ${dir} is in use by process ${owner} (another ledge running the bridge?); if not, delete ${path}`,
      );
    unlinkSync(path);
  }
  throw new Error(`cannot lock queue ${dir}`);
}
