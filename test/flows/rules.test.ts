/** The `rule` step (safe local control), table-driven on a fake clock. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { builtinStep } from "../../src/flows/steps/index.ts";
import { MapKeyValue, type OutMessage, type StepContext, text } from "../../src/flows/types.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const TANK = "te/device/tank///m/level";
const DOOR = "te/device/plc///m/state";
const CMD = "te/device/plc///cmd/modbus_write";

const base = {
  name: "pump",
  when: { topic: TANK, series: "level", above: 90 },
  command: { topic: CMD, payload: { point: "pump", value: 1 } },
  interlocks: [{ topic: DOOR, series: "door_open", equals: 1 }],
  min_interval: "60s",
};

type Ev = [number, string, object | string];

/** Runs events; returns `<second> <action>` for events and `<second> cmd <payload>` for commands. */
function drive(config: Record<string, unknown>, events: Ev[]): string[] {
  const step = builtinStep("rule", config);
  const ctx: StepContext = {
    config,
    mapper: new MapKeyValue(),
    flow: new MapKeyValue(),
    script: new MapKeyValue(),
  };
  const out: string[] = [];
  for (const [s, topic, p] of events) {
    const r = step.onMessage(
      {
        topic,
        payload: new TextEncoder().encode(typeof p === "string" ? p : JSON.stringify(p)),
        time: new Date(T0 + s * 1000),
      },
      ctx,
    ) as OutMessage[];
    for (const m of r) {
      if (m.topic === "te/device/main///e/rule_action") {
        const e = JSON.parse(text(m.payload)) as { action: string; reason?: string };
        out.push(`${s} ${e.action}${e.reason ? ` (${e.reason})` : ""}`);
      } else
        out.push(
          `${s} ${m.topic.replace(/ledge-rule-pump-\d+-\d+$/, "<id>")} ${text(m.payload)}${m.mqtt?.retain ? " retain" : ""}`,
        );
    }
  }
  return out;
}

const rows: { name: string; config?: Record<string, unknown>; in: Ev[]; out: string[] }[] = [
  {
    name: "positive control: condition true, interlock clear -> command (retained, status init) and a 'fired' event",
    in: [
      [0, DOOR, { door_open: 0 }],
      [1, TANK, { level: 95 }],
    ],
    out: [`1 ${CMD}/<id> {"point":"pump","value":1,"status":"init"} retain`, "1 fired"],
  },
  {
    name: "an interlock that holds blocks the command; the block is recorded as an event",
    in: [
      [0, DOOR, { door_open: 1 }],
      [1, TANK, { level: 95 }],
    ],
    out: ["1 blocked (interlock door_open equals 1 holds (1))"],
  },
  {
    name: "an interlock never seen blocks (fail safe)",
    in: [[1, TANK, { level: 95 }]],
    out: ["1 blocked (interlock door_open unknown)"],
  },
  {
    name: "a stale interlock blocks",
    config: { ...base, interlock_max_age: "30s" },
    in: [
      [0, DOOR, { door_open: 0 }],
      [31, TANK, { level: 95 }],
    ],
    out: ["31 blocked (interlock door_open stale)"],
  },
  {
    name: "dry run: an event says what would be sent, no command",
    config: { ...base, dry_run: true },
    in: [
      [0, DOOR, { door_open: 0 }],
      [1, TANK, { level: 95 }],
    ],
    out: ["1 dry-run"],
  },
  {
    name: "fires on the rising edge only; min_interval holds back a second edge",
    in: [
      [0, DOOR, { door_open: 0 }],
      [1, TANK, { level: 95 }],
      [2, TANK, { level: 96 }],
      [3, TANK, { level: 80 }],
      [4, TANK, { level: 95 }],
      [70, TANK, { level: 80 }],
      [71, TANK, { level: 95 }],
    ],
    out: [
      `1 ${CMD}/<id> {"point":"pump","value":1,"status":"init"} retain`,
      "1 fired",
      `71 ${CMD}/<id> {"point":"pump","value":1,"status":"init"} retain`,
      "71 fired",
    ],
  },
  {
    name: "a finished command of the rule is cleared (empty retained), others' are left alone",
    in: [
      [0, DOOR, { door_open: 0 }],
      [1, TANK, { level: 95 }],
      [2, `${CMD}/other-1`, { status: "successful" }],
    ],
    out: [`1 ${CMD}/<id> {"point":"pump","value":1,"status":"init"} retain`, "1 fired"],
  },
];

describe("rule step (safe local control)", () => {
  for (const r of rows) it(r.name, () => assert.deepEqual(drive(r.config ?? base, r.in), r.out));

  it("the rule clears its own command once the driver reports it successful", () => {
    const step = builtinStep("rule", base);
    const ctx: StepContext = {
      config: base,
      mapper: new MapKeyValue(),
      flow: new MapKeyValue(),
      script: new MapKeyValue(),
    };
    const msg = (s: number, topic: string, p: object) => ({
      topic,
      payload: new TextEncoder().encode(JSON.stringify(p)),
      time: new Date(T0 + s * 1000),
    });
    step.onMessage(msg(0, DOOR, { door_open: 0 }), ctx);
    const cmd = (step.onMessage(msg(1, TANK, { level: 95 }), ctx) as OutMessage[])[0] as OutMessage;
    assert.deepEqual(step.onMessage(msg(2, cmd.topic, { status: "executing" }), ctx), []);
    assert.deepEqual(step.onMessage(msg(3, cmd.topic, { status: "successful" }), ctx), [
      { topic: cmd.topic, payload: "", mqtt: { qos: 1, retain: true } },
    ]);
  });

  it("a rule's command topic must be a te/ command topic", () => {
    assert.throws(
      () => builtinStep("rule", { ...base, command: { topic: "plc/write" } }),
      /not a te\/ command topic/,
    );
    assert.throws(() => builtinStep("rule", { ...base, when: { series: "x" } }), /needs exactly one of/);
  });
});
