import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { foldMeasurements } from "../../src/bridge/compact.ts";
import { isMeasurement } from "../../src/bridge/kinds.ts";
import type { QueuedMessage, QueueEntry, QueueStats } from "../../src/bridge/queue/types.ts";
import { recordSize } from "../../src/bridge/queue/types.ts";
import type { QueueFactory } from "./queue-suite.ts";

/**
 * Issue "store-and-forward", point 3: when the queue is full and compaction frees nothing more,
 * measurements go first (oldest first), events, alarms and operation results are kept while any
 * measurement is left, and only then does the oldest record go. Every kind has the same record size
 * here, so a bound of N records holds exactly N.
 */
type Kind = "m" | "event" | "alarm" | "op";
const RECORD = 90;

function message(kind: Kind, n: number, time?: number): QueuedMessage {
  const topic = { m: "te/d//m/env", event: "te/d//e/evt", alarm: "te/d//a/alm", op: "s/us" }[kind];
  const body =
    kind === "op" ? `506,${n}` : JSON.stringify(time === undefined ? { n } : { n, time: time / 1000 });
  const pad = RECORD - recordSize(topic, Buffer.from(body));
  return { topic, payload: Buffer.from(body + " ".repeat(pad)), qos: 1, retain: false };
}

const numberOf = (e: QueueEntry) => {
  const t = Buffer.from(e.payload).toString();
  return e.topic === "s/us" ? Number(t.split(",")[1]) : (JSON.parse(t).n as number);
};
const kindOf = (e: QueueEntry): Kind =>
  e.topic === "s/us" ? "op" : ({ m: "m", e: "event", a: "alarm" } as const)[e.topic.split("/")[3] as "m"];

interface Row {
  name: string;
  /** Records the bound holds. */
  bound: number;
  /** The kind of the i-th appended message. */
  script: Kind[];
  /** Measurements carry times an hour apart, so no two fold; compaction on. */
  compact?: boolean;
  /** Records handed out (in flight) after this many appends, acknowledged at the end. */
  handOut?: { after: number; count: number };
  expect: (r: { kept: QueueEntry[]; stats: QueueStats; script: Kind[] }) => void;
}

const mix = (n: number): Kind[] =>
  Array.from({ length: n }, (_, i) =>
    i % 10 === 0 ? "event" : i % 10 === 5 ? "alarm" : i % 10 === 7 ? "op" : "m",
  );

/** Every non-measurement appended is kept; the kept measurements are the newest ones. */
function keepsAllButOldestMeasurements({ kept, script }: { kept: QueueEntry[]; script: Kind[] }): void {
  for (const k of ["event", "alarm", "op"] as const)
    assert.deepEqual(
      kept.filter((e) => kindOf(e) === k).map(numberOf),
      script.flatMap((s, i) => (s === k ? [i] : [])),
      `every ${k} kept, in order`,
    );
  const ms = kept.filter((e) => kindOf(e) === "m").map(numberOf);
  const all = script.flatMap((s, i) => (s === "m" ? [i] : []));
  assert.ok(ms.length > 0, "measurements still there");
  assert.deepEqual(ms, all.slice(all.length - ms.length), "the oldest measurements went first");
}

const rows: Row[] = [
  {
    name: "events, alarms and operation results that fit are all kept; the oldest measurements are dropped",
    bound: 200,
    script: mix(400),
    expect: keepsAllButOldestMeasurements,
  },
  {
    name: "compaction on but nothing folds (one measurement per interval): the same, nothing counted compacted",
    bound: 200,
    script: mix(400),
    compact: true,
    expect: (r) => {
      keepsAllButOldestMeasurements(r);
      assert.equal(r.stats.dropped.compacted, 0);
    },
  },
  {
    name: "records in flight are not dropped for room; acknowledged, they count as delivered",
    bound: 200,
    script: mix(400),
    handOut: { after: 30, count: 25 },
    expect: (r) => {
      const kept = r.kept.map(numberOf);
      for (let i = 0; i < 25; i++) assert.ok(!kept.includes(i), "handed out, then acknowledged");
      keepsAllButOldestMeasurements({ ...r, script: r.script.map((k, i) => (i < 25 ? "m" : k)) });
    },
  },
  {
    name: "measurements only: the oldest go, no more than room needs (a 64th of the bound more), not a whole segment",
    bound: 40,
    script: Array.from({ length: 100 }, () => "m"),
    expect: ({ kept }) => {
      assert.ok(kept.length >= 39, `kept ${kept.length} of 40`);
      assert.deepEqual(
        kept.map(numberOf),
        Array.from({ length: kept.length }, (_, i) => 100 - kept.length + i),
      );
    },
  },
  {
    name: "more events than fit: every measurement goes first, a new one is refused, then the oldest events",
    bound: 40,
    script: Array.from({ length: 400 }, (_, i) => (i % 2 ? "m" : "event")),
    expect: ({ kept, stats }) => {
      assert.deepEqual(
        kept.map((e) => [kindOf(e), numberOf(e)]),
        Array.from({ length: 40 }, (_, i) => ["event", 320 + 2 * i]),
      );
      assert.equal(stats.dropped.full, 360);
    },
  },
];

export function dropPrioritySuite(name: string, make: QueueFactory): void {
  describe(`queue drop priority: ${name}`, () => {
    for (const row of rows)
      it(row.name, () => {
        const compact = row.compact
          ? (recs: Parameters<typeof foldMeasurements>[0]) => foldMeasurements(recs, 60_000)
          : undefined;
        const { queue: q, cleanup } = make(row.bound * RECORD, { compact, expendable: isMeasurement });
        try {
          const handed: QueueEntry[] = [];
          const t0 = Date.UTC(2024, 0, 1);
          row.script.forEach((kind, i) => {
            q.append(message(kind, i, kind === "m" && row.compact ? t0 + i * 3_600_000 : undefined));
            if (row.handOut && i + 1 === row.handOut.after)
              for (let k = 0; k < row.handOut.count; k++) handed.push(q.next()!);
          });
          if (handed.length) q.commit(handed.at(-1)!.seq);
          const kept: QueueEntry[] = [];
          for (let e = q.next(); e; e = q.next()) kept.push(e);
          const stats = q.stats();
          assert.ok(stats.bytes <= row.bound * RECORD);
          // The accounting the bridge reports: delivered + dropped = appended, exactly.
          assert.equal(handed.length + kept.length + stats.drops, row.script.length);
          assert.equal(stats.drops, stats.dropped.full + stats.dropped.compacted);
          for (let k = 1; k < kept.length; k++) assert.ok(kept[k - 1]!.seq < kept[k]!.seq, "in order");
          row.expect({ kept, stats, script: row.script });
        } finally {
          q.close();
          cleanup?.();
        }
      });
  });
}
