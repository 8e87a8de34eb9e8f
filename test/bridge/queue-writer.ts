/**
 * Child process for the kill -9 test: appends numbered records to a disk queue as fast as it can
 * and prints each number once `append` returned (that is the acknowledgement a local publisher
 * would get). The test kills it with SIGKILL at a random moment.
 */
import { DiskQueue } from "../../src/bridge/queue/disk-queue.ts";

const [dir, fsync] = process.argv.slice(2);
const q = DiskQueue.open({
  dir: dir!,
  maxBytes: 64 << 20,
  fsync: (fsync ?? "interval") as "interval",
  fsyncIntervalMs: 100,
  segmentBytes: 16 << 10,
});
let i = 0;
const burst = () => {
  let out = "";
  for (let k = 0; k < 50; k++, i++) {
    q.append({ topic: "c8y/s/us", payload: Buffer.from(`200,n,${i}`), qos: 1, retain: false });
    out += `${i}\n`;
  }
  process.stdout.write(out);
  // Commit some so the commit file and segment deletion are exercised too.
  if (i % 1000 === 0) {
    for (let e = q.next(); e && Buffer.from(e.payload).toString() !== `200,n,${i - 500}`; e = q.next()) {
      q.commit(e.seq);
    }
  }
  setImmediate(burst);
};
burst();
