import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classify } from "../../src/bridge/diagnose.ts";
import { alarmMessage, metricsPayload, metricsTopic } from "../../src/bridge/metrics.ts";
import { COMMIT_SLOT, decodeCommit, encodeCommit } from "../../src/bridge/queue/commit-file.ts";
import { decodeRecord, encodeHead, nextValid } from "../../src/bridge/queue/record.ts";
import { TokenBucket } from "../../src/bridge/rate.ts";
import { downlinkTopic, parseEndpoint, routesFor, uplinkTopic } from "../../src/bridge/routes.ts";
import { crc32, crc32Portable } from "../../src/foundation/crc32.ts";

const ID = "test-device";

describe("topic routes", () => {
  const up: [cloud: Parameters<typeof routesFor>[0], local: string, remote: string | undefined][] = [
    ["c8y", "c8y/s/us", "s/us"],
    ["c8y", "c8y/s/us/test-device:device:child1", "s/us/test-device:device:child1"],
    ["c8y", "c8y/measurement/measurements/create", "measurement/measurements/create"],
    ["c8y", "c8y/event/events/create", "event/events/create"],
    ["c8y", "c8y/alarm/alarms/create", "alarm/alarms/create"],
    ["c8y", "c8y/inventory/managedObjects/update/test-device", "inventory/managedObjects/update/test-device"],
    ["c8y", "c8y/s/uc/template", "s/uc/template"],
    // Inbound topics are never sent back up (the bridge itself publishes them locally).
    ["c8y", "c8y/s/ds", undefined],
    ["c8y", "c8y/devicecontrol/notifications", undefined],
    ["c8y", "c8y/error", undefined],
    ["c8y", "c8y/s/dc/template", undefined],
    ["c8y", "c8y/", undefined],
    ["c8y", "te/device/main///m/", undefined],
    ["az", "az/messages/events/", `devices/${ID}/messages/events/`],
    ["az", "az/messages/events/a=b", `devices/${ID}/messages/events/a=b`],
    ["az", "az/twin/PATCH/properties/reported/?$rid=1", "$iothub/twin/PATCH/properties/reported/?$rid=1"],
    ["az", "az/messages/devicebound/x", undefined],
    ["aws", "aws/td/device:child/m/test_type", `thinedge/${ID}/td/device:child/m/test_type`],
    ["aws", "aws/td/device:main/e/login", `thinedge/${ID}/td/device:main/e/login`],
    ["aws", "aws/shadow/update", `$aws/things/${ID}/shadow/update`],
    ["aws", "aws/shadow/update/accepted", undefined],
    ["aws", "aws/cmd/restart", undefined],
    ["mqtt", "ledge/gw/m/env", "ledge/gw/m/env"],
    ["mqtt", "ledge/gw/cmd/x", undefined],
  ];
  for (const [cloud, local, remote] of up) {
    it(`${cloud} uplink ${local} → ${remote ?? "(stays local)"}`, () => {
      assert.equal(uplinkTopic(routesFor(cloud, ID, "ledge/gw"), local), remote);
    });
  }

  const down: [cloud: Parameters<typeof routesFor>[0], remote: string, local: string | undefined][] = [
    ["c8y", "s/ds", "c8y/s/ds"],
    ["c8y", "devicecontrol/notifications", "c8y/devicecontrol/notifications"],
    ["c8y", "error", "c8y/error"],
    ["c8y", "s/dc/mytemplate", "c8y/s/dc/mytemplate"],
    ["c8y", "s/us", undefined],
    ["az", `devices/${ID}/messages/devicebound/%24.to=x`, "az/messages/devicebound/%24.to=x"],
    ["az", "$iothub/twin/res/200/?$rid=1", "az/twin/res/200/?$rid=1"],
    ["az", "$iothub/methods/POST/reboot/?$rid=2", "az/methods/POST/reboot/?$rid=2"],
    ["az", "devices/other/messages/devicebound/x", undefined],
    ["aws", `thinedge/${ID}/cmd/restart`, "aws/cmd/restart"],
    ["aws", `$aws/things/${ID}/shadow/update/delta`, "aws/shadow/update/delta"],
    ["mqtt", "ledge/gw/cmd/restart", "ledge/gw/cmd/restart"],
    ["mqtt", "ledge/gw/m/x", undefined],
  ];
  for (const [cloud, remote, local] of down) {
    it(`${cloud} downlink ${remote} → ${local ?? "(ignored)"}`, () => {
      assert.equal(downlinkTopic(routesFor(cloud, ID, "ledge/gw"), remote), local);
    });
  }
});

