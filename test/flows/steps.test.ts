/**
 * Every built-in step, table-driven on a fake clock: messages carry their time and `tick` rows call
 * `onInterval` at a given second, so no row waits on a real timer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { builtinStep } from "../../src/flows/steps/index.ts";
import {
  MapKeyValue,
  MapperKeyValue,
  type OutMessage,
  type StepContext,
  text,
} from "../../src/flows/types.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

/**
 * `[s, topic, payload]` is a message at second s; `[s]` is an onInterval tick at second s;
 * `[s, {key: value}]` sets (value null: removes) `context.mapper` keys, as the mapper's entity cache does.
 */
type Ev = [number, string, string | object] | [number] | [number, Record<string, unknown>];

interface Row {
  name: string;
  config: Record<string, unknown>;
  in: Ev[];
  /** One line per output: `<second> [<topic>] <payload>` (+ ` retain` when retained). */
  out: string[];
  context?: Record<string, unknown>;
}

function drive(name: string, row: Row): string[] {
  const step = builtinStep(name, row.config);
  const mapper = new MapperKeyValue();
  const ctx: StepContext = {
    config: row.config,
    mapper,
    flow: new MapKeyValue(),
    script: new MapKeyValue(),
  };
  for (const [k, v] of Object.entries(row.context ?? {})) ctx.mapper.set(k, v);
  const lines: string[] = [];
  const collect = (s: number, r: OutMessage | OutMessage[] | null | undefined) => {
    for (const m of r === null || r === undefined ? [] : Array.isArray(r) ? r : [r])
      lines.push(`${s} [${m.topic}] ${text(m.payload)}${m.mqtt?.retain ? " retain" : ""}`);
  };
  for (const ev of row.in) {
    const time = new Date(T0 + ev[0] * 1000);
    if (ev.length === 1) collect(ev[0], step.onInterval?.(time, ctx));
    else if (ev.length === 2) for (const [k, v] of Object.entries(ev[1])) mapper.set(k, v);
    else {
      const p = typeof ev[2] === "string" ? ev[2] : JSON.stringify(ev[2]);
      collect(ev[0], step.onMessage({ topic: ev[1], payload: new TextEncoder().encode(p), time }, ctx));
    }
    // thin-edge: the context's changes reach the steps after each event
    for (const u of mapper.drain()) collect(ev[0], step.onContextUpdate?.(u, ctx));
  }
  return lines;
}

const M = "te/device/main///m/env";
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

