/**
 * The bridge fault suite (issue: store-and-forward that loses nothing under every fault). Each case
 * ends with the exact accounting: messages delivered to the cloud + messages the bridge counted as
 * dropped = messages the local broker acknowledged. Loopback only; durations shortened.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  assertAccounted,
  type Cloud,
  cloudSettings,
  count,
  fakeCloud,
  plainCloud,
  publishRange,
  smallDisk,
  watch,
} from "./fault-kit.ts";
import { closeClients, type Ledge, rm, startLedge, tempDir, waitFor } from "./harness.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("bridge faults", () => {
  let cloud: Cloud;
  const running: Ledge[] = [];
  const dirs: string[] = [];
  const cleanups: (() => void)[] = [];

  before(async () => {
    cloud = await plainCloud();
  });
  after(async () => {
    await closeClients();
    for (const l of running) await l.stop().catch(() => {});
    await cloud?.stop();
    for (const c of cleanups) c();
    for (const d of dirs) rm(d);
  });
  const fresh = () => {
    cloud.got.clear();
    cloud.arrivals = 0;
  };
  const start = async (values: Record<string, string | number | boolean>, dir = tempDir()) => {
    dirs.push(dir);
    const l = await startLedge(values, dir);
    running.push(l);
    return l;
  };
  const stop = async (l: Ledge) => {
    await l.stop();
    running.splice(running.indexOf(l), 1);
  };

  it("disk full (2 MiB tmpfs): refused writes are counted with an alarm and one log line; space returns after a remount and delivery frees it", async (t) => {
    const disk = smallDisk("2m");
    if (!disk) return t.skip("mounting a tmpfs needs root");
    cleanups.push(() => disk.unmount());
    fresh();
    await cloud.broker.stop();
    const l = await start(cloudSettings(cloud.broker.port), disk.dir);
    const w = await watch(l);
    const acked: number[] = [];
    // 4 MiB of 2 KiB messages while the cloud is away: the disk fills halfway.
    await publishRange(w.pub, 0, 2000, 2048, acked);
    const full = await waitFor(
      "disk drops reported",
      () => ((w.metrics()?.drops_disk ?? 0) > 0 ? w.metrics() : undefined),
      5000,
    );
    assert.equal(full.disk_error, 1);
    assert.ok(full.drops_disk! > 500 && full.queue_depth! > 500, JSON.stringify(full));
    const alarm = await waitFor("disk alarm", () => w.alarms.get("bridge_mqtt_disk") || undefined, 5000);
    assert.equal(JSON.parse(alarm).severity, "critical");
    assert.match(JSON.parse(alarm).text, /ENOSPC/);
    assert.equal(
      count(l.logs, "cannot write to the disk"),
      1,
      "one line for the state change, not one per message",
    );
    // Space returns: the queue takes messages again on its own.
    disk.resize("8m");
    await publishRange(w.pub, 2000, 2200, 2048, acked);
    await waitFor("disk alarm cleared", () => w.alarms.get("bridge_mqtt_disk") === "" || undefined, 5000);
    assert.equal(count(l.logs, "writing to the disk again"), 1);
    const dropsBefore = (
      await waitFor("metrics", () => (w.metrics()?.disk_error === 0 ? w.metrics() : undefined), 5000)
    ).drops_disk;
    // The cloud returns: everything stored goes out, and delivery frees the disk.
    await cloud.broker.restart();
    await waitFor("backlog delivered", () => (w.metrics()?.queue_depth === 0 ? true : undefined), 30_000);
    const m = await waitFor(
      "final metrics",
      () => {
        const x = w.metrics();
        return x && x.queue_depth === 0 && cloud.got.size + x.drops! === acked.length ? x : undefined;
      },
      10_000,
    );
    assert.equal(m.drops_disk, dropsBefore, "nothing dropped after the remount");
    assert.equal(m.drops, m.drops_disk, "every drop was a disk drop");
    assertAccounted(cloud, acked, m);
    const qdir = join(disk.dir, "data", "bridge", "mqtt");
    assert.deepEqual(
      readdirSync(qdir).filter((f) => !f.endsWith(".lq") && f !== "commit" && f !== "lock"),
      [],
      "no temp files",
    );
    await stop(l);
  });

  it("with the cloud connected, a 2 MiB disk carries 6 MiB of traffic without a drop: delivered records free their space", async (t) => {
    const disk = smallDisk("2m");
    if (!disk) return t.skip("mounting a tmpfs needs root");
    cleanups.push(() => disk.unmount());
    fresh();
    const l = await start(cloudSettings(cloud.broker.port), disk.dir);
    const w = await watch(l);
    await waitFor("link up", () => l.logs.some((x) => / connected/.test(x)));
    const acked = await publishRange(w.pub, 0, 3000, 2048);
    const m = await waitFor(
      "all delivered",
      () => {
        const x = w.metrics();
        return x && cloud.got.size + x.drops! === acked.length && x.queue_depth === 0 ? x : undefined;
      },
      30_000,
    );
    assert.equal(m.drops, 0);
    assertAccounted(cloud, acked, m);
    await stop(l);
  });

  it("a byte flipped in the live queue: that record is skipped and counted, every other one arrives, no restart", async () => {
    fresh();
    await cloud.broker.stop();
    const dir = tempDir();
    const l = await start(cloudSettings(cloud.broker.port), dir);
    const w = await watch(l);
    const acked = await publishRange(w.pub, 0, 100);
    const qdir = join(dir, "data", "bridge", "mqtt");
    const seg = join(
      qdir,
      readdirSync(qdir)
        .filter((f) => f.endsWith(".lq"))
        .sort()[0]!,
    );
    const buf = readFileSync(seg);
    const at = buf.indexOf("50", Math.floor(buf.length / 2) - 40);
    buf[at + 1] = buf[at + 1]! ^ 0x01;
    writeFileSync(seg, buf);
    await cloud.broker.restart();
    const m = await waitFor(
      "all but one delivered and one counted",
      () => {
        const x = w.metrics();
        return x && x.queue_depth === 0 && x.drops_corrupt === 1 && cloud.got.size === 99 ? x : undefined;
      },
      20_000,
    );
    assert.equal(m.drops, 1);
    assert.ok(m.corrupt_bytes! > 0);
    assertAccounted(cloud, acked, m);
    assert.equal(count(l.logs, "corrupt data found"), 1);
    await stop(l);
  });

  it("a cloud that never sends PUBACK: the connection is ended and made again, stalled is reported within 30 s, then a real cloud gets everything", async () => {
    fresh();
    const fake = await fakeCloud(cloud.broker.port);
    const l = await start(
      cloudSettings(fake.port, { "bridge.ack_timeout_s": 2, "bridge.stall_s": 3, "bridge.keepalive_s": 5 }),
    );
    const w = await watch(l);
    await waitFor("connected to the fake", () => l.logs.some((x) => / connected/.test(x)));
    const acked = await publishRange(w.pub, 0, 20);
    const t0 = Date.now();
    await waitFor("stalled reported", () => (w.metrics()?.stalled === 1 ? true : undefined), 30_000);
    assert.ok(Date.now() - t0 < 30_000);
    const alarm = await waitFor(
      "stalled alarm",
      () => w.alarms.get("bridge_mqtt_stalled") || undefined,
      5000,
    );
    assert.equal(JSON.parse(alarm).severity, "major");
    await waitFor(
      "PUBACK timeout ends the connection",
      () => l.logs.some((x) => x.includes("ending the connection: no PUBACK")),
      10_000,
    );
    await waitFor("a new connection is made", () => (fake.connections >= 2 ? true : undefined), 10_000);
    assert.ok(fake.publishes >= 20);
    // The real cloud takes over behind the same address.
    fake.mode = "proxy";
    fake.dropAll();
    const m = await waitFor(
      "everything at the real cloud",
      () => {
        const x = w.metrics();
        return x && x.queue_depth === 0 && x.stalled === 0 && cloud.got.size === 20 ? x : undefined;
      },
      30_000,
    );
    await waitFor(
      "stalled alarm cleared",
      () => w.alarms.get("bridge_mqtt_stalled") === "" || undefined,
      5000,
    );
    assert.equal(count(l.logs, "link stalled"), 1, "one line per state change across reconnect cycles");
    assert.equal(count(l.logs, "link moving again"), 1);
    assert.ok(m.resent! >= 20, `resent ${m.resent}`);
    assertAccounted(cloud, acked, m);
    await stop(l);
    await fake.close();
  });

  it("a cloud that goes silent after CONNACK (no PINGRESP): the keepalive timeout ends the connection", async () => {
    const fake = await fakeCloud(cloud.broker.port);
    fake.mode = "silent";
    const l = await start(cloudSettings(fake.port, { "bridge.keepalive_s": 5 }));
    await waitFor("connected to the fake", () => l.logs.some((x) => / connected/.test(x)));
    await waitFor(
      "reconnected after the keepalive timeout",
      () => (fake.connections >= 2 ? true : undefined),
      20_000,
    );
    assert.ok(
      l.logs.some((x) => /connection lost|keepalive/i.test(x)),
      "the end of the connection is logged",
    );
    await stop(l);
    await fake.close();
  });

  it("sustained 1,000 messages/s for 30 s with default settings: 0 drops, nothing held back", async () => {
    fresh();
    const l = await start(cloudSettings(cloud.broker.port));
    const w = await watch(l);
    await waitFor("link up", () => l.logs.some((x) => / connected/.test(x)));
    const acked: number[] = [];
    const t0 = Date.now();
    let sent = 0;
    const pending: Promise<void>[] = [];
    while (Date.now() - t0 < 30_000) {
      const due = Math.floor(((Date.now() - t0) * 1000) / 1000);
      for (; sent < due; sent++) {
        const k = sent;
        pending.push(w.pub.publishAsync("fault/m", String(k), { qos: 1 }).then(() => void acked.push(k)));
      }
      await sleep(10);
    }
    await Promise.all(pending);
    const m = await waitFor(
      "all delivered",
      () => {
        const x = w.metrics();
        return x && cloud.got.size + x.drops! === acked.length ? x : undefined;
      },
      20_000,
    );
    assert.ok(acked.length >= 29_000, `published ${acked.length}`);
    assert.equal(m.drops, 0);
    assertAccounted(cloud, acked, m);
    await stop(l);
  });
});
