import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { c8yMapper, msg, NOW_ISO, run } from "../helpers/mappers-fixtures.ts";

const child1 = msg("te/device/child1//", { "@type": "child-device" });
type Row = [
  name: string,
  topic: string,
  payload: string | object,
  out: [string, string][],
  setup?: ReturnType<typeof msg>[],
];

const events: Row[] = [
  [
    "an event whose only extra key is `type` → SmartREST 400 with that type (thin-edge)",
    "te/device/main///e/",
    { text: "hello", type: "login_event", time: "2024-01-01T00:00:00Z" },
    [["c8y/s/us", '400,login_event,"hello",2024-01-01T00:00:00Z']],
  ],
  [
    "main device event → SmartREST 400 with the text quoted (thin-edge docs)",
    "te/device/main///e/",
    { text: "Someone clicked", time: "2020-02-02T01:02:03+05:30" },
    [["c8y/s/us", '400,ThinEdgeEvent,"Someone clicked",2020-02-02T01:02:03+05:30']],
  ],
  [
    "quotes inside the text are doubled",
    "te/device/main///e/login",
    { text: 'user "bob", from afar', time: "2024-01-01T00:00:00Z" },
    [["c8y/s/us", '400,login,"user ""bob"", from afar",2024-01-01T00:00:00Z']],
  ],
  [
    "missing text is the type, missing time is now",
    "te/device/main///e/door_open",
    {},
    [["c8y/s/us", `400,door_open,"door_open",${NOW_ISO}`]],
  ],
  [
    "an empty payload is an event with no text",
    "te/device/main///e/ping",
    "",
    [["c8y/s/us", `400,ping,"ping",${NOW_ISO}`]],
  ],
  [
    "custom fragments → JSON on c8y/event/events/create (thin-edge docs)",
    "te/device/main///e/login_event",
    {
      text: "A user just logged in",
      time: "2021-01-01T05:30:45+00:00",
      someOtherCustomFragment: { nested: { value: "extra info" } },
    },
    [
      [
        "c8y/event/events/create",
        '{"type":"login_event","text":"A user just logged in","time":"2021-01-01T05:30:45+00:00","someOtherCustomFragment":{"nested":{"value":"extra info"}}}',
      ],
    ],
  ],
  [
    "a child's event → JSON with externalSource (thin-edge docs)",
    "te/device/child1///e/click",
    { text: "clicked", time: "2024-01-01T00:00:00Z" },
    [
      [
        "c8y/event/events/create",
        '{"type":"click","text":"clicked","time":"2024-01-01T00:00:00Z","externalSource":{"externalId":"test-device:device:child1","type":"c8y_Serial"}}',
      ],
    ],
    [child1],
  ],
];

