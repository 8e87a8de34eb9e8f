import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultExternalId, defaultScheme, parseTopic, topicFor } from "../../src/api/topics.ts";
import { filterError, matches, topicError } from "../../src/bus/topic-filter.ts";

describe("te/ topics", () => {
  const ok: [string, object][] = [
    [
      "te/device/main///m/environment",
      { entity: "device/main//", channel: "m", type: "environment", rest: [] },
    ],
    ["te/device/main///m/", { entity: "device/main//", channel: "m", type: "", rest: [] }],
    ["te/device/child01//", { entity: "device/child01//", rest: [] }],
    [
      "te/device/main/service/node_red/status/health",
      { entity: "device/main/service/node_red", channel: "status", type: "health", rest: [] },
    ],
    ["te/device/main///m/env/meta", { entity: "device/main//", channel: "m", type: "env", rest: ["meta"] }],
    [
      "te/device/main///cmd/software_update/c8y-mapper-1",
      { entity: "device/main//", channel: "cmd", type: "software_update", rest: ["c8y-mapper-1"] },
    ],
    [
      "te/factory/shop/line/robot/a/jam",
      { entity: "factory/shop/line/robot", channel: "a", type: "jam", rest: [] },
    ],
  ];
  for (const [topic, value] of ok) {
    it(`parses ${topic}`, () => {
      const r = parseTopic(topic);
      assert.ok(r.ok);
      assert.deepEqual(r.value, value);
    });
  }

  const bad: [string, RegExp][] = [
    ["te/device/main", /four segments/],
    ["tx/device/main///m/", /not under 'te\/'/],
    ["te/device/main///x/foo", /unknown channel 'x'/],
    ["te/errors", /four segments/],
  ];
  for (const [topic, error] of bad) {
    it(`refuses ${topic}`, () => {
      const r = parseTopic(topic);
      assert.ok(!r.ok);
      assert.match(r.error, error);
    });
  }

  it("builds topics", () => {
    assert.equal(topicFor("te", "device/main//", "m", "env"), "te/device/main///m/env");
    assert.equal(
      topicFor("te", "device/child1//", "cmd", "restart", "1"),
      "te/device/child1///cmd/restart/1",
    );
  });

  const schemes: [string, object | undefined][] = [
    ["device/main//", { kind: "device", name: "main" }],
    ["device/child01//", { kind: "child-device", parent: "device/main//", name: "child01" }],
    ["device/main/service/node_red", { kind: "service", parent: "device/main//", name: "node_red" }],
    ["device/child01/service/app", { kind: "service", parent: "device/child01//", name: "app" }],
    ["factory/shop/line/robot", undefined],
    ["device//service/x", undefined],
    ["device/main/foo/", undefined],
  ];
  for (const [id, expected] of schemes) {
    it(`default scheme of ${id}`, () => assert.deepEqual(defaultScheme(id), expected));
  }

  const xids: [string, string][] = [
    ["device/main//", "test-device"],
    ["device/child1//", "test-device:device:child1"],
    ["device/main/service/collectd", "test-device:device:main:service:collectd"],
  ];
  for (const [id, xid] of xids)
    it(`cloud id of ${id} is ${xid}`, () => assert.equal(defaultExternalId("test-device", id), xid));
});

describe("MQTT topic rules", () => {
  const cases: [string, string, boolean][] = [
    ["te/#", "te/device/main///m/x", true],
    ["te/#", "te", true],
    ["te/+/+/+/+", "te/device/main//", true],
    ["te/+/+/+/+", "te/device/main///m/", false],
    ["+/x", "$SYS/x", false],
    ["#", "$SYS/broker", false],
    ["a/+/c", "a//c", true],
    ["a/b", "a/bc", false],
    ["a/+", "a", false],
    ["a", "a/", false],
    ["a/+", "a/", true],
    ["#/x", "$SYS/x", false],
    ["$SYS/#", "$SYS/x", true],
  ];
  for (const [f, t, m] of cases)
    it(`${f} ${m ? "matches" : "does not match"} ${t}`, () => assert.equal(matches(f, t), m));

  it("publish topics refuse wildcards and emptiness", () => {
    assert.match(topicError("a/+/b") ?? "", /wildcard/);
    assert.match(topicError("a/#") ?? "", /wildcard/);
    assert.match(topicError("") ?? "", /empty/);
    assert.equal(topicError("te/device/main///m/"), undefined);
  });
  it("filters refuse misplaced wildcards", () => {
    assert.match(filterError("a/#/b") ?? "", /'#' must be the last/);
    assert.match(filterError("a/b+") ?? "", /'\+' must stand alone/);
    assert.equal(filterError("te/+/+/+/+/m/#"), undefined);
  });
});