const table: Record<string, Row[]> = {
  deadband: [
    {
      name: "deadband 0 is report-by-exception: repeats dropped, every change sent",
      config: {},
      in: [
        [0, M, { t: 20 }],
        [1, M, { t: 20 }],
        [2, M, { t: 20.1 }],
        [3, M, { t: 20.1 }],
      ],
      out: ['0 [te/device/main///m/env] {"t":20}', '2 [te/device/main///m/env] {"t":20.1}'],
    },
    {
      name: "absolute deadband per series: the moved series goes, the still one is cut, time kept",
      config: { deadband: 0.5 },
      in: [
        [0, M, { t: 20, h: 50, time: "x" }],
        [1, M, { t: 20.4, h: 51, time: "y" }],
        [2, M, { t: 20.5, h: 51.2 }],
      ],
      out: [
        '0 [te/device/main///m/env] {"t":20,"h":50,"time":"x"}',
        '1 [te/device/main///m/env] {"h":51,"time":"y"}',
        '2 [te/device/main///m/env] {"t":20.5}',
      ],
    },
    {
      name: "series are per topic and per group key",
      config: { deadband: 1 },
      in: [
        [0, M, { g: { a: 1, b: 1 } }],
        [1, "te/device/other///m/env", { g: { a: 1 } }],
        [2, M, { g: { a: 1.5, b: 2 } }],
      ],
      out: [
        '0 [te/device/main///m/env] {"g":{"a":1,"b":1}}',
        '1 [te/device/other///m/env] {"g":{"a":1}}',
        '2 [te/device/main///m/env] {"g":{"b":2}}',
      ],
    },
    {
      name: "percent deadband is relative to the last value sent",
      config: { percent: 10 },
      in: [
        [0, M, { p: 100 }],
        [1, M, { p: 109 }],
        [2, M, { p: 110 }],
        [3, M, { p: 120 }],
      ],
      out: ['0 [te/device/main///m/env] {"p":100}', '2 [te/device/main///m/env] {"p":110}'],
    },
    {
      name: "max_age sends an unchanged value as a heartbeat",
      config: { deadband: 1, max_age: "60s" },
      in: [
        [0, M, { t: 1 }],
        [30, M, { t: 1 }],
        [60, M, { t: 1 }],
        [61, M, { t: 1 }],
      ],
      out: ['0 [te/device/main///m/env] {"t":1}', '60 [te/device/main///m/env] {"t":1}'],
    },
  ],
  aggregate: [
    {
      name: "min/max/mean/count over a 60 s window, emitted on the window's interval tick",
      config: { window: "60s" },
      in: [[0, M, { t: 1 }], [20, M, { t: 3 }], [40, M, { t: 2 }], [59], [60]],
      out: [`60 [te/device/main///m/env] {"t":{"min":1,"max":3,"mean":2,"count":3},"time":"${iso(60)}"}`],
    },
    {
      name: "a message after the window closes it first; last and sum on request; groups flatten one level",
      config: { window: "10s", functions: ["last", "sum"] },
      in: [[1, M, { g: { a: 1 } }], [2, M, { g: { a: 2 } }], [12, M, { g: { a: 5 } }], [20]],
      out: [
        `12 [te/device/main///m/env] {"g":{"a_last":2,"a_sum":3},"time":"${iso(10)}"}`,
        `20 [te/device/main///m/env] {"g":{"a_last":5,"a_sum":5},"time":"${iso(20)}"}`,
      ],
    },
    {
      name: "output_topic sends every window there; an empty window emits nothing",
      config: { window: "5s", functions: ["count"], output_topic: "te/device/main///m/agg" },
      in: [[5], [6, M, { x: 1 }], [10]],
      out: [`10 [te/device/main///m/agg] {"x":{"count":1},"time":"${iso(10)}"}`],
    },
  ],
  downsample: [
    {
      name: "first of each period per topic",
      config: { interval: "10s" },
      in: [
        [0, M, { a: 1 }],
        [5, M, { a: 2 }],
        [5, "x/y", "raw"],
        [10, M, { a: 3 }],
      ],
      out: ['0 [te/device/main///m/env] {"a":1}', "5 [x/y] raw", '10 [te/device/main///m/env] {"a":3}'],
    },
    {
      name: "mode last holds the latest and emits it when the period ends",
      config: { interval: "10s", mode: "last" },
      in: [[1, M, { a: 1 }], [4, M, { a: 2 }], [9], [10], [11, M, { a: 3 }], [25]],
      out: ['10 [te/device/main///m/env] {"a":2}', '25 [te/device/main///m/env] {"a":3}'],
    },
  ],
  scale: [
    {
      name: "factor and offset, unit conversion degC to degF, rounding and rename",
      config: {
        series: {
          raw: { factor: 0.1, offset: -5 },
          t: { from: "degC", to: "degF", round: 1, rename: "t_f" },
        },
      },
      in: [[0, M, { raw: 250, t: 21.5, other: 1 }]],
      out: ['0 [te/device/main///m/env] {"raw":20,"other":1,"t_f":70.7}'],
    },
    {
      name: "kPa to bar, inside a group",
      config: { series: { "p.in": { from: "kPa", to: "bar" } } },
      in: [[0, M, { p: { in: 250 } }]],
      out: ['0 [te/device/main///m/env] {"p":{"in":2.5}}'],
    },
  ],
  threshold: [
    {
      name: "raise above 80, clear only below 75 (hysteresis), alarm retained on the input's entity",
      config: { series: "t", raise_above: 80, clear_below: 75, alarm_type: "hot", pass_through: false },
      in: [
        [0, M, { t: 79 }],
        [1, M, { t: 81 }],
        [2, M, { t: 85 }],
        [3, M, { t: 78 }],
        [4, M, { t: 81 }],
        [5, M, { t: 74 }],
      ],
      out: [
        `1 [te/device/main///a/hot] {"severity":"major","text":"t out of range","value":81,"time":"${iso(1)}"} retain`,
        "5 [te/device/main///a/hot]  retain",
      ],
    },
    {
      name: "raise below with the input passed on",
      config: { series: "level", raise_below: 10, clear_above: 15, severity: "critical", text: "tank low" },
      in: [[0, "te/device/tank///m/", { level: 9 }]],
      out: [
        '0 [te/device/tank///m/] {"level":9}',
        `0 [te/device/tank///a/level_threshold] {"severity":"critical","text":"tank low","value":9,"time":"${iso(0)}"} retain`,
      ],
    },
  ],
  rename: [
    {
      name: "series renamed, group key too",
      config: { series: { temp: "temperature", "env.h": "humidity" } },
      in: [[0, M, { temp: 1, env: { h: 2 } }]],
      out: ['0 [te/device/main///m/env] {"temperature":1,"humidity":2}'],
    },
  ],
  route: [
    {
      name: "first matching route wins, {n} is the n-th + level, unmatched dropped on request",
      config: {
        routes: [
          { filter: "sensors/+/temp", topic: "te/device/{1}///m/temperature" },
          { filter: "sensors/#", topic: "raw/{#}" },
        ],
        drop_unmatched: true,
      },
      in: [
        [0, "sensors/s1/temp", "1"],
        [1, "sensors/s1/hum", "2"],
        [2, "other", "3"],
      ],
      out: ["0 [te/device/s1///m/temperature] 1", "1 [raw/s1/hum] 2"],
    },
  ],
  "rate-limit": [
    {
      name: "2 per second per topic: a burst of 2, then one more each half second",
      config: { max: 2, per: "1s" },
      in: [
        [0, "a", "1"],
        [0, "a", "2"],
        [0, "a", "3"],
        [0, "b", "1"],
        [0.5, "a", "4"],
        [0.6, "a", "5"],
      ],
      out: ["0 [a] 1", "0 [a] 2", "0 [b] 1", "0.5 [a] 4"],
    },
  ],
  "add-timestamp": [
    {
      name: "adds unix time when missing (thin-edge default), keeps a present one",
      config: {},
      in: [
        [1.5, M, {}],
        [2, M, { time: "2020-01-01T00:00:00Z" }],
      ],
      out: [
        `1.5 [te/device/main///m/env] {"time":${(T0 + 1500) / 1000}}`,
        '2 [te/device/main///m/env] {"time":"2020-01-01T00:00:00Z"}',
      ],
    },
    {
      name: "rfc3339 with reformat converts unix seconds (thin-edge: 1751023862.000 -> 2025-06-27T11:31:02.000Z)",
      config: { format: "rfc3339", reformat: true },
      in: [[0, M, { time: 1751023862.0 }]],
      out: ['0 [te/device/main///m/env] {"time":"2025-06-27T11:31:02.000Z"}'],
    },
    {
      name: "a payload that is not a JSON object passes unchanged (thin-edge: an alarm clear)",
      config: {},
      in: [
        [0, "te/device/main///a/hot", ""],
        [1, M, "42"],
      ],
      out: ["0 [te/device/main///a/hot] ", "1 [te/device/main///m/env] 42"],
    },
  ],
  "ignore-topics": [
    {
      name: "filters drop matching topics",
      config: { topics: ["te/+/+/+/+/m/skip", "x/#"] },
      in: [
        [0, "te/device/main///m/skip", "1"],
        [0, "x/y/z", "2"],
        [0, M, "3"],
      ],
      out: ["0 [te/device/main///m/env] 3"],
    },
  ],
  "limit-payload-size": [
    {
      name: "discard drops what is too big",
      config: { max_size: 3, discard: true },
      in: [
        [0, "a", "123"],
        [0, "a", "1234"],
      ],
      out: ["0 [a] 123"],
    },
  ],
  "set-topic": [
    { name: "forces the topic", config: { topic: "out" }, in: [[0, "a", "1"]], out: ["0 [out] 1"] },
  ],
  "set-aws-topic": [
    {
      name: "te topic to aws/td/<entity>/... (DESIGN §3)",
      config: {},
      in: [[0, "te/device/child///m/test_type", "{}"]],
      out: ["0 [aws/td/device:child/m/test_type] {}"],
    },
  ],
  "skip-mosquitto-health-status": [
    {
      name: "mosquitto bridge health dropped, others kept",
      config: {},
      in: [
        [0, "te/device/main/service/mosquitto-c8y-bridge/status/health", "1"],
        [0, "te/device/main/service/x/status/health", "{}"],
      ],
      out: ["0 [te/device/main/service/x/status/health] {}"],
    },
  ],
  "cache-early-messages": [
    {
      name: "a child's messages wait for its registration under device/c1// (thin-edge MessageCache), then leave in order",
      config: {},
      in: [
        [0, "te/device/c1///m/x", "1"],
        [1, "te/device/c1///e/y", "2"],
        [2, "te/device/main///m/x", "3"],
        [3, "te/device/c1//", '{"@type":"child-device"}'],
        [4, { "device/c1//": { "@id": "c1", "@type": "child-device" } }],
        [5, "te/device/c1///m/x", "4"],
      ],
      out: [
        "2 [te/device/main///m/x] 3",
        "4 [te/device/c1///m/x] 1",
        "4 [te/device/c1///e/y] 2",
        '4 [te/device/c1//] {"@type":"child-device"}',
        "5 [te/device/c1///m/x] 4",
      ],
    },
    {
      name: "topics outside te/ pass; an entity already in the context passes; a removed one is held again",
      config: {},
      context: { "device/c3//": { "@id": "c3" } },
      in: [
        [0, "other/topic", "a"],
        [1, "te/device/c3///m/x", "b"],
        [2, { "device/c3//": null }],
        [3, "te/device/c3///m/x", "c"],
        [4],
      ],
      out: ["0 [other/topic] a", "1 [te/device/c3///m/x] b"],
    },
    {
      name: "topic_root names the root",
      config: { topic_root: "x" },
      in: [
        [0, "te/device/c1///m/x", "1"],
        [1, "x/device/c1///m/x", "2"],
      ],
      out: ["0 [te/device/c1///m/x] 1"],
    },
  ],
  "group-measurements": [
    {
      name: "measurements of the window merged per topic, emitted on the tick after it",
      config: { time_window: 5 },
      in: [[0, M, { a: 1 }], [1, M, { b: 2 }], [2, M, { a: 3 }], [3], [5]],
      out: ['5 [te/device/main///m/env] {"a":3,"b":2}'],
    },
  ],
};