describe("cloud URLs", () => {
  const rows: [string, ReturnType<typeof parseEndpoint> | RegExp][] = [
    ["example.cumulocity.com", { host: "example.cumulocity.com", port: 8883, tls: true }],
    ["example.cumulocity.com:1883", { host: "example.cumulocity.com", port: 1883, tls: true }],
    ["mqtts://hub.azure-devices.net", { host: "hub.azure-devices.net", port: 8883, tls: true }],
    ["https://example.cumulocity.com/", { host: "example.cumulocity.com", port: 8883, tls: true }],
    ["mqtt://broker.local", { host: "broker.local", port: 1883, tls: false }],
    ["mqtt://10.0.0.1:11883", { host: "10.0.0.1", port: 11883, tls: false }],
    ["[::1]:8883", { host: "::1", port: 8883, tls: true }],
    ["  127.0.0.1:9000 ", { host: "127.0.0.1", port: 9000, tls: true }],
    ["", /no URL set/],
    ["ftp://x", /unsupported scheme 'ftp'/],
    ["host:99999", /out of range/],
    ["host/path", /not a host/],
  ];
  for (const [url, want] of rows) {
    it(`'${url}'`, () => {
      if (want instanceof RegExp) assert.throws(() => parseEndpoint(url), want);
      else assert.deepEqual(parseEndpoint(url), want);
    });
  }
});

