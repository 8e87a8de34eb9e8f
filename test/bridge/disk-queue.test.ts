import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DiskQueue } from "../../src/bridge/queue/disk-queue.ts";
import type { QueueEntry } from "../../src/bridge/queue/types.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "ledge-dq-"));
  dirs.push(d);
  return d;
};
const open = (dir: string, segmentBytes = 1024, maxBytes = 1 << 20) =>
  DiskQueue.open({ dir, maxBytes, fsync: "interval", fsyncIntervalMs: 50, segmentBytes });
const put = (q: DiskQueue, from: number, to: number) => {
  for (let i = from; i < to; i++)
    q.append({ topic: "c8y/s/us", payload: Buffer.from(`200,n,${i}`), qos: 1, retain: false });
};
const all = (q: DiskQueue): QueueEntry[] => {
  const out: QueueEntry[] = [];
  for (let e = q.next(); e; e = q.next()) out.push(e);
  return out;
};
const nums = (es: QueueEntry[]) => es.map((e) => Number(Buffer.from(e.payload).toString().split(",")[2]));
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const segFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".seg"))
    .sort();

describe("disk queue: persistence", () => {
  it("survives a restart: uncommitted records come back in order, committed ones do not", () => {
    const dir = tempDir();
    const q = open(dir);
    put(q, 0, 100);
    const got = all(q);
    q.commit(got[29]!.seq);
    q.close();
    const q2 = open(dir);
    assert.equal(q2.stats().depth, 70);
    assert.deepEqual(nums(all(q2)), range(30, 100));
    put(q2, 100, 110);
    assert.deepEqual(nums(all(q2)), range(100, 110));
    q2.close();
  });

  it("after a crash (no close) every appended record is still there; replays start at or before the commit", () => {
    const dir = tempDir();
    const q = open(dir);
    put(q, 0, 50);
    const got = all(q);
    q.commit(got[19]!.seq);
    // No close(): the process "dies" here. Its writes are in the OS already.
    const q2 = open(dir);
    const back = nums(all(q2));
    assert.equal(back.at(-1), 49);
    assert.ok(back[0]! <= 20, `replay starts at ${back[0]}`);
    assert.deepEqual(back, range(back[0]!, 50));
    q2.close();
    q.close();
  });

  it("a torn last record (crash mid-write) is cut off and appends continue cleanly", () => {
    const dir = tempDir();
    const q = open(dir, 1 << 20);
    put(q, 0, 10);
    q.close();
    const seg = join(dir, segFiles(dir).at(-1)!);
    const full = readFileSync(seg);
    // Half of a copy of the last record: as if the process died inside write().
    appendFileSync(seg, full.subarray(full.length - 12, full.length - 5));
    const q2 = open(dir, 1 << 20);
    assert.equal(q2.stats().depth, 10);
    put(q2, 10, 15);
    q2.close();
    const q3 = open(dir, 1 << 20);
    assert.deepEqual(nums(all(q3)), range(0, 15));
    q3.close();
  });

  it("a record whose CRC does not match ends the valid data of the last segment", () => {
    const dir = tempDir();
    const q = open(dir, 1 << 20);
    put(q, 0, 10);
    q.close();
    const seg = join(dir, segFiles(dir)[0]!);
    const buf = readFileSync(seg);
    const recLen = buf.length / 10;
    buf[7 * recLen - 1] = buf[7 * recLen - 1]! ^ 0xff; // last payload byte of record 6
    writeFileSync(seg, buf);
    const q2 = open(dir, 1 << 20);
    assert.deepEqual(nums(all(q2)), range(0, 6));
    q2.close();
  });

  it("segments roll over and are deleted once delivered; disk use stays near the bound", () => {
    const dir = tempDir();
    const q = open(dir, 256, 4096);
    put(q, 0, 400);
    assert.ok(q.stats().bytes <= 4096);
    assert.ok(segFiles(dir).length <= 4096 / 256 + 2, `${segFiles(dir).length} segments`);
    const got = all(q);
    assert.deepEqual(nums(got), range(400 - got.length, 400));
    q.commit(got.at(-1)!.seq);
    assert.equal(segFiles(dir).length, 1);
    q.close();
    const q2 = open(dir, 256, 4096);
    assert.equal(q2.stats().depth, 0);
    assert.equal(q2.stats().drops, q.stats().drops, "drop count persists");
    assert.ok(q2.stats().drops > 0);
    put(q2, 400, 402);
    assert.deepEqual(nums(all(q2)), [400, 401]);
    q2.close();
  });

  it("an unreadable commit file replays from the oldest stored record (duplicates, never loss)", () => {
    const dir = tempDir();
    const q = open(dir);
    put(q, 0, 20);
    q.commit(all(q)[9]!.seq);
    q.close();
    writeFileSync(join(dir, "commit.json"), "{garbage");
    const q2 = open(dir);
    const back = nums(all(q2));
    assert.equal(back.at(-1), 19);
    assert.deepEqual(back, range(back[0]!, 20));
    q2.close();
  });
});

describe("disk queue: one writer", () => {
  it("refuses a directory locked by another live process, takes over a dead one's lock", async () => {
    const dir = tempDir();
    const other = spawn("sleep", ["10"]);
    try {
      writeFileSync(join(dir, "lock"), String(other.pid));
      assert.throws(() => open(dir), new RegExp(`in use by process ${other.pid}`));
    } finally {
      other.kill("SIGKILL");
      await new Promise((r) => other.once("exit", r));
    }
    const q = open(dir);
    put(q, 0, 1);
    q.close();
    assert.equal(existsSync(join(dir, "lock")), false, "released on close");
  });
});

describe("disk queue: kill -9", () => {
  for (const fsync of ["interval", "never"]) {
    it(`every record acknowledged before SIGKILL is recovered, in order (fsync ${fsync})`, async () => {
      const dir = tempDir();
      const child = spawn(process.execPath, ["--import", "tsx", "test/bridge/queue-writer.ts", dir, fsync], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      // Kill somewhere after the first records and a random moment later.
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
          if (out.length > 20_000) {
            clearInterval(t);
            setTimeout(() => resolve(), Math.random() * 200);
          }
        }, 5);
        child.once("exit", (code) => {
          clearInterval(t);
          reject(new Error(`writer exited early: ${code}`));
        });
      });
      child.removeAllListeners("exit");
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      const acked = out.split("\n").filter(Boolean).map(Number);
      const lastAcked = acked.at(-1)!;
      const q = open(dir, 16 << 10, 64 << 20);
      const back = nums(all(q));
      q.close();
      assert.ok(back.length > 0);
      assert.deepEqual(back, range(back[0]!, back.at(-1)! + 1), "contiguous, in order");
      assert.ok(back.at(-1)! >= lastAcked, `last recovered ${back.at(-1)} < last acknowledged ${lastAcked}`);
      assert.ok(back[0]! <= Math.max(0, lastAcked - 500), "nothing uncommitted is missing at the head");
    });
  }
});
