import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Batcher, decodeFrame } from "../../src/batch/index.ts";
import { AwsMapper } from "../../src/mappers/aws/mapper.ts";
import { AzMapper } from "../../src/mappers/az/mapper.ts";
import { MqttMapper } from "../../src/mappers/mqtt/mapper.ts";
import { ctx, msg, NOW, NOW_ISO, run } from "../helpers/mappers-fixtures.ts";

type Row = [name: string, topic: string, payload: string | object, out: [string, string][]];

const az: Row[] = [
  [
    "a measurement keeps its payload; ISO time kept verbatim (thin-edge docs)",
    "te/device/main///m/env",
    '{"temperature":23,"time":"2021-11-16T17:45:40.571760714+01:00"}',
    [["az/messages/events/", '{"temperature":23,"time":"2021-11-16T17:45:40.571760714+01:00"}']],
  ],
  [
    "unix time is normalised to ISO 8601 in place (thin-edge docs)",
    "te/device/main///m/",
    '{"time":1701949168,"temperature":23}',
    [["az/messages/events/", '{"time":"2023-12-07T11:39:28Z","temperature":23}']],
  ],
  [
    "missing time is added (thin-edge docs)",
    "te/device/main///m/",
    '{"temperature":23,"location":{"lat":1.5}}',
    [["az/messages/events/", `{"temperature":23,"location":{"lat":1.5},"time":"${NOW_ISO}"}`]],
  ],
  [
    "an event with fragments",
    "te/device/main///e/login",
    '{"text":"hi","user":{"id":1}}',
    [["az/messages/events/", `{"text":"hi","user":{"id":1},"time":"${NOW_ISO}"}`]],
  ],
  [
    "an alarm",
    "te/device/main///a/hot",
    '{"severity":"major","text":"hot","time":1701949168.001}',
    [["az/messages/events/", '{"severity":"major","text":"hot","time":"2023-12-07T11:39:28.001Z"}']],
  ],
  ["an alarm clear has no Azure counterpart", "te/device/main///a/hot", "", []],
  [
    "a child's measurement too",
    "te/device/child1///m/",
    '{"a":1}',
    [["az/messages/events/", `{"a":1,"time":"${NOW_ISO}"}`]],
  ],
  ["measurement metadata is not telemetry", "te/device/main///m/env/meta", '{"a":{"unit":"C"}}', []],
];

const aws: Row[] = [
  [
    "child measurement → aws/td/device:child/m/test_type (thin-edge docs)",
    "te/device/child///m/test_type",
    '{"temperature":23,"time":"2024-01-01T00:00:00Z"}',
    [["aws/td/device:child/m/test_type", '{"temperature":23,"time":"2024-01-01T00:00:00Z"}']],
  ],
  [
    "main device, time added",
    "te/device/main///m/env",
    '{"t":1}',
    [["aws/td/device:main/m/env", `{"t":1,"time":"${NOW_ISO}"}`]],
  ],
  [
    "a service's event",
    "te/device/main/service/app/e/start",
    '{"text":"started","time":1701949168}',
    [["aws/td/device:main:service:app/e/start", '{"text":"started","time":"2023-12-07T11:39:28Z"}']],
  ],
  [
    "an alarm",
    "te/device/child///a/hot",
    '{"text":"hot","severity":"critical"}',
    [["aws/td/device:child/a/hot", `{"text":"hot","severity":"critical","time":"${NOW_ISO}"}`]],
  ],
  ["an alarm clear is forwarded empty", "te/device/child///a/hot", "", [["aws/td/device:child/a/hot", ""]]],
];

const errors: [string, string, string | object, RegExp][] = [
  ["malformed JSON", "te/device/main///m/", "{x", /invalid JSON/],
  ["too-deep nesting", "te/device/main///m/", { a: { b: { c: 1 } } }, /nest at most one level/],
  ["a string value", "te/device/main///m/", { a: "1" }, /must be a number/],
  [
    "an entity outside the default scheme",
    "te/plant/a/b/c/m/",
    { a: 1 },
    /Try explicit registration instead/,
  ],
  [
    "a huge payload",
    "te/device/main///m/",
    { a: 1, pad: "y".repeat(10_000) },
    /exceeds mqtt.max_payload_bytes/,
  ],
];

