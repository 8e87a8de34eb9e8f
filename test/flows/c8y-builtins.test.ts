/**
 * thin-edge's Cumulocity builtin flows (TEDGE-FACTS §10.5; the flow files the c8y mapper writes,
 * `c8y_mapper_ext/src/flows.rs`) run unchanged through `ledge flows test --mapper c8y` and give the
 * same Cumulocity messages as ledge's c8y mapper for the same te/ messages: both use the one
 * translation in `src/api/clouds/c8y/`. Registration data reaches `context.mapper` as in
 * thin-edge: by `--context` (keyed by entity topic id, thin-edge's `FlowContextEntity` record),
 * by auto-registration of default-scheme entities, and by registration messages, which release
 * what `cache-early-messages` held.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ledge, tempConfig } from "../helpers/cli.ts";
import { C8Y_BUILTIN_FLOWS, flowsTree } from "../helpers/flows.ts";
import { c8yMapper, msg, pairs } from "../helpers/mappers-fixtures.ts";

/** Not on a whole second: unix seconds and ISO give the same instant text either way. */
const TIME = "2024-01-01T00:00:00.250Z";

/** A child registered by the mapper, as its entity cache puts it in the flows' context. */
const CHILD_CONTEXT = {
  "device/child-xyz//": {
    "@id": "child-xyz",
    "@topic-id": "device/child-xyz//",
    "@type": "child-device",
    "@parent": "device/main//",
    "@name": "child-xyz",
    "@type-name": "thin-edge.io-child",
  },
};
const CHILD_REGISTRATION = msg("te/device/child-xyz//", { "@type": "child-device", "@id": "child-xyz" });

type Row = [name: string, topic: string, payload: string | object, expect: RegExp];

/** Each row: what the flows print for it equals what the mapper publishes; `expect` pins its shape. */
const rows: Row[] = [
  ["main measurement, time added", "te/device/main///m/env", { t: 20.5 }, /"type":"env"/],
  [
    "main measurement with a time and a group",
    "te/device/main///m/",
    { time: "2024-02-02T10:00:00Z", Climate: { T: 1, H: 2 } },
    /"Climate":\{"T":\{"value":1\.0\},"H":\{"value":2\.0\}\}.*"type":"ThinEdgeMeasurement"/,
  ],
  ["units from the meta topic (units flow)", "te/device/main///m/env", { temp: 21 }, /"unit":"°C"/],
  [
    "child with registration data in context",
    "te/device/child-xyz///m/env",
    { t: 1 },
    /"externalSource":\{"externalId":"child-xyz","type":"c8y_Serial"\}/,
  ],
  [
    "default-scheme child auto-registered",
    "te/device/child2///m/env",
    { t: 2 },
    /"externalId":"test-device:device:child2"/,
  ],
  ["main event → SmartREST 400", "te/device/main///e/login", { text: "hi" }, /^400,login,"hi",2024-/],
  ["event with nothing → its type as text", "te/device/main///e/ping", "", /^400,ping,"ping",/],
  [
    "event with a fragment → JSON",
    "te/device/main///e/door",
    { text: "open", extra: { a: 1 } },
    /"extra":\{"a":1\}/,
  ],
  ["child event", "te/device/child-xyz///e/door", { text: "x" }, /"externalId":"child-xyz"/],
  [
    "main alarm → SmartREST 302",
    "te/device/main///a/hot",
    { severity: "major", text: "hot" },
    /^302,hot,hot,/,
  ],
  ["child alarm", "te/device/child-xyz///a/cold", { severity: "minor", text: "cold" }, /^303,cold,cold,/],
  ["alarm cleared", "te/device/main///a/hot", "", /^306,hot$/],
  [
    "alarm with a fragment → JSON",
    "te/device/main///a/fan",
    { severity: "critical", text: "stopped", rpm: 0 },
    /"severity":"CRITICAL".*"rpm":0/,
  ],
];

const line = (topic: string, payload: string | object) =>
  `[${topic}] ${typeof payload === "string" ? payload : JSON.stringify(payload)}`;
const parse = (l: string) => {
  const m = /^\[([^\]]*)\] ?(.*)$/.exec(l);
  assert.ok(m, l);
  return [m[1] as string, m[2] as string] as [string, string];
};

async function c8yFlows(): Promise<string> {
  const { dir } = await tempConfig();
  flowsTree(C8Y_BUILTIN_FLOWS, "c8y", dir);
  return dir;
}

function flowsTest(dir: string, input: string[], extra: string[] = []) {
  const r = ledge(
    ["--config-dir", dir, "flows", "test", "--mapper", "c8y", "--processing-time", TIME, ...extra],
    {},
    `${input.join("\n")}\n`,
  );
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).map(parse);
}

