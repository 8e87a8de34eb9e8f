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
  PREFIX,
  plainCloud,
  publishRange,
  smallDisk,
  TOPIC,
  watch,
} from "./fault-kit.ts";
import { client, closeClients, type Ledge, rm, startLedge, tempDir, waitFor } from "./harness.ts";

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
    // The cloud keeps up: the publisher never runs more than 400 messages (800 KiB) ahead of it.
    const acked: number[] = [];
    for (let i = 0; i < 3000; i += 200) {
      await publishRange(w.pub, i, i + 200, 2048, acked);
      await waitFor(
        "the cloud keeping up",
        () => (cloud.got.size >= acked.length - 400 ? true : undefined),
        20_000,
      );
    }
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
      60_000,
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

  it("the bridge's own reports go out live, ahead of a backlog; other live messages keep their place behind it", async () => {
    fresh();
    await cloud.broker.stop();
    const l = await start(cloudSettings(cloud.broker.port, { "bridge.drain_rate": 20 }));
    const w = await watch(l);
    const acked = await publishRange(w.pub, 0, 300);
    await cloud.broker.restart();
    const watcher = await client(cloud.broker.port, { reconnectPeriod: 50 });
    await waitFor("link up", () => l.logs.some((x) => / connected/.test(x)), 10_000);
    const report = `${PREFIX}/te/device/main/service/ledge-bridge/m/bridge`;
    let reportAt = -1;
    watcher.on("message", (t) => {
      if (t === report) reportAt = cloud.got.size;
    });
    await watcher.subscribeAsync(report, { qos: 1 });
    await w.pub.publishAsync(report, '{"mqtt":{"queue_depth":300}}', { qos: 1 });
    await w.pub.publishAsync(TOPIC, "300", { qos: 1 });
    acked.push(300);
    await waitFor("report at the cloud", () => (reportAt >= 0 ? true : undefined), 5000);
    assert.ok(reportAt < 200, `the report arrived after ${reportAt} of the backlog`);
    const m = await waitFor(
      "backlog and live message delivered",
      () => {
        const x = w.metrics();
        return x && x.queue_depth === 0 && cloud.got.size === 301 ? x : undefined;
      },
      30_000,
    );
    assert.equal([...cloud.got].indexOf(300), 300, "an ordinary live message stays behind the backlog");
    assertAccounted(cloud, acked, m);
    await stop(l);
  });

  it("a full queue with mixed kinds keeps every event, alarm and command status; only measurements are dropped, counted exactly", async () => {
    fresh();
    // Its own persistent session on the cloud, made before the outage, so nothing sent is missed.
    const observer = await client(cloud.broker.port, {
      clientId: "prio-observer",
      clean: false,
      reconnectPeriod: 50,
    });
    const got = new Map<string, Set<number>>();
    observer.on("message", (topic, p) => {
      const kind = topic.split("/")[2]!;
      if (!got.has(kind)) got.set(kind, new Set());
      got.get(kind)!.add(Number(JSON.parse(p.toString()).n));
    });
    await observer.subscribeAsync(`${PREFIX}/x/#`, { qos: 1 });
    await cloud.broker.stop();
    const l = await start(
      cloudSettings(cloud.broker.port, {
        "bridge.queue.max_bytes": 256 << 10,
        "bridge.queue.compact_interval_s": 0,
      }),
    );
    const w = await watch(l);
    const kindOf = (i: number) =>
      ["e", "a", "cmd"][i % 20 === 0 ? 0 : i % 20 === 5 ? 1 : i % 20 === 10 ? 2 : 3] ?? "m";
    const topicOf = {
      m: `${PREFIX}/x/m/env`,
      e: `${PREFIX}/x/e/door`,
      a: `${PREFIX}/x/a/temp_high`,
      cmd: `${PREFIX}/x/cmd/restart`,
    };
    const acked = new Map<string, number[]>(Object.keys(topicOf).map((k) => [k, []]));
    for (let i = 0; i < 12_000; i += 200) {
      await Promise.all(
        Array.from({ length: 200 }, (_, k) => {
          const n = i + k;
          const kind = kindOf(n) as keyof typeof topicOf;
          const payload = kind === "cmd" ? { status: "successful", n } : { n };
          return w.pub
            .publishAsync(topicOf[kind], JSON.stringify(payload), { qos: 1 })
            .then(() => void acked.get(kind)!.push(n));
        }),
      );
    }
    const full = await waitFor("drops counted", () =>
      (w.metrics()?.drops_full ?? 0) > 0 ? w.metrics() : undefined,
    );
    assert.ok(full.queue_depth! > 1000, JSON.stringify(full));
    await cloud.broker.restart();
    const total = [...acked.values()].reduce((n, a) => n + a.length, 0);
    const delivered = () => [...got.values()].reduce((n, s) => n + s.size, 0);
    const m = await waitFor(
      "backlog delivered",
      () => {
        const x = w.metrics();
        return x && x.queue_depth === 0 && delivered() + x.drops! === total ? x : undefined;
      },
      60_000,
    );
    for (const kind of ["e", "a", "cmd"])
      assert.deepEqual(
        [...(got.get(kind) ?? [])].sort((a, b) => a - b),
        acked.get(kind)!.sort((a, b) => a - b),
        `every ${kind} arrived`,
      );
    assert.ok(m.drops! > 5000, `dropped ${m.drops}`);
    assert.equal(m.drops, m.drops_full, "every drop a measurement dropped for room");
    const ms = [...(got.get("m") ?? [])].sort((a, b) => a - b);
    assert.deepEqual(
      ms,
      acked
        .get("m")!
        .sort((a, b) => a - b)
        .slice(-ms.length),
      "the newest measurements arrived",
    );
    await observer.endAsync(true);
    await stop(l);
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