const alarms: Row[] = [
  [
    "major alarm → 302 with the text unquoted (thin-edge docs)",
    "te/device/main///a/temperature_alarm",
    { severity: "major", text: "Temperature high", time: "2024-01-01T00:00:00Z" },
    [["c8y/s/us", "302,temperature_alarm,Temperature high,2024-01-01T00:00:00Z"]],
  ],
  [
    "alarm without time gets now (thin-edge docs, <time>)",
    "te/device/main///a/temperature_alarm",
    { severity: "major", text: "Temperature high" },
    [["c8y/s/us", `302,temperature_alarm,Temperature high,${NOW_ISO}`]],
  ],
  [
    "critical → 301",
    "te/device/main///a/x",
    { severity: "critical", text: "t", time: "2024-01-01T00:00:00Z" },
    [["c8y/s/us", "301,x,t,2024-01-01T00:00:00Z"]],
  ],
  [
    "minor → 303",
    "te/device/main///a/x",
    { severity: "minor", text: "t", time: "2024-01-01T00:00:00Z" },
    [["c8y/s/us", "303,x,t,2024-01-01T00:00:00Z"]],
  ],
  [
    "warning → 304",
    "te/device/main///a/x",
    { severity: "warning", text: "t", time: "2024-01-01T00:00:00Z" },
    [["c8y/s/us", "304,x,t,2024-01-01T00:00:00Z"]],
  ],
  [
    "missing severity maps to minor",
    "te/device/main///a/x",
    { text: "t", time: "2024-01-01T00:00:00Z" },
    [["c8y/s/us", "303,x,t,2024-01-01T00:00:00Z"]],
  ],
  [
    "unknown severity maps to minor",
    "te/device/main///a/x",
    { severity: "dire", text: "t", time: "2024-01-01T00:00:00Z" },
    [["c8y/s/us", "303,x,t,2024-01-01T00:00:00Z"]],
  ],
  [
    "missing text is the type",
    "te/device/main///a/fan_stuck",
    { severity: "major", time: "2024-01-01T00:00:00Z" },
    [["c8y/s/us", "302,fan_stuck,fan_stuck,2024-01-01T00:00:00Z"]],
  ],
  [
    "a text with a comma is quoted",
    "te/device/main///a/x",
    { severity: "major", text: "hot, very", time: "2024-01-01T00:00:00Z" },
    [["c8y/s/us", '302,x,"hot, very",2024-01-01T00:00:00Z']],
  ],
  [
    "empty payload clears: 306 (thin-edge docs)",
    "te/device/main///a/temperature_alarm",
    "",
    [["c8y/s/us", "306,temperature_alarm"]],
  ],
  [
    "a child's alarm goes on c8y/s/us/<child external id> (thin-edge docs)",
    "te/device/child1///a/temperature_alarm",
    { severity: "critical", text: "Temperature high", time: "2024-01-01T00:00:00Z" },
    [["c8y/s/us/test-device:device:child1", "301,temperature_alarm,Temperature high,2024-01-01T00:00:00Z"]],
    [child1],
  ],
  [
    "a child's clear too",
    "te/device/child1///a/temperature_alarm",
    "",
    [["c8y/s/us/test-device:device:child1", "306,temperature_alarm"]],
    [child1],
  ],
  [
    "custom fragments → JSON with uppercase severity (thin-edge docs)",
    "te/device/main///a/temperature_alarm",
    { severity: "major", text: "Temperature high", time: "2024-01-01T00:00:00Z", place: { room: "A" } },
    [
      [
        "c8y/alarm/alarms/create",
        '{"type":"temperature_alarm","severity":"MAJOR","text":"Temperature high","time":"2024-01-01T00:00:00Z","place":{"room":"A"}}',
      ],
    ],
  ],
  [
    "a child's JSON alarm carries externalSource",
    "te/device/child1///a/temperature_alarm",
    { severity: "warning", text: "T", time: "2024-01-01T00:00:00Z", x: 1 },
    [
      [
        "c8y/alarm/alarms/create",
        '{"type":"temperature_alarm","severity":"WARNING","text":"T","time":"2024-01-01T00:00:00Z","x":1,"externalSource":{"externalId":"test-device:device:child1","type":"c8y_Serial"}}',
      ],
    ],
    [child1],
  ],
];

describe("c8y events", () => {
  for (const [name, topic, payload, out, setup] of events)
    it(name, () => assert.deepEqual(run(c8yMapper(), setup ?? [], msg(topic, payload)), out));
  it("a non-string text → te/errors", () => {
    const out = run(c8yMapper(), [], msg("te/device/main///e/x", { text: 5 }));
    assert.deepEqual(out, [["te/errors", "te/device/main///e/x: 'text' must be a string"]]);
  });
});

describe("c8y alarms", () => {
  for (const [name, topic, payload, out, setup] of alarms)
    it(name, () => assert.deepEqual(run(c8yMapper(), setup ?? [], msg(topic, payload)), out));
  it("a bad time → te/errors", () => {
    const out = run(c8yMapper(), [], msg("te/device/main///a/x", { time: "yesterday" }));
    assert.equal(out[0]![0], "te/errors");
    assert.match(out[0]![1], /not an ISO 8601/);
  });
});
