import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect as tcp } from "node:net";
import { describe, it } from "node:test";
import mqtt from "mqtt";
import { Decoder, encode, type Packet } from "../../src/bus/mqtt/index.ts";
import { ledgeSpawn, tempConfig } from "../helpers/cli.ts";
import { canConnect, waitFor } from "../helpers/ports.ts";

const rssKiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);

describe("broker limits in a running `ledge broker`", () => {
  it("a 100 MB PUBLISH is refused at the maximum packet size, with RSS flat; a packet at the limit passes", async () => {
    const { dir, port } = await tempConfig({ "broker.persistence": "memory" });
    const p = ledgeSpawn(["--config-dir", dir, "broker"]);
    try {
      await waitFor("broker", async () => (await canConnect(port)) || undefined, 30_000);
      const pid = p.pid as number;
      // positive control: just under the 1 MiB default arrives
      const sub = mqtt.connect({ host: "127.0.0.1", port, clientId: "big-sub", reconnectPeriod: 0 });
      const got: number[] = [];
      sub.on("message", (_t, payload) => got.push(payload.length));
      await new Promise((r) => sub.once("connect", r));
      await sub.subscribeAsync("big/#", { qos: 0 });
      const ok = mqtt.connect({ host: "127.0.0.1", port, clientId: "big-ok", reconnectPeriod: 0 });
      await new Promise((r) => ok.once("connect", r));
      await ok.publishAsync("big/ok", Buffer.alloc((1 << 20) - 100), { qos: 1 });
      await waitFor("1 MiB message", () => got.length >= 1 || undefined);
      await ok.endAsync();
      const before = rssKiB(pid);
      const sock = tcp({ host: "127.0.0.1", port });
      await new Promise((r) => sock.once("connect", r));
      sock.on("error", () => {});
      const packets: Packet[] = [];
      const dec = new Decoder({ version: 5 });
      sock.on("data", (d) => packets.push(...dec.push(d).packets));
      let closed = false;
      sock.on("close", () => {
        closed = true;
      });
      sock.write(
        encode({ type: "connect", protocolVersion: 5, clientId: "huge", clean: true, keepalive: 0 }, 5),
      );
      await waitFor("connack", () => packets.find((x) => x.type === "connack"));
      // 100 MB claimed in the fixed header, then the body streamed until the broker hangs up
      sock.write(Buffer.from([0x30, 0x80, 0xa8, 0xd6, 0x2f]));
      const chunk = Buffer.alloc(1 << 20, 0x61);
      for (let sent = 0; sent < 100 && !closed; sent++) {
        if (!sock.write(chunk))
          await Promise.race([
            new Promise((r) => sock.once("drain", r)),
            new Promise((r) => sock.once("close", r)),
          ]);
      }
      await waitFor("connection closed", () => closed || undefined);
      assert.deepEqual(
        packets.filter((x) => x.type === "disconnect").map((x) => (x as { reasonCode: number }).reasonCode),
        [0x95],
        "v5: DISCONNECT with Packet too large",
      );
      const after = rssKiB(pid);
      assert.ok(after - before < 16 * 1024, `RSS grew ${after - before} KiB`);
      assert.equal(got.length, 1);
      await sub.endAsync();
    } finally {
      p.kill("SIGKILL");
    }
  });

  it("publishes its metrics as measurements of the ledge-broker service", async () => {
    const { dir, port } = await tempConfig({
      "broker.persistence": "memory",
      "broker.metrics_interval_s": 1,
    });
    const p = ledgeSpawn(["--config-dir", dir, "broker"]);
    try {
      await waitFor("broker", async () => (await canConnect(port)) || undefined, 30_000);
      const c = mqtt.connect({ host: "127.0.0.1", port, clientId: "metrics", reconnectPeriod: 0 });
      await new Promise((r) => c.once("connect", r));
      const got: Record<string, Record<string, number>>[] = [];
      c.on("message", (_t, payload) => got.push(JSON.parse(payload.toString())));
      await c.subscribeAsync("te/device/main/service/ledge-broker/m/broker", { qos: 0 });
      await waitFor("measurement", () => got.length >= 1 || undefined, 5_000);
      const m = got[0] as Record<string, Record<string, number>>;
      assert.ok((m.clients?.connected ?? 0) >= 1);
      assert.equal(typeof m.messages?.in, "number");
      assert.equal(typeof m.drops?.slow_client, "number");
      assert.ok((m.retained?.count ?? 0) >= 1, "the service registration and health are retained");
      await c.endAsync();
    } finally {
      p.kill("SIGKILL");
    }
  });
});
