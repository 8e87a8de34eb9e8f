/**
 * Live reload of a device file: `watchFile` calls back when the file changes (its directory is
 * watched through inotify, so an editor's or config_update's atomic replace, a temp file renamed
 * over, is seen as well as an in-place write; bursts are debounced into one call; a missing
 * directory means no watching, logged, never a crash), and `rejection` tells a changed file that
 * failed validation the same way for both drivers.
 */
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { MAIN_DEVICE, topicFor } from "../../api/topics.ts";
import type { OutMessage } from "../../bus/bus.ts";
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

/**
 * A reloaded device file that failed validation: every problem (`file:line: reason`, one a line) is
 * logged, and the returned event of the main device (`te/device/main///e/<eventType>`) carries
 * them to the cloud. The running configuration stays.
 */
export function rejection(
  file: string,
  problems: string,
  eventType: string,
  root: string,
  now: number,
  log: Logger,
): OutMessage {
  log.error(`${file} rejected, the running configuration stays:\n${problems}`);
  const event = { text: `${file} rejected: ${problems}`, time: new Date(now).toISOString() };
  return { topic: topicFor(root, MAIN_DEVICE, "e", eventType), payload: JSON.stringify(event), qos: 1 };
}