describe("connection failures are named for what the user must fix", () => {
  const e = (code: string | number, message = "x") => Object.assign(new Error(message), { code });
  const rows: [unknown, boolean, string, RegExp][] = [
    [e("ENOTFOUND"), false, "dns", /cannot resolve c8y/],
    [e("EAI_AGAIN"), false, "dns", /host name is unknown/],
    [e("ECONNREFUSED"), false, "unreachable", /refused the connection/],
    [e("EHOSTUNREACH"), false, "unreachable", /unreachable/],
    [e("ETIMEDOUT"), false, "timeout", /did not answer in time/],
    [e("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), false, "tls", /TLS failure: .* not trusted/],
    [e("ERR_TLS_CERT_ALTNAME_INVALID"), false, "tls", /not trusted/],
    [e("ERR_SSL_TLSV13_ALERT_UNKNOWN_CA"), true, "rejected", /rejected the device certificate/],
    [e("ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE"), false, "rejected", /rejected the device certificate/],
    [e("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED"), true, "rejected", /rejected/],
    // Bun's sockets (the x64/arm64 binaries): the alert is in the message, the code is EPROTO
    [
      e("EPROTO", "EPROTO: error:10000418:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA"),
      true,
      "rejected",
      /rejected the device certificate/,
    ],
    [e(5, "Connection refused: Not authorized"), true, "refused", /not authorized/],
    [e("ECONNRESET"), true, "rejected", /right after the TLS handshake/],
    [e("ECONNRESET"), false, "tls", /during the TLS handshake/],
    [e("EWHATEVER", "boom"), false, "other", /cannot connect to c8y.*boom/],
    // ledge's own client: a 3.1.1 CONNACK refusal carries reasonCode, a missing CONNACK its deadline
    [
      Object.assign(new Error("connection refused: bad user name or password"), { reasonCode: 4 }),
      true,
      "refused",
      /bad user name or password \(code 4\)/,
    ],
    [new Error("no CONNACK from h:8883 within 15000 ms"), true, "timeout", /did not answer in time/],
    [new Error("connection to h:8883 closed"), true, "rejected", /right after the TLS handshake/],
  ];
  for (const [err, handshake, kind, msg] of rows) {
    const what = (err as { code?: string }).code ?? (err as Error).message;
    it(`${what}${handshake ? " after handshake" : ""} → ${kind}`, () => {
      const f = classify(err, "c8y (h:8883)", handshake);
      assert.equal(f.kind, kind);
      assert.match(f.message, msg);
    });
  }
});

describe("drain rate", () => {
  it("the token bucket allows rate/10 at once, then one per 1/rate s", () => {
    let now = 0;
    const b = new TokenBucket(100, () => now);
    const granted = () => {
      let n = 0;
      while (b.take() === 0) n++;
      return n;
    };
    assert.equal(granted(), 10);
    assert.equal(b.take(), 10);
    now += 500;
    assert.equal(granted(), 10, "burst is capped");
    now += 30;
    assert.equal(granted(), 3);
    assert.equal(new TokenBucket(0, () => 0).take(), 0, "0 means unlimited");
  });
});

describe("queue records", () => {
  it("native and portable CRC-32 agree (check value 0xCBF43926, chaining)", () => {
    const data = Buffer.from("123456789");
    assert.equal(crc32Portable(data), 0xcbf43926);
    assert.equal(crc32(data), 0xcbf43926);
    assert.equal(crc32Portable(data.subarray(4), crc32Portable(data.subarray(0, 4))), 0xcbf43926);
  });

  it("encodes and decodes; any flipped bit or missing byte is detected", () => {
    const msg = { topic: "s/us", payload: Buffer.from("200,t,T,1"), qos: 1 as const, retain: true };
    const rec = Buffer.concat([encodeHead(msg, 2 ** 40 + 7, 1_700_000_000_123), msg.payload]);
    const d = decodeRecord(rec, 0);
    assert.ok(d.ok);
    assert.deepEqual([d.seq, d.time], [2 ** 40 + 7, 1_700_000_000_123]);
    assert.deepEqual(
      { ...d.msg, payload: Buffer.from(d.msg.payload).toString() },
      { ...msg, payload: "200,t,T,1" },
    );
    assert.equal(d.size, rec.length);
    for (let i = 0; i < rec.length * 8; i++) {
      const bad = Buffer.from(rec);
      bad[i >> 3] = bad[i >> 3]! ^ (1 << (i & 7));
      assert.equal(decodeRecord(bad, 0).ok, false, `bit ${i}`);
    }
    for (let n = 0; n < rec.length; n++) assert.equal(decodeRecord(rec.subarray(0, n), 0).ok, false);
  });

  const rec = (seq: number, text: string) => {
    const msg = { topic: "s/us", payload: Buffer.from(text), qos: 1 as const, retain: false };
    return Buffer.concat([encodeHead(msg, seq, 0), msg.payload]);
  };

  it("resynchronises on the next record whose magic and CRC check out, whatever the damage", () => {
    const a = rec(10, "first");
    const b = rec(11, "LQ inside a payload, then more");
    const c = rec(12, "third");
    const all = Buffer.concat([a, b, c]);
    // A damaged length, a damaged magic, a damaged byte in the body: each time the next good one is found.
    for (const at of [3, 0, a.length + 20]) {
      const bad = Buffer.from(all);
      bad[at] = bad[at]! ^ 0x5a;
      const first = decodeRecord(bad, 0);
      const from = first.ok ? first.size : 0;
      const hit = nextValid(bad, from + 1);
      assert.ok(hit, `damage at ${at}`);
      assert.deepEqual(
        hit,
        at < a.length ? { pos: a.length, seq: 11 } : { pos: a.length + b.length, seq: 12 },
      );
    }
    assert.equal(nextValid(Buffer.concat([a, Buffer.alloc(40)]), 1), undefined);
  });
});

describe("queue commit record", () => {
  const state = { next: 123_456, full: 1, disk: 2, corrupt: 3, corruptBytes: 400, compacted: 5 };

  it("two fixed 64-byte slots: the newest intact one wins, a torn one is ignored", () => {
    const s1 = encodeCommit(state, 7);
    const s2 = encodeCommit({ ...state, next: 123_999 }, 8);
    assert.equal(s1.length, COMMIT_SLOT);
    assert.deepEqual(decodeCommit(Buffer.concat([s2, s1])), {
      state: { ...state, next: 123_999 },
      generation: 8,
    });
    const torn = Buffer.from(s2);
    torn[20] = torn[20]! ^ 1;
    assert.deepEqual(decodeCommit(Buffer.concat([torn, s1])), { state, generation: 7 });
    assert.equal(decodeCommit(Buffer.alloc(128)), undefined);
    // Generations wrap: 0 is newer than 2^32 - 1.
    const wrapped = decodeCommit(
      Buffer.concat([encodeCommit(state, 0xffffffff), encodeCommit({ ...state, next: 1 }, 0)]),
    );
    assert.equal(wrapped?.state.next, 1);
  });
});

describe("connection failures on a plain (non-TLS) link", () => {
  it("a reset is reported as a closed connection, never as a TLS handshake failure", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    assert.equal(
      classify(reset, "mqtt (h:1883)", false, false).message,
      "mqtt (h:1883) closed the connection (ECONNRESET)",
    );
    assert.match(classify(reset, "c8y (h:8883)", false, true).message, /during the TLS handshake/);
  });
});

describe("bridge alarms", () => {
  it("retained te/ alarms of the ledge-bridge service, cleared by an empty payload", () => {
    assert.deepEqual(alarmMessage("te", "c8y", "disk", { stalled: false, diskError: "ENOSPC: no space" }), {
      topic: "te/device/main/service/ledge-bridge/a/bridge_c8y_disk",
      payload: JSON.stringify({
        text: "Bridge to c8y: cannot store messages (ENOSPC: no space); they are dropped and counted",
        severity: "critical",
      }),
    });
    assert.equal(alarmMessage("te", "c8y", "disk", { stalled: true }).payload, "");
    assert.equal(
      JSON.parse(alarmMessage("te", "az", "stalled", { stalled: true }).payload).severity,
      "major",
    );
    assert.equal(alarmMessage("te", "az", "stalled", { stalled: false }).payload, "");
  });
});

describe("bridge metrics", () => {
  it("are Thin Edge JSON: one numeric group per cloud plus time", () => {
    const m = {
      connected: true,
      queue_depth: 3,
      queue_bytes: 120,
      queue_oldest_age_s: 4,
      drops: 1,
      drops_full: 1,
      drops_disk: 0,
      drops_corrupt: 0,
      drops_compacted: 0,
      corrupt_bytes: 0,
      resent: 3,
      stalled: false,
      disk_error: true,
      reconnects: 2,
      messages_sent: 10,
      bytes_sent: 400,
      messages_received: 1,
    };
    assert.equal(metricsTopic("te"), "te/device/main/service/ledge-bridge/m/bridge");
    assert.deepEqual(JSON.parse(metricsPayload([{ name: "c8y", metrics: m }], Date.UTC(2024, 0, 1))), {
      c8y: { ...m, connected: 1, stalled: 0, disk_error: 1 },
      time: "2024-01-01T00:00:00.000Z",
    });
  });
});
