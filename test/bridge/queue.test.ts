import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskQueue } from "../../src/bridge/queue/disk-queue.ts";
import { MemoryQueue } from "../../src/bridge/queue/memory-queue.ts";
import { queueSuite } from "./queue-suite.ts";

queueSuite("memory", (maxBytes, compact) => ({ queue: new MemoryQueue({ maxBytes, compact }) }));

for (const fsync of ["interval", "always"] as const) {
  queueSuite(`disk (fsync ${fsync}, small segments)`, (maxBytes, compact) => {
    const dir = mkdtempSync(join(tmpdir(), "ledge-q-"));
    return {
      queue: DiskQueue.open({ dir, maxBytes, fsync, fsyncIntervalMs: 100, segmentBytes: 512, compact }),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  });
}
