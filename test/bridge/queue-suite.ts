import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { foldMeasurements } from "../../src/bridge/compact.ts";
import type { MessageQueue, QueuedMessage, QueueEntry, QueueLimits } from "../../src/bridge/queue/types.ts";
import { recordSize } from "../../src/bridge/queue/types.ts";

export type QueueFactory = (
  maxBytes: number,
  limits?: Pick<QueueLimits, "compact" | "expendable">,
) => { queue: MessageQueue; cleanup?: () => void };

const msg = (i: number, topic = "c8y/s/us"): QueuedMessage => ({
  topic,
  payload: Buffer.from(`200,temp,T,${i}`),
  qos: 1,
  retain: false,
});

function drain(q: MessageQueue): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (let e = q.next(); e; e = q.next()) out.push(e);
  return out;
}

const text = (e: QueueEntry) => Buffer.from(e.payload).toString();

/** The same contract for every queue implementation (memory, disk). */
export function queueSuite(name: string, make: QueueFactory): void {
  describe(`queue contract: ${name}`, () => {
    const withQueue = (maxBytes: number, fn: (q: MessageQueue) => void) => () => {
      const { queue, cleanup } = make(maxBytes);
      try {
        fn(queue);
      } finally {
        queue.close();
        cleanup?.();
      }
    };

    it(
      "hands records out in append order with topic, payload, qos and retain intact",
      withQueue(1 << 20, (q) => {
        q.append({ topic: "c8y/s/us", payload: Buffer.from("a"), qos: 1, retain: false });
        q.append({ topic: "c8y/inventory/ü", payload: new Uint8Array(0), qos: 0, retain: true });
        const bytes = new Uint8Array([9, 1, 2, 3, 255, 9]).subarray(1, 5);
        q.append({ topic: "mqtt/batch", payload: bytes, qos: 1, retain: false });
        const got = drain(q);
        assert.deepEqual(
          got.map((e) => [e.topic, [...e.payload], e.qos, e.retain]),
          [
            ["c8y/s/us", [97], 1, false],
            ["c8y/inventory/ü", [], 0, true],
            ["mqtt/batch", [1, 2, 3, 255], 1, false],
          ],
        );
        assert.ok(got[0]!.seq < got[1]!.seq && got[1]!.seq < got[2]!.seq);
        assert.equal(q.next(), undefined);
        const { depth, unsent, drops, appended, dropped } = q.stats();
        assert.deepEqual(
          { depth, unsent, drops, appended, dropped },
          {
            depth: 3,
            unsent: 0,
            drops: 0,
            appended: 3,
            dropped: { full: 0, disk: 0, corrupt: 0, compacted: 0 },
          },
        );
      }),
    );

    it(
      "commit removes delivered records and rewind resends the rest, oldest first",
      withQueue(1 << 20, (q) => {
        for (let i = 0; i < 10; i++) q.append(msg(i));
        const first = drain(q);
        q.commit(first[3]!.seq);
        assert.equal(q.stats().depth, 6);
        q.rewind();
        assert.deepEqual(
          drain(q).map(text),
          [4, 5, 6, 7, 8, 9].map((i) => `200,temp,T,${i}`),
        );
        q.commit(first[9]!.seq);
        assert.equal(q.stats().depth, 0);
        assert.equal(q.stats().bytes, 0);
        q.rewind();
        assert.equal(q.next(), undefined);
        q.append(msg(10));
        assert.equal(text(q.next()!), "200,temp,T,10");
      }),
    );

    it(
      "interleaved appends, sends and commits keep order over many records",
      withQueue(1 << 22, (q) => {
        const seen: string[] = [];
        let appended = 0;
        for (let round = 0; round < 200; round++) {
          for (let k = 0; k < 37; k++) q.append(msg(appended++));
          const got = drain(q);
          if (round % 7 === 3 && got.length) {
            // A lost connection: nothing of this round was acknowledged, so all of it comes again.
            q.rewind();
            const again = drain(q);
            assert.deepEqual(again.map(text), got.map(text));
            got.splice(0, got.length, ...again);
          }
          seen.push(...got.map(text));
          if (got.length) q.commit(got.at(-1)!.seq);
        }
        assert.equal(seen.length, appended);
        assert.deepEqual(
          seen,
          Array.from({ length: appended }, (_, i) => `200,temp,T,${i}`),
        );
        assert.equal(q.stats().depth, 0);
      }),
    );

    it(
      "a full queue drops the oldest records and counts every drop",
      withQueue(10 * recordSize("c8y/s/us", Buffer.from("200,temp,T,0")), (q) => {
        for (let i = 0; i < 25; i++) q.append(msg(i % 10));
        const s = q.stats();
        assert.equal(s.depth, 10);
        assert.equal(s.drops, 15);
        assert.equal(s.dropped.full, 15);
        assert.ok(s.bytes <= 10 * recordSize("c8y/s/us", Buffer.from("200,temp,T,0")));
        assert.deepEqual(
          drain(q).map(text),
          [5, 6, 7, 8, 9, 0, 1, 2, 3, 4].map((i) => `200,temp,T,${i}`),
        );
      }),
    );

    it(
      "dropping records already handed out moves the cursor past them",
      withQueue(4 * recordSize("c8y/s/us", Buffer.from("200,temp,T,0")), (q) => {
        for (let i = 0; i < 4; i++) q.append(msg(i));
        const inFlight = [q.next()!, q.next()!];
        for (let i = 4; i < 7; i++) q.append(msg(i));
        assert.equal(q.stats().drops, 3);
        assert.deepEqual(
          drain(q).map(text),
          [3, 4, 5, 6].map((i) => `200,temp,T,${i}`),
        );
        // Late acknowledgement of a dropped record: it arrived after all, so it is no drop.
        q.commit(inFlight[1]!.seq);
        assert.equal(q.stats().depth, 4);
        assert.equal(q.stats().drops, 1, "two of the three dropped were delivered");
        q.rewind();
        assert.equal(drain(q).length, 4);
      }),
    );

    it(
      "a record dropped in flight and never acknowledged stays counted after a rewind",
      withQueue(4 * recordSize("c8y/s/us", Buffer.from("200,temp,T,0")), (q) => {
        for (let i = 0; i < 4; i++) q.append(msg(i));
        const first = q.next()!;
        q.append(msg(4));
        assert.equal(q.stats().drops, 1);
        q.rewind();
        q.commit(first.seq);
        assert.equal(q.stats().drops, 1);
        assert.deepEqual(
          drain(q).map(text),
          [1, 2, 3, 4].map((i) => `200,temp,T,${i}`),
        );
      }),
    );

    it(
      "records carry their append time; stats give the oldest one",
      withQueue(1 << 20, (q) => {
        const before = Date.now();
        q.append(msg(0));
        q.append(msg(1));
        const e = q.next()!;
        assert.ok(e.time >= before && e.time <= Date.now());
        assert.equal(q.stats().oldestTime, e.time);
        q.commit(q.next()!.seq);
        assert.equal(q.stats().oldestTime, undefined);
      }),
    );

    it(
      "a record larger than the whole bound is refused and counted, the rest kept",
      withQueue(200, (q) => {
        q.append(msg(1));
        assert.equal(
          q.append({ topic: "big", payload: new Uint8Array(500), qos: 1, retain: false }),
          undefined,
        );
        assert.equal(q.stats().drops, 1);
        assert.deepEqual(drain(q).map(text), ["200,temp,T,1"]);
      }),
    );

    it("when full, measurements are compacted before anything is dropped: every event survives, counted exactly", () => {
      const m = (i: number): QueuedMessage => ({
        topic: "measurement/measurements/create",
        payload: Buffer.from(
          JSON.stringify({
            type: "T",
            time: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
            temp: { temp: { value: i } },
          }),
        ),
        qos: 1,
        retain: false,
      });
      const ev = (i: number): QueuedMessage => ({
        topic: "s/us",
        payload: Buffer.from(`400,e,${i}`),
        qos: 1,
        retain: false,
      });
      const size = recordSize(m(10).topic, m(10).payload);
      const { queue: q, cleanup } = make(60 * size, { compact: (recs) => foldMeasurements(recs, 60_000) });
      try {
        let events = 0;
        for (let i = 0; i < 600; i++) {
          if (i % 50 === 0) q.append(ev(events++));
          q.append(m(i % 3600));
        }
        const got = drain(q);
        const s = q.stats();
        assert.equal(s.dropped.full, 0, "nothing dropped while compaction frees room");
        assert.ok(s.dropped.compacted > 500, `compacted ${s.dropped.compacted}`);
        assert.deepEqual(
          got.filter((e) => e.topic === "s/us").map(text),
          Array.from({ length: events }, (_, i) => `400,e,${i}`),
        );
        const counted = got
          .filter((e) => e.topic !== "s/us")
          .reduce((n, e) => n + (JSON.parse(text(e)).ledge_compacted?.count.value ?? 1), 0);
        assert.equal(counted, 600, "every measurement is in exactly one record");
        assert.equal(got.length + s.dropped.compacted, 600 + events);
        for (let k = 1; k < got.length; k++) assert.ok(got[k - 1]!.seq < got[k]!.seq);
      } finally {
        q.close();
        cleanup?.();
      }
    });

    it(
      "stats count unsent records separately from stored ones",
      withQueue(1 << 20, (q) => {
        for (let i = 0; i < 5; i++) q.append(msg(i));
        q.next();
        q.next();
        assert.equal(q.stats().unsent, 3);
        assert.equal(q.stats().depth, 5);
        q.rewind();
        assert.equal(q.stats().unsent, 5);
      }),
    );
  });
}
