import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { c8yMapper, msg, NOW_ISO, run } from "../helpers/mappers-fixtures.ts";

const M = "c8y/measurement/measurements/create";
const child1 = msg("te/device/child1//", { "@type": "child-device" });

type Row = {
  name: string;
  setup?: ReturnType<typeof msg>[];
  topic: string;
  payload: string | object;
  out: string;
};

// One row per documented input → output pair (thin-edge's Cumulocity mapper docs), compared as exact strings.
const rows: Row[] = [
  {
    name: "child measurement carries externalSource c8y_Serial, integral values as f64 (thin-edge docs)",
    setup: [child1],
    topic: "te/device/child1///m/",
    payload: '{"temp":1,"time":"2021-11-16T17:45:40.571760714+01:00"}',
    out: '{"externalSource":{"externalId":"test-device:device:child1","type":"c8y_Serial"},"temp":{"temp":{"value":1.0}},"time":"2021-11-16T17:45:40.571760714+01:00","type":"ThinEdgeMeasurement"}',
  },
  {
    name: "main device measurement has no externalSource; missing time is now",
    topic: "te/device/main///m/",
    payload: { temperature: 23.5 },
    out: `{"temperature":{"temperature":{"value":23.5}},"time":"${NOW_ISO}","type":"ThinEdgeMeasurement"}`,
  },
  {
    name: "topic type is the measurement type",
    topic: "te/device/main///m/environment",
    payload: { temperature: 23.5, time: "2024-01-01T00:00:00Z" },
    out: '{"temperature":{"temperature":{"value":23.5}},"time":"2024-01-01T00:00:00Z","type":"environment"}',
  },
  {
    name: "a payload type wins over the topic's",
    topic: "te/device/main///m/environment",
    payload: { type: "mine", x: 1.5, time: "2024-01-01T00:00:00Z" },
    out: '{"x":{"x":{"value":1.5}},"time":"2024-01-01T00:00:00Z","type":"mine"}',
  },
  {
    name: "unix seconds become ISO 8601 without fraction (thin-edge docs)",
    topic: "te/device/main///m/",
    payload: { t: 2.5, time: 1701949168 },
    out: '{"t":{"t":{"value":2.5}},"time":"2023-12-07T11:39:28Z","type":"ThinEdgeMeasurement"}',
  },
  {
    name: "unix seconds with a fraction keep milliseconds (thin-edge docs)",
    topic: "te/device/main///m/",
    payload: { t: 2.5, time: 1701949168.001 },
    out: '{"t":{"t":{"value":2.5}},"time":"2023-12-07T11:39:28.001Z","type":"ThinEdgeMeasurement"}',
  },
  {
    name: "units from the retained meta topic (thin-edge docs)",
    setup: [
      msg("te/device/main///m/env/meta", {
        "Climate.Temperature": { unit: "°C" },
        pressure: { unit: "hPa" },
      }),
    ],
    topic: "te/device/main///m/env",
    payload: {
      Climate: { Temperature: 23.4, Humidity: 40.5 },
      pressure: 1013.2,
      time: "2024-01-01T00:00:00Z",
    },
    out: '{"Climate":{"Temperature":{"value":23.4,"unit":"°C"},"Humidity":{"value":40.5}},"pressure":{"pressure":{"value":1013.2,"unit":"hPa"}},"time":"2024-01-01T00:00:00Z","type":"env"}',
  },
  {
    name: "units of one type do not apply to another",
    setup: [msg("te/device/main///m/env/meta", { pressure: { unit: "hPa" } })],
    topic: "te/device/main///m/other",
    payload: { pressure: 1013.2, time: "2024-01-01T00:00:00Z" },
    out: '{"pressure":{"pressure":{"value":1013.2}},"time":"2024-01-01T00:00:00Z","type":"other"}',
  },
  {
    name: "a service's measurement names the service as externalSource",
    topic: "te/device/main/service/collectd/m/cpu",
    setup: [msg("te/device/main/service/collectd", { "@type": "service" })],
    payload: { load: 0.5, time: "2024-01-01T00:00:00Z" },
    out: '{"externalSource":{"externalId":"test-device:device:main:service:collectd","type":"c8y_Serial"},"load":{"load":{"value":0.5}},"time":"2024-01-01T00:00:00Z","type":"cpu"}',
  },
  {
    name: "@id overrides the external id",
    setup: [msg("te/factory/line1/press/2", { "@type": "child-device", "@id": "press-2" })],
    topic: "te/factory/line1/press/2/m/",
    payload: { p: 2.25, time: "2024-01-01T00:00:00Z" },
    out: '{"externalSource":{"externalId":"press-2","type":"c8y_Serial"},"p":{"p":{"value":2.25}},"time":"2024-01-01T00:00:00Z","type":"ThinEdgeMeasurement"}',
  },
];