describe("az mapper", () => {
  for (const [name, topic, payload, out] of az)
    it(`${name} (timestamp_format rfc3339)`, () =>
      assert.deepEqual(run(new AzMapper(ctx, "rfc3339"), [], msg(topic, payload)), out));
  const unix: Row[] = [
    [
      "timestamp_format unix (thin-edge's default): an ISO time becomes unix seconds, its fraction kept",
      "te/device/main///m/env",
      '{"temperature":23,"time":"2021-11-16T17:45:40.571760714+01:00"}',
      [["az/messages/events/", '{"temperature":23,"time":1637081140.5717607}']],
    ],
    [
      "timestamp_format unix: unix time is kept as given",
      "te/device/main///m/",
      '{"time":1701949168,"temperature":23}',
      [["az/messages/events/", '{"time":1701949168,"temperature":23}']],
    ],
    [
      "timestamp_format unix: a missing time is added as unix seconds",
      "te/device/main///e/x",
      '{"text":"y"}',
      [["az/messages/events/", `{"text":"y","time":${NOW / 1000}}`]],
    ],
    [
      "service health is forwarded to az/messages/events/ unchanged (thin-edge)",
      "te/device/main/service/app/status/health",
      '{"status":"up","pid":7}',
      [["az/messages/events/", '{"status":"up","pid":7}']],
    ],
  ];
  for (const [name, topic, payload, out] of unix)
    it(name, () => assert.deepEqual(run(new AzMapper(ctx), [], msg(topic, payload)), out));
  for (const [name, topic, payload, re] of errors)
    it(`${name} → te/errors and the mapper keeps going`, () => {
      const m = new AzMapper(ctx);
      const out = run(m, [], msg(topic, payload));
      assert.equal(out[0]![0], "te/errors");
      assert.match(out[0]![1], re);
      assert.equal(run(m, [], msg("te/device/main///m/", { a: 1 }))[0]![0], "az/messages/events/");
    });
  it("an explicitly registered entity outside the default scheme is accepted", () => {
    const reg = msg("te/plant/a/b/c", { "@type": "child-device" });
    assert.equal(
      run(new AzMapper(ctx), [reg], msg("te/plant/a/b/c/m/", { a: 1 }))[0]![0],
      "az/messages/events/",
    );
  });
});

describe("aws mapper", () => {
  for (const [name, topic, payload, out] of aws)
    it(`${name} (timestamp_format rfc3339)`, () =>
      assert.deepEqual(run(new AwsMapper(ctx, "rfc3339"), [], msg(topic, payload)), out));
  it("timestamp_format unix (thin-edge's default) → unix seconds", () =>
    assert.deepEqual(
      run(new AwsMapper(ctx), [], msg("te/device/child///m/t", '{"a":1,"time":"2024-01-01T00:00:00Z"}')),
      [["aws/td/device:child/m/t", '{"a":1,"time":1704067200}']],
    ));
  it("service health → aws/td/<entity>/status/health unchanged (thin-edge)", () =>
    assert.deepEqual(
      run(new AwsMapper(ctx), [], msg("te/device/main/service/app/status/health", '{"status":"down"}')),
      [["aws/td/device:main:service:app/status/health", '{"status":"down"}']],
    ));
  for (const [name, topic, payload, re] of errors)
    it(`${name} → te/errors`, () =>
      assert.match(run(new AwsMapper(ctx), [], msg(topic, payload))[0]![1], re));
});

describe("plain MQTT mapper", () => {
  const json = new MqttMapper({ ...ctx, prefix: "ledge/test-device" });
  it("JSON: te/ telemetry re-published under the prefix, time normalised", () => {
    assert.deepEqual(run(json, [], msg("te/device/child1///m/env", '{"t":1,"time":1701949168}')), [
      ["ledge/test-device/device/child1///m/env", '{"t":1,"time":"2023-12-07T11:39:28Z"}'],
    ]);
    assert.deepEqual(run(json, [], msg("te/device/main///e/x", '{"text":"y"}')), [
      ["ledge/test-device/device/main///e/x", `{"text":"y","time":"${NOW_ISO}"}`],
    ]);
  });
  for (const [name, topic, payload, re] of errors)
    it(`${name} → te/errors`, () => assert.match(run(json, [], msg(topic, payload))[0]![1], re));

  it("CBOR: measurements become frames on <prefix>/batch that decode to the same readings", () => {
    let now = NOW;
    const m = new MqttMapper({
      ...ctx,
      now: () => now,
      prefix: "p",
      batcher: new Batcher({ maxCount: 1000, maxAgeMs: 1000 }),
    });
    assert.deepEqual(
      m.translate(msg("te/device/child1///m/env", { t: 21.5, g: { a: 1, b: 2 }, time: 1701949168 })),
      [],
    );
    assert.equal(
      m.translate(msg("te/device/main///e/x", { text: "still JSON" }))[0]!.topic,
      "p/device/main///e/x",
    );
    assert.equal(m.nextDeadline(), NOW + 1000);
    assert.deepEqual(m.poll(NOW + 999), []);
    now = NOW + 1000;
    const [frame] = m.poll(now);
    assert.equal(frame!.topic, "p/batch");
    const records = decodeFrame(frame!.payload as Uint8Array);
    assert.deepEqual(
      records.map((r) => [r.entity, r.type, r.series, r.value, r.tsMs]),
      [
        ["device/child1//", "env", "t", 21.5, 1701949168000],
        ["device/child1//", "env", "g.a", 1, 1701949168000],
        ["device/child1//", "env", "g.b", 2, 1701949168000],
      ],
    );
    assert.deepEqual(m.flush(), []);
  });
});
