import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskQueue } from "../../src/bridge/queue/disk-queue.ts";
import { MemoryQueue } from "../../src/bridge/queue/memory-queue.ts";
import { dropPrioritySuite } from "./drop-priority-suite.ts";
import { type QueueFactory, queueSuite } from "./queue-suite.ts";

const memory: QueueFactory = (maxBytes, limits) => ({ queue: new MemoryQueue({ maxBytes, ...limits }) });
queueSuite("memory", memory);
dropPrioritySuite("memory", memory);

for (const fsync of ["interval", "always"] as const) {
  const disk: QueueFactory = (maxBytes, limits) => {
    const dir = mkdtempSync(join(tmpdir(), "ledge-q-"));
    return {
      queue: DiskQueue.open({ dir, maxBytes, fsync, fsyncIntervalMs: 100, segmentBytes: 512, ...limits }),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  };
  queueSuite(`disk (fsync ${fsync}, small segments)`, disk);
  dropPrioritySuite(`disk (fsync ${fsync}, small segments)`, disk);
}
