/**
 * Child of the bridge benchmark: opens the disk queue in `dir` (recovery scans every record), hands
 * out and commits `n` records as the link would, and prints its RSS in bytes: the same with an empty
 * queue and with a 1 GiB backlog shows whether memory follows the backlog.
 */
import { DiskQueue } from "../src/bridge/queue/disk-queue.ts";

const [dir, n] = process.argv.slice(2);
const q = DiskQueue.open({ dir: dir!, maxBytes: 2 ** 31, fsync: "interval", fsyncIntervalMs: 100 });
for (let i = 0; i < Number(n); i++) {
  const e = q.next();
  if (!e) break;
  if (i % 100 === 99) q.commit(e.seq);
}
q.rewind();
const depth = q.stats().depth;
q.close();
globalThis.gc?.();
process.stdout.write(`${JSON.stringify({ rss: process.memoryUsage().rss, depth })}\n`);