describe("c8y measurements", () => {
  for (const r of rows) {
    it(r.name, () => {
      const out = run(c8yMapper(), r.setup ?? [], msg(r.topic, r.payload));
      assert.deepEqual(out, [[M, r.out]]);
    });
  }

  it("groups become one fragment with a series per key (thin-edge docs)", () => {
    const out = run(
      c8yMapper(),
      [],
      msg("te/device/main///m/", '{"temperature":25,"location":{"latitude":32.54,"longitude":-117.67}}'),
    );
    const body = JSON.parse(out[0]![1]);
    assert.deepEqual(body.temperature, { temperature: { value: 25 } });
    assert.deepEqual(body.location, { latitude: { value: 32.54 }, longitude: { value: -117.67 } });
    assert.equal(body.externalSource, undefined);
  });

  it("a child seen first in data is auto-registered (101) before its measurement", () => {
    const out = run(c8yMapper(), [], msg("te/device/child2///m/", { t: 1.5, time: "2024-01-01T00:00:00Z" }));
    assert.deepEqual(out[0], ["c8y/s/us", "101,test-device:device:child2,child2,thin-edge.io-child,false"]);
    assert.equal(out[1]![0], M);
    assert.equal(out.length, 2);
  });

  const bad: [string, string, string | object, RegExp][] = [
    ["malformed JSON", "te/device/main///m/", "{not json", /invalid JSON/],
    [
      "nesting deeper than one group",
      "te/device/main///m/",
      { a: { b: { c: 1 } } },
      /nest at most one level/,
    ],
    ["a string value", "te/device/main///m/", { a: "high" }, /must be a number/],
    ["an empty root", "te/device/main///m/", {}, /at least one value/],
    ["a time out of range", "te/device/main///m/", { a: 1, time: 1e13 }, /out of range/],
    ["a non-string type", "te/device/main///m/", { a: 1, type: 3 }, /'type' must be a string/],
    ["an array root", "te/device/main///m/", [1, 2], /must be a JSON object/],
    [
      "externalSource as a measurement name (thin-edge: reserved)",
      "te/device/main///m/",
      { externalSource: 1 },
      /'externalSource' is reserved/,
    ],
    [
      "a payload over mqtt.max_payload_bytes",
      "te/device/main///m/",
      { a: 1, pad: "x".repeat(5000) },
      /exceeds mqtt.max_payload_bytes/,
    ],
  ];
  for (const [name, topic, payload, re] of bad) {
    it(`${name} → te/errors naming the topic, and the mapper keeps going`, () => {
      const mapper = c8yMapper();
      const out = run(mapper, [], msg(topic, payload));
      assert.equal(out.length, 1);
      assert.equal(out[0]![0], "te/errors");
      assert.ok(out[0]![1].startsWith(`${topic}: `), out[0]![1]);
      assert.match(out[0]![1], re);
      const next = run(mapper, [], msg("te/device/main///m/", { a: 1.5, time: "2024-01-01T00:00:00Z" }));
      assert.equal(next[0]![0], M);
    });
  }

  it("data on a custom-scheme topic before its registration is held and mapped once registered (thin-edge)", () => {
    const mapper = c8yMapper();
    assert.deepEqual(run(mapper, [], msg("te/factory/a/b/c/m/", { a: 1, time: "2024-01-01T00:00:00Z" })), []);
    const out = run(mapper, [], msg("te/factory/a/b/c", { "@type": "child-device", "@id": "press-1" }, true));
    assert.deepEqual(out, [
      ["c8y/s/us", "101,press-1,press-1,thin-edge.io-child,false"],
      [
        M,
        '{"externalSource":{"externalId":"press-1","type":"c8y_Serial"},"a":{"a":{"value":1.0}},"time":"2024-01-01T00:00:00Z","type":"ThinEdgeMeasurement"}',
      ],
    ]);
    // Once only: held messages are released with the registration.
    assert.deepEqual(
      run(mapper, [], msg("te/factory/a/b/c", { "@type": "child-device", "@id": "press-1", name: "P" }, true))
        .length,
      1,
    );
  });
});