describe("thin-edge's c8y builtin flows = ledge's c8y mapper", () => {
  const meta = msg("te/device/main///m/env/meta", { temp: { unit: "°C" } });

  it("measurements, events and alarms of the main device and of children, table-driven", async () => {
    const dir = await c8yFlows();
    const input = [line(meta.topic, meta.payload.toString()), ...rows.map(([, t, p]) => line(t, p))];
    const flows = flowsTest(dir, input, ["--context", JSON.stringify(CHILD_CONTEXT)]);
    const mapper = c8yMapper({ now: () => Date.parse(TIME) });
    mapper.translate(CHILD_REGISTRATION);
    mapper.translate(meta);
    const expected = rows.flatMap(([, t, p]) =>
      // the mapper also tells Cumulocity about a child it auto-registered (101): not the flows' job
      pairs(mapper.translate(msg(t, p))).filter(([, body]) => !body.startsWith("101,")),
    );
    assert.deepEqual(flows, expected);
    for (const [i, [name, , , expect]] of rows.entries())
      assert.match(flows[i]?.[1] ?? "", expect, `${name}: ${flows[i]?.join(" ")}`);
  });

  it("an unregistered entity's messages are held by cache-early-messages and released by its registration", async () => {
    const dir = await c8yFlows();
    const data = [
      msg("te/factory/press1///m/pressure", { bar: 3 }),
      msg("te/factory/press1///e/stroke", { text: "stroke", count: 7 }),
    ];
    const registration = msg("te/factory/press1//", { "@type": "child-device", "@id": "press-1" });
    const input = [...data, registration].map((m) => line(m.topic, m.payload.toString()));
    // Without the registration nothing leaves (the positive control is the run below).
    assert.deepEqual(flowsTest(dir, input.slice(0, 2)), []);
    const flows = flowsTest(dir, input);
    const mapper = c8yMapper({ now: () => Date.parse(TIME) });
    for (const m of data) assert.deepEqual(mapper.translate(m), []);
    const expected = pairs(mapper.translate(registration)).filter(([, body]) => !body.startsWith("101,"));
    assert.equal(expected.length, 2);
    // each flow keeps its messages' order; the two flows release in flow order
    assert.deepEqual(flows.sort(), expected.sort());
    assert.match(flows.join(), /"externalId":"press-1".*"bar":\{"value":3\.0\}/);
  });

  it("an entity's registration removed: its data is held again (outside the default scheme: no auto-registration)", async () => {
    const dir = await c8yFlows();
    const m = line("te/factory/press1///m/p", { bar: 1 });
    const reg = '[te/factory/press1//] {"@type":"child-device","@id":"press-1"}';
    const out = flowsTest(dir, [reg, m, "[te/factory/press1//] ", m]);
    assert.equal(out.length, 1);
    assert.match(out[0]?.[1] ?? "", /"externalId":"press-1"/);
  });

  it("--profile: list, config-dir and test use the flows of mappers/c8y.<profile>/flows (TEDGE-FACTS §10.6)", async () => {
    const { dir } = await tempConfig();
    flowsTree(C8Y_BUILTIN_FLOWS, "c8y.second", dir);
    flowsTree({ "other.toml": 'input.mqtt.topics = ["x"]\nsteps = []\n' }, "c8y", dir);
    const base = ["--config-dir", dir, "flows"];
    const where = ledge([...base, "config-dir", "--mapper", "c8y", "--profile", "second"]);
    assert.equal(where.stdout.trim(), join(dir, "mappers", "c8y.second", "flows"));
    const list = ledge([...base, "list", "--mapper", "c8y", "--profile", "second"]);
    assert.equal(list.code, 0, list.stderr);
    const names = list.stdout
      .split("\n")
      .filter((l) => l && !l.startsWith("\t"))
      .map((l) => l.split("\t")[0]);
    assert.deepEqual(names, ["alarms", "events", "measurements", "units"]);
    assert.match(
      list.stdout,
      /steps: add-timestamp -> cache-early-messages -> into-c8y-measurements -> limit-payload-size/,
    );
    const one = ledge([
      ...base,
      "list",
      "--mapper",
      "c8y",
      "--profile",
      "second",
      "--topic",
      "te/device/main///e/x",
    ]);
    assert.deepEqual(
      one.stdout
        .split("\n")
        .filter((l) => l && !l.startsWith("\t"))
        .map((l) => l.split("\t")[0]),
      ["events"],
    );
    // without the profile: the other mapper's flows (positive control that --profile chose the dir)
    const plain = ledge([...base, "list", "--mapper", "c8y"]);
    assert.match(plain.stdout, /^other\t/);
    const test = ledge([
      ...base,
      "test",
      "--mapper",
      "c8y",
      "--profile",
      "second",
      "--processing-time",
      TIME,
      "te/device/child9///m/env",
      '{"t":9}',
    ]);
    assert.equal(test.code, 0, test.stderr);
    assert.equal(
      test.stdout,
      '[c8y/measurement/measurements/create] {"externalSource":{"externalId":"test-device:device:child9","type":"c8y_Serial"},"t":{"t":{"value":9.0}},"time":"2024-01-01T00:00:00.250Z","type":"env"}\n',
    );
  });
});
