import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DiskQueue } from "../../src/bridge/queue/disk-queue.ts";
import type { QueueEntry } from "../../src/bridge/queue/types.ts";
import { crc32 } from "../../src/foundation/crc32.ts";

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
    .filter((f) => f.endsWith(".lq"))
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

  it("a damaged record in the middle is skipped and counted exactly; every record after it is kept", () => {
    const dir = tempDir();
    const q = open(dir, 1 << 20);
    put(q, 0, 10);
    q.close();
    const seg = join(dir, segFiles(dir)[0]!);
    const buf = readFileSync(seg);
    const recLen = buf.length / 10;
    buf[7 * recLen - 1] = buf[7 * recLen - 1]! ^ 0xff; // last payload byte of record 6
    buf[3 * recLen + 3] = buf[3 * recLen + 3]! ^ 0x10; // the length of record 3
    writeFileSync(seg, buf);
    const q2 = open(dir, 1 << 20);
    assert.deepEqual(nums(all(q2)), [0, 1, 2, 4, 5, 7, 8, 9]);
    q2.commit(9);
    assert.deepEqual(q2.stats().dropped, { full: 0, disk: 0, corrupt: 2, compacted: 0 });
    assert.equal(q2.stats().corruptBytes, 2 * recLen);
    q2.close();
    const q3 = open(dir, 1 << 20);
    assert.equal(q3.stats().dropped.corrupt, 2, "counted once, across restarts");
    assert.equal(q3.stats().depth, 0);
    q3.close();
  });

  it("damage at the end of a segment that is not the last: the next segment's base says how many", () => {
    const dir = tempDir();
    const q = open(dir, 256);
    put(q, 0, 30);
    q.close();
    const files = segFiles(dir);
    assert.ok(files.length >= 3);
    const first = join(dir, files[0]!);
    const buf = readFileSync(first);
    const recLen = buf.length / Number(files[1]!.slice(0, -3));
    // Zeroes over the last two records of the first segment (a bad block).
    buf.fill(0, buf.length - 2 * recLen);
    writeFileSync(first, buf);
    const q2 = open(dir, 256);
    const got = nums(all(q2));
    const perSeg = Number(files[1]!.slice(0, -3));
    assert.deepEqual(
      got,
      range(0, 30).filter((n) => n !== perSeg - 1 && n !== perSeg - 2),
    );
    q2.commit(29);
    assert.equal(q2.stats().dropped.corrupt, 2);
    q2.close();
  });

  it("a byte flipped while the queue runs: the sender skips it without a restart, counts it, keeps the rest", () => {
    const dir = tempDir();
    const q = open(dir, 1 << 20);
    put(q, 0, 10);
    const seg = join(dir, segFiles(dir)[0]!);
    const buf = readFileSync(seg);
    const recLen = buf.length / 10;
    const fd = openSync(seg, "r+");
    writeSync(fd, Buffer.from([buf[5 * recLen + 30]! ^ 1]), 0, 1, 5 * recLen + 30);
    closeSync(fd);
    assert.deepEqual(nums(all(q)), [0, 1, 2, 3, 4, 6, 7, 8, 9]);
    put(q, 10, 12);
    q.rewind();
    assert.deepEqual(nums(all(q)), [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11], "a resend skips it again");
    q.commit(11);
    assert.deepEqual(q.stats().dropped, { full: 0, disk: 0, corrupt: 1, compacted: 0 });
    assert.equal(q.stats().depth, 0);
    q.close();
  });

  it("the commit record is one fixed-size file written in place: no temp files, no growth", () => {
    const dir = tempDir();
    const q = open(dir);
    for (let i = 0; i < 50; i++) {
      put(q, i, i + 1);
      q.commit(all(q).at(-1)!.seq);
      q.flush();
      assert.equal(statSync(join(dir, "commit")).size, 128);
    }
    q.close();
    assert.deepEqual(
      readdirSync(dir)
        .filter((f) => !f.endsWith(".lq"))
        .sort(),
      ["commit"],
    );
  });

  it("a queue in the previous format (.seg, commit.json) is carried over once, from its commit on", () => {
    const dir = tempDir();
    // Three records in the old framing: len u32 | crc u32 | flags | topicLen u16 | topic | payload.
    const old = (i: number) => {
      const topic = Buffer.from("c8y/s/us");
      const body = Buffer.concat([
        Buffer.from([1]),
        Buffer.from([topic.length, 0]),
        topic,
        Buffer.from(`200,n,${i}`),
      ]);
      const h = Buffer.alloc(8);
      h.writeUInt32LE(body.length, 0);
      h.writeUInt32LE(crc32(body), 4);
      return Buffer.concat([h, body]);
    };
    writeFileSync(join(dir, "0000000000000005.seg"), Buffer.concat([5, 6, 7, 8].map(old)));
    writeFileSync(join(dir, "commit.json"), JSON.stringify({ next: 6, drops: 4 }));
    writeFileSync(join(dir, "commit.json.tmp-999"), "");
    const q = open(dir);
    assert.deepEqual(nums(all(q)), [6, 7, 8]);
    assert.equal(q.stats().dropped.full, 4);
    put(q, 9, 10);
    assert.deepEqual(nums(all(q)), [9]);
    q.close();
    assert.deepEqual(
      readdirSync(dir)
        .filter((f) => !f.endsWith(".lq"))
        .sort(),
      ["commit"],
    );
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
    writeFileSync(join(dir, "commit"), "garbage");
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
      // The writer commits up to record i-500 right after printing record i-1 (i a multiple of 1000),
      // so a kill just after that burst leaves the head at lastAcked + 1 - 500, not lastAcked - 500.
      const head = back[0]!;
      assert.ok(head <= Math.max(0, lastAcked + 1 - 500), `head ${head}: an uncommitted record is missing`);
    });
  }
});
