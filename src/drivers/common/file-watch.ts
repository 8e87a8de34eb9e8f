/**
 * Calls back when a device file changes: its directory is watched (inotify through fs.watch), so
 * an editor's or config_update's atomic replace (write a temp file, rename over) is seen as well as
 * an in-place write. Bursts of events are debounced into one call; a missing directory means no
 * watching (logged), never a crash.
 */
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "../../foundation/logger.ts";

export interface FileWatch {
  close(): void;
}

export function watchFile(file: string, onChange: () => void, log: Logger, debounceMs = 200): FileWatch {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  let w: FSWatcher | undefined;
  try {
    w = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    w.on("error", (e) => log.warn(`watching ${file} failed: ${e.message}`));
  } catch (e) {
    log.warn(`cannot watch ${file} for changes: ${(e as Error).message}`);
  }
  return {
    close() {
      clearTimeout(timer);
      w?.close();
    },
  };
}