describe("built-in steps (table-driven, fake clock)", () => {
  for (const [name, rows] of Object.entries(table))
    describe(name, () => {
      for (const row of rows) it(row.name, () => assert.deepEqual(drive(name, row), row.out));
    });

  it("update-context stores JSON payloads by topic in context.mapper and consumes them; an empty payload deletes", () => {
    const step = builtinStep("update-context", { topics: ["te/+/+/+/+/m/+/meta"] });
    const ctx: StepContext = {
      config: {},
      mapper: new MapKeyValue(),
      flow: new MapKeyValue(),
      script: new MapKeyValue(),
    };
    const time = new Date(T0);
    const enc = (s: string) => new TextEncoder().encode(s);
    const meta = "te/device/c1///m/env/meta";
    assert.deepEqual(step.onMessage({ topic: meta, payload: enc('{"t":{"unit":"C"}}'), time }, ctx), []);
    assert.deepEqual(ctx.mapper.get(meta), { t: { unit: "C" } });
    assert.throws(() => step.onMessage({ topic: meta, payload: enc("C"), time }, ctx), /not a JSON payload/);
    const other = { topic: "te/device/c1///m/env", payload: enc("{}"), time };
    assert.equal(step.onMessage(other, ctx), other);
    step.onMessage({ topic: meta, payload: enc(""), time }, ctx);
    assert.equal(ctx.mapper.get(meta), null);
  });

  it("bad config is an error naming the key", () => {
    assert.throws(
      () => builtinStep("deadband", { deadband: "x" }),
      /builtin deadband: config.deadband must be a number/,
    );
    assert.throws(() => builtinStep("aggregate", { functions: ["median"] }), /unknown 'median'/);
    assert.throws(
      () => builtinStep("scale", { series: { t: { from: "degC", to: "bar" } } }),
      /cannot convert degC to bar/,
    );
    assert.throws(
      () => builtinStep("threshold", { series: "t", raise_above: 1, clear_below: 2 }),
      /clear_below must be <= raise_above/,
    );
    assert.throws(() => builtinStep("nope", {}), /unknown builtin step 'nope'/);
  });

  it("a non-JSON payload into a measurement step is an error, not a crash", () => {
    const step = builtinStep("deadband", {});
    const ctx: StepContext = {
      config: {},
      mapper: new MapKeyValue(),
      flow: new MapKeyValue(),
      script: new MapKeyValue(),
    };
    assert.throws(
      () => step.onMessage({ topic: "a", payload: new Uint8Array([1, 2]), time: new Date(T0) }, ctx),
      /not a JSON object/,
    );
  });
});
