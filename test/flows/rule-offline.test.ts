/**
 * Issue #16, deliverable 3: rules keep working while the cloud is unreachable. `ledge run` with the
 * Cumulocity bridge configured towards a closed port (the link never comes up), the c8y mapper and
 * the flows: a rule fires its `modbus_write` command on the local bus and records its event, which
 * the mapper translates and the bridge keeps in its queue for when the cloud is back.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Running, run } from "../../src/app/run.ts";
import type { BusMessage } from "../../src/bus/bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { tempConfig } from "../helpers/cli.ts";
import { PUMP_RULE, writeFlows } from "../helpers/flows.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { clientCert, createPki, type Pki } from "../helpers/tls-pki.ts";

const log = createLogger({ level: "error" });
const CMD = "te/device/plc///cmd/modbus_write";
const BRIDGE = "te/device/main/service/ledge-bridge/m/bridge";

describe("a rule with the cloud unreachable", () => {
  let running: Running;
  let dir: string;
  let pki: Pki;
  const seen: BusMessage[] = [];
  const on = (topic: string) => seen.filter((m) => m.topic === topic).map((m) => m.payload.toString());
  /** The bridge's last word on the Cumulocity link. */
  const link = () => {
    const last = on(BRIDGE).at(-1);
    return last === undefined
      ? undefined
      : (JSON.parse(last) as { c8y?: { connected: number; queue_depth: number; reconnects: number } }).c8y;
  };

  before(async () => {
    const closed = await freePort(); // nothing listens there: every connect is refused
    pki = createPki();
    const device = clientCert(pki, "test-device");
    ({ dir } = await tempConfig({
      "device.cert_path": device.cert,
      "device.key_path": device.key,
      "bridge.root_cert_path": pki.caCert,
      "c8y.url": `127.0.0.1:${closed}`,
      "bridge.c8y.enable": true,
      "bridge.backoff_min_ms": 50,
      "bridge.backoff_max_ms": 200,
      "bridge.metrics_interval_s": 1,
      "flows.reload_interval_ms": 100,
    }));
    writeFlows(join(dir, "mappers", "local", "flows"), {
      "pump/flow.toml": PUMP_RULE,
    });
    running = await run(loadConfig(dir), ["broker", "bridge", "c8y-mapper", "flows"], log);
    await running.bus.subscribe(["te/#", "c8y/#"], (m) => seen.push(m), { qos: 1 });
  });
  after(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
    pki?.cleanup();
  });

  it("fires its modbus_write locally and records the event, queued for the cloud", async () => {
    // the cloud is configured and down: the link tried and is not connected
    await waitFor("link tried", () => {
      const l = link();
      return l && l.connected === 0 ? l : undefined;
    });
    const queuedBefore = link()?.queue_depth ?? 0;
    await waitFor("rule loaded", async () => {
      await running.bus.publish("te/device/plc///m/state", '{"door_open":0}', { qos: 1 });
      await running.bus.publish("te/device/tank///m/level", '{"level":95}', { qos: 1 });
      return seen.find((m) => m.topic.startsWith(`${CMD}/`));
    });
    const cmd = seen.find((m) => m.topic.startsWith(`${CMD}/`));
    assert.deepEqual(JSON.parse(cmd?.payload.toString() ?? ""), { point: "pump", value: 1, status: "init" });
    // retained, as a te/ command is: a subscriber that comes later gets it
    const later: BusMessage[] = [];
    const sub = await running.bus.subscribe(`${CMD}/+`, (m) => later.push(m), { qos: 1 });
    await waitFor("retained command", () => later[0]);
    await sub.unsubscribe();
    const event = await waitFor("event", () => on("te/device/main///e/rule_action")[0]);
    assert.match(event, /"action":"fired"/);
    // the mapper turned the event into Cumulocity's form; the bridge holds it for later
    await waitFor("mapped", () => on("c8y/event/events/create").find((p) => p.includes("rule_action")));
    const l = await waitFor("queued", () => {
      const now = link();
      return now && now.queue_depth > queuedBefore ? now : undefined;
    });
    assert.equal(l.connected, 0, "still unreachable");
  });
});
