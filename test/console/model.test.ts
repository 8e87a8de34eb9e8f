/** The console's pure parts: the bounded model fed from te/ messages, and the auth decisions. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authPolicy, isLoopback, refusal } from "../../src/agent/console/auth.ts";
import { ConsoleModel, DEFAULT_LIMITS, type Delta, seriesOf } from "../../src/agent/console/model.ts";

describe("console model", () => {
  it("series of a Thin Edge JSON measurement: flat and grouped values, time and type left out", () => {
    assert.deepEqual(
      seriesOf("device/main//", "env", { temp: 1, time: 5, type: "x", loc: { lat: 2, lon: 3, s: "a" } }),
      [
        ["device/main//|env|temp", 1],
        ["device/main//|env|loc.lat", 2],
        ["device/main//|env|loc.lon", 3],
      ],
    );
  });

  it("keeps registrations, health, twin, alarms (cleared by empty payloads), events and command history", () => {
    const m = new ConsoleModel();
    const deltas: Delta["kind"][] = [];
    m.onDelta((d) => deltas.push(d.kind));
    m.apply("te/device/c1//", '{"@type":"child-device","name":"c1"}', 1);
    m.apply("te/device/c1/service/s/status/health", '{"status":"up"}', 2);
    m.apply("te/device/c1///twin/fw", '"1.2"', 3);
    m.apply("te/device/c1///a/hot", '{"text":"Hot","severity":"major"}', 4);
    m.apply("te/device/c1///a/cold", "{}", 4);
    m.apply("te/device/c1///a/cold", "", 5);
    m.apply("te/device/c1///e/login", '{"text":"in"}', 6);
    m.apply("te/device/c1///e/modbus_comm", '{"text":"down","time":1,"recorder":{"frames":["01 03"]}}', 6);
    m.apply("te/device/main///cmd/restart/r1", '{"status":"init"}', 7);
    m.apply("te/device/main///cmd/restart/r1", '{"status":"executing"}', 8);
    m.apply("te/device/main///cmd/restart/r1", '{"status":"failed","reason":"no"}', 9);
    m.apply("te/device/main///cmd/restart/r1", "", 10);
    m.apply("te/errors", "bad thing", 11);
    const s = m.snapshot(12);
    assert.equal(s.entities.find((e) => e.id === "device/c1//")?.twin.fw, "1.2");
    assert.equal(s.entities.find((e) => e.id === "device/c1/service/s")?.health?.status, "up");
    assert.deepEqual(Object.keys(s.alarms), ["device/c1//|hot"]);
    assert.equal(s.alarms["device/c1//|hot"]?.severity, "major");
    assert.equal(s.events[0]?.text, "in");
    assert.equal(s.events[0]?.detail, undefined);
    assert.deepEqual(
      JSON.parse(s.events[1]?.detail ?? "{}"),
      { recorder: { frames: ["01 03"] } },
      "the recorder's frames are shown",
    );
    assert.deepEqual(
      s.commands[0]?.history.map((h) => h.status),
      ["init", "executing", "failed"],
    );
    assert.equal(s.commands[0]?.reason, "no");
    assert.equal(s.errors[0]?.text, "bad thing");
    assert.ok(deltas.includes("alarm") && deltas.includes("cmd") && deltas.includes("error"));
  });

  it("is bounded: points per series, history age, series, entities, events", () => {
    const m = new ConsoleModel("te", {
      ...DEFAULT_LIMITS,
      points: 5,
      historyS: 10,
      series: 3,
      entities: 4,
      events: 2,
    });
    for (let i = 0; i < 20; i++)
      m.apply("te/device/main///m/env", JSON.stringify({ a: i, b: i, c: i, d: i }), i * 1000);
    for (let i = 0; i < 10; i++) m.apply(`te/device/d${i}//`, '{"@type":"child-device"}', 0);
    for (let i = 0; i < 10; i++) m.apply("te/device/main///e/x", "{}", i);
    const s = m.snapshot(19_000);
    assert.deepEqual(Object.keys(s.series).length, 3, "series limit");
    assert.deepEqual(
      s.series["device/main//|env|a"]?.map((p) => p.v),
      [15, 16, 17, 18, 19],
      "points limit",
    );
    assert.deepEqual(
      m.snapshot(27_000).series["device/main//|env|a"]?.map((p) => p.v),
      [17, 18, 19],
      "history age",
    );
    assert.equal(s.entities.length, 4);
    assert.equal(s.events.length, 2);
  });
});

describe("console auth", () => {
  const open = { token: "", csrf: "c".repeat(24) };
  const locked = { token: "t".repeat(20), csrf: "c".repeat(24) };
  const rows: [string, typeof open, Parameters<typeof refusal>[1], number | undefined][] = [
    ["loopback read needs nothing", open, { method: "GET" }, undefined],
    ["loopback write needs the CSRF header", open, { method: "PUT" }, 403],
    ["loopback write with CSRF", open, { method: "PUT", csrf: open.csrf }, undefined],
    [
      "cross-origin write refused",
      open,
      { method: "PUT", csrf: open.csrf, origin: "http://x.example", host: "gw:8000" },
      403,
    ],
    [
      "same-origin write",
      open,
      { method: "PUT", csrf: open.csrf, origin: "http://gw:8000", host: "gw:8000" },
      undefined,
    ],
    [
      "'null' origin refused",
      open,
      { method: "POST", csrf: open.csrf, origin: "null", host: "gw:8000" },
      403,
    ],
    ["LAN read without token", locked, { method: "GET" }, 401],
    [
      "LAN read with cookie",
      locked,
      { method: "GET", cookie: `a=b; ledge_console=${locked.token}` },
      undefined,
    ],
    ["LAN read with bearer", locked, { method: "GET", authorization: `Bearer ${locked.token}` }, undefined],
    [
      "LAN write with token but no CSRF",
      locked,
      { method: "POST", authorization: `Bearer ${locked.token}` },
      403,
    ],
  ];
  for (const [name, policy, req, status] of rows)
    it(name, () => assert.equal(refusal(policy, req)?.status, status));

  it("a LAN bind needs a token of 16 characters or more", () => {
    assert.match(String(authPolicy("0.0.0.0", "short")), /console\.token must be set/);
    assert.equal(typeof authPolicy("192.168.1.5", "x".repeat(16)), "object");
    assert.equal(typeof authPolicy("127.0.0.1", ""), "object");
    assert.ok(isLoopback("::1") && isLoopback("127.0.0.2") && !isLoopback("0.0.0.0"));
  });
});
