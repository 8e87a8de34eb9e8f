import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseInterval } from "../../src/mappers/c8y/availability.ts";
import { c8yMapper, msg, NOW, pairs, run } from "../helpers/mappers-fixtures.ts";

const BRIDGE = "te/device/main/service/tedge-mapper-bridge-c8y/status/health";
const child1 = msg("te/device/child1//", { "@type": "child-device", name: "Child1", type: "Pi" }, true);

describe("c8y mapper lifecycle: 500, re-announcement, availability", () => {
  it("on start: 500 (pending operations), as thin-edge sends it", () => {
    assert.deepEqual(pairs(c8yMapper().start()), [["c8y/s/us", "500"]]);
  });

  it("on every bridge (re)connect: children, capabilities (children included) again, then 500", () => {
    const m = c8yMapper();
    for (const s of [
      msg("te/device/main///cmd/restart", {}, true),
      msg("te/device/main///cmd/log_upload", { types: ["syslog"] }, true),
      child1,
      msg("te/device/child1///cmd/config_snapshot", { types: ["app.conf"] }, true),
      msg(BRIDGE, { status: "up" }, true),
    ])
      m.translate(s);
    const again = [
      ["c8y/s/us", "114,c8y_LogfileRequest,c8y_Restart"],
      ["c8y/s/us", "118,syslog"],
      ["c8y/s/us", "101,test-device:device:child1,Child1,Pi,false"],
      ["c8y/s/us/test-device:device:child1", "114,c8y_UploadConfigFile"],
      ["c8y/s/us/test-device:device:child1", "119,app.conf"],
      ["c8y/s/us", "500"],
    ];
    // The bridge is a service in Cumulocity too: its own status first.
    const bridge = (name: string, status: string): [string, string] => [
      "c8y/s/us",
      `102,test-device:device:main:service:${name},service,${name},${status}`,
    ];
    // Down, then up: a reconnect.
    assert.deepEqual(run(m, [], msg(BRIDGE, { status: "down" }, true)), [
      bridge("tedge-mapper-bridge-c8y", "down"),
    ]);
    assert.deepEqual(run(m, [], msg(BRIDGE, { status: "up" }, true)), [
      bridge("tedge-mapper-bridge-c8y", "up"),
      ...again,
    ]);
    // Up again without a drop in between is no reconnect.
    assert.deepEqual(run(m, [], msg(BRIDGE, { status: "up" }, true)), []);
    // mosquitto's bridge says 0/1; the other bridge service is re-sent with the children.
    const MOSQ = "te/device/main/service/mosquitto-c8y-bridge/status/health";
    assert.deepEqual(run(m, [], msg(MOSQ, "0", true)), [bridge("mosquitto-c8y-bridge", "down")]);
    const [first, ...rest] = run(m, [], msg(MOSQ, "1", true));
    assert.deepEqual(first, bridge("mosquitto-c8y-bridge", "up"));
    assert.deepEqual(
      rest.filter(([, p]) => !p.includes("tedge-mapper-bridge-c8y")),
      again,
    );
  });

  it("ledge's bridge metrics (c8y.connected 0 → 1) count as a reconnect too; the metrics are still mapped", () => {
    const m = c8yMapper();
    const metrics = (connected: number) =>
      msg("te/device/main/service/ledge-bridge/m/bridge", {
        c8y: { connected, queue_depth: 0 },
        time: "2024-01-01T00:00:00Z",
      });
    m.translate(msg("te/device/main///cmd/restart", {}, true));
    run(m, [], metrics(0));
    const out = run(m, [], metrics(1));
    assert.deepEqual(out.slice(0, -1), [
      ["c8y/s/us", "114,c8y_Restart"],
      // The bridge's own service, auto-registered by its first metrics message, is re-sent too.
      ["c8y/s/us", "102,test-device:device:main:service:ledge-bridge,service,ledge-bridge,up"],
      ["c8y/s/us", "500"],
    ]);
    assert.equal(out.at(-1)![0], "c8y/measurement/measurements/create");
    // Still connected: nothing to re-announce.
    assert.deepEqual(
      run(m, [], metrics(1)).map(([t]) => t),
      ["c8y/measurement/measurements/create"],
    );
  });

  it("required availability: 117,<minutes> for the main device on start and for each new child (thin-edge)", () => {
    const m = c8yMapper({ availabilityS: 3600 });
    assert.deepEqual(pairs(m.start()), [
      ["c8y/s/us", "117,60"],
      ["c8y/s/us", "500"],
    ]);
    assert.deepEqual(run(m, [], child1), [
      ["c8y/s/us", "101,test-device:device:child1,Child1,Pi,false"],
      ["c8y/s/us/test-device:device:child1", "117,60"],
    ]);
    // Services have no availability of their own.
    assert.deepEqual(
      run(m, [], msg("te/device/main/service/x", { "@type": "service" }, true)).map(([, p]) => p),
      ["102,test-device:device:main:service:x,service,x,up"],
    );
  });

  it("an interval under a minute → 117,0 (maintenance mode), and no heartbeats", () => {
    const m = c8yMapper({ availabilityS: 30 });
    assert.deepEqual(pairs(m.start())[0], ["c8y/s/us", "117,0"]);
    const z = c8yMapper({ availabilityS: 0 });
    z.start();
    assert.equal(z.nextDeadline(), undefined);
  });

  it("heartbeats every half interval, only while the device's health source is up (tedge-agent, or @health)", () => {
    const m = c8yMapper({ availabilityS: 120 });
    m.start();
    run(
      m,
      [],
      msg("te/device/child2//", { "@type": "child-device", "@health": "device/child2/service/watch" }, true),
    );
    assert.equal(m.nextDeadline(), NOW + 60_000);
    // Nobody is up yet: no heartbeat, but the timers restart.
    assert.deepEqual(m.poll(NOW + 60_000), []);
    assert.equal(m.nextDeadline(), NOW + 120_000);
    run(m, [], msg("te/device/main/service/ledge-agent/status/health", { status: "up" }, true));
    run(m, [], msg("te/device/child2/service/watch/status/health", { status: "up" }, true));
    assert.deepEqual(pairs(m.poll(NOW + 120_000)), [
      ["c8y/inventory/managedObjects/update/test-device", "{}"],
      ["c8y/inventory/managedObjects/update/test-device:device:child2", "{}"],
    ]);
    run(m, [], msg("te/device/child2/service/watch/status/health", { status: "down" }, true));
    assert.deepEqual(pairs(m.poll(NOW + 180_000)), [
      ["c8y/inventory/managedObjects/update/test-device", "{}"],
    ]);
  });

  it("c8y.availability.interval reads thin-edge's forms: 60m, 1h, 90s, 3600", () => {
    assert.deepEqual(["60m", "1h", "90s", "3600", "x"].map(parseInterval), [3600, 3600, 90, 3600, undefined]);
  });
});
