import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  validateAlarm,
  validateEvent,
  validateMeasurement,
  validateRegistration,
} from "../../src/api/payloads.ts";
import { normaliseTime, unixToIso } from "../../src/api/time.ts";

describe("Thin Edge JSON measurements", () => {
  const valid: [string, unknown, object][] = [
    ["single value", { temp: 1 }, { values: { temp: 1 } }],
    [
      "group of values",
      { location: { latitude: 32.54, longitude: -117.67 } },
      { values: { location: { latitude: 32.54, longitude: -117.67 } } },
    ],
    [
      "ISO time kept verbatim",
      { temp: 1, time: "2021-11-16T17:45:40.571760714+01:00" },
      { time: "2021-11-16T17:45:40.571760714+01:00", values: { temp: 1 } },
    ],
    [
      "unix seconds → ISO",
      { temp: 1, time: 1701949168 },
      { time: "2023-12-07T11:39:28Z", values: { temp: 1 } },
    ],
    [
      "decimal unix keeps milliseconds",
      { temp: 1, time: 1701949168.001 },
      { time: "2023-12-07T11:39:28.001Z", values: { temp: 1 } },
    ],
    ["payload type overrides topic type", { type: "env", temp: 1 }, { type: "env", values: { temp: 1 } }],
    [
      "negative, zero and large numbers",
      { a: -1.5, b: 0, c: 1e300 },
      { values: { a: -1.5, b: 0, c: 1e300 } },
    ],
  ];
  for (const [name, input, expected] of valid) {
    it(`accepts: ${name}`, () => {
      const r = validateMeasurement(input);
      assert.ok(r.ok, r.ok ? "" : r.error);
      assert.deepEqual(JSON.parse(JSON.stringify(r.value)), expected);
    });
  }
  const invalid: [string, unknown, RegExp][] = [
    ["empty root is an error", {}, /at least one value/],
    ["deeper nesting is an error", { a: { b: { c: 1 } } }, /nest at most one level/],
    ["string value", { temp: "hot" }, /must be a number or a group/],
    ["boolean value", { on: true }, /must be a number or a group/],
    ["null value", { temp: null }, /must be a number or a group/],
    ["array value", { temp: [1, 2] }, /must be a number or a group/],
    ["non-number in group", { g: { a: "x" } }, /'g.a' must be a number/],
    ["empty group", { g: {} }, /group 'g' is empty/],
    ["array root", [1, 2], /must be a JSON object/],
    ["number root", 42, /must be a JSON object/],
    ["time below range", { t: 1, time: -377705116801 }, /out of range/],
    ["time above range", { t: 1, time: 253402300800 }, /out of range/],
    ["time not a date", { t: 1, time: "yesterday" }, /not an ISO 8601/],
    ["time impossible date", { t: 1, time: "2021-13-45T99:00:00Z" }, /not an ISO 8601/],
    ["time of wrong type", { t: 1, time: true }, /ISO 8601 string or unix seconds/],
    ["type not a string", { t: 1, type: 3 }, /'type' must be a string/],
  ];
  for (const [name, input, error] of invalid) {
    it(`refuses: ${name}`, () => {
      const r = validateMeasurement(input);
      assert.ok(!r.ok);
      assert.match(r.error, error);
    });
  }
});

describe("events, alarms, registrations", () => {
  it("event keeps text, time and custom fragments", () => {
    const r = validateEvent({ text: "Someone clicked", time: "2020-02-02T01:02:03+05:30", extra: { a: 1 } });
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      text: "Someone clicked",
      time: "2020-02-02T01:02:03+05:30",
      fragments: { extra: { a: 1 } },
    });
  });
  it("event text must be a string", () => assert.ok(!validateEvent({ text: 5 }).ok));

  const severities: [unknown, string][] = [
    ["critical", "critical"],
    ["MAJOR", "major"],
    ["warning", "warning"],
    [undefined, "minor"],
    ["catastrophic", "minor"],
    [3, "minor"],
  ];
  for (const [input, expected] of severities) {
    it(`alarm severity ${JSON.stringify(input)} maps to ${expected} (default and unknown → minor)`, () => {
      const r = validateAlarm({ text: "x", severity: input });
      assert.ok(r.ok);
      assert.equal(r.value.severity, expected);
    });
  }
  it("registration needs a known @type", () => {
    assert.ok(validateRegistration({ "@type": "child-device", name: "c" }).ok);
    assert.match(
      (validateRegistration({ "@type": "robot" }) as { error: string }).error,
      /'@type' must be one of/,
    );
    assert.match(
      (validateRegistration({ "@type": "service", "@parent": 1 }) as { error: string }).error,
      /'@parent' must be a string/,
    );
  });
  it("unix time conversion", () => {
    assert.equal(unixToIso(0), "1970-01-01T00:00:00Z");
    assert.deepEqual(normaliseTime(-377705116800), { ok: true, iso: "-009999-01-01T00:00:00Z" });
  });
});
