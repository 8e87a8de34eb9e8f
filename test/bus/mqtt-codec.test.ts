import assert from "node:assert/strict";
import { describe, it } from "node:test";
import mqttPacket from "mqtt-packet";
import { Decoder, encode, type Packet, type ProtocolVersion, Reason } from "../../src/bus/mqtt/index.ts";

const b = (s: string) => new TextEncoder().encode(s);
const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ""), "hex"));

function decodeAll(bytes: Uint8Array, version?: ProtocolVersion, max?: number) {
  return new Decoder({ version, maxPacketSize: max }).push(bytes);
}

interface Row {
  name: string;
  v: ProtocolVersion;
  packet: Packet;
  /** The exact wire bytes, where a spec example pins them. */
  wire?: string;
}

const sub = (
  filter: string,
  qos: 0 | 1 | 2,
  extra: Partial<{ noLocal: boolean; retainAsPublished: boolean; retainHandling: 0 | 1 | 2 }> = {},
) => ({
  filter,
  qos,
  noLocal: false,
  retainAsPublished: false,
  retainHandling: 0 as const,
  ...extra,
});

const ROWS: Row[] = [
  {
    name: "[MQTT-3.1.2-1] CONNECT 3.1.1, protocol name MQTT level 4, clean session, keepalive",
    v: 4,
    packet: { type: "connect", protocolVersion: 4, clientId: "c1", clean: true, keepalive: 60 },
    wire: "10 0e 0004 4d515454 04 02 003c 0002 6331",
  },
  {
    name: "[MQTT-3.1.3-1] CONNECT 3.1.1 with will, user name and password in payload order",
    v: 4,
    packet: {
      type: "connect",
      protocolVersion: 4,
      clientId: "dev",
      clean: false,
      keepalive: 0,
      username: "u",
      password: b("p"),
      will: { topic: "te/device/main///e/down", payload: b("bye"), qos: 1, retain: true },
    },
  },
  {
    name: "[MQTT-3.1.2.11] CONNECT 5.0 with properties and will properties (will delay)",
    v: 5,
    packet: {
      type: "connect",
      protocolVersion: 5,
      clientId: "",
      clean: true,
      keepalive: 30,
      username: "u5",
      password: b("secret"),
      properties: {
        sessionExpiryInterval: 3600,
        receiveMaximum: 20,
        maximumPacketSize: 1 << 20,
        topicAliasMaximum: 10,
        requestProblemInformation: 1,
        userProperties: [
          ["a", "1"],
          ["a", "2"],
        ],
      },
      will: {
        topic: "w",
        payload: b(""),
        qos: 2,
        retain: false,
        properties: { willDelayInterval: 5, messageExpiryInterval: 60, contentType: "text/plain" },
      },
    },
  },
  {
    name: "[MQTT-3.2.2-1] CONNACK 3.1.1 session present",
    v: 4,
    packet: { type: "connack", sessionPresent: true, reasonCode: 0 },
    wire: "20 02 01 00",
  },
  {
    name: "[MQTT-3.2.2.3] CONNACK 5.0 with server capabilities",
    v: 5,
    packet: {
      type: "connack",
      sessionPresent: false,
      reasonCode: Reason.Success,
      properties: {
        assignedClientIdentifier: "auto-1",
        receiveMaximum: 100,
        topicAliasMaximum: 16,
        maximumPacketSize: 268435460,
        retainAvailable: 1,
        sharedSubscriptionAvailable: 1,
        wildcardSubscriptionAvailable: 1,
        subscriptionIdentifierAvailable: 1,
        serverKeepAlive: 60,
        maximumQoS: 1,
        reasonString: "ok",
      },
    },
  },
  {
    name: "[MQTT-3.3.1-1] PUBLISH QoS 0 has no packet identifier",
    v: 4,
    packet: { type: "publish", topic: "a/b", payload: b("hi"), qos: 0, retain: false, dup: false },
    wire: "30 07 0003 612f62 6869",
  },
  {
    name: "[MQTT-3.3.1-3] PUBLISH QoS 1 retained, DUP",
    v: 4,
    packet: {
      type: "publish",
      topic: "t",
      payload: hex("00ff"),
      qos: 1,
      retain: true,
      dup: true,
      packetId: 7,
    },
    wire: "3b 07 0001 74 0007 00ff",
  },
  {
    name: "[MQTT-3.3.2.3] PUBLISH 5.0 QoS 2 with request/response, expiry, alias, subscription ids",
    v: 5,
    packet: {
      type: "publish",
      topic: "te/device/main///m/",
      payload: b('{"temp":1}'),
      qos: 2,
      retain: false,
      dup: false,
      packetId: 65535,
      properties: {
        payloadFormatIndicator: 1,
        messageExpiryInterval: 10,
        topicAlias: 3,
        responseTopic: "reply/1",
        correlationData: hex("0102"),
        subscriptionIdentifiers: [1, 268435455],
        contentType: "application/json",
        userProperties: [["k", "v"]],
      },
    },
  },
  {
    name: "[MQTT-3.3.2-1] PUBLISH with a multi-byte UTF-8 topic and a 200 KiB payload",
    v: 5,
    packet: {
      type: "publish",
      topic: "é/ü/€/𝄞",
      payload: new Uint8Array(200 * 1024).fill(7),
      qos: 0,
      retain: false,
      dup: false,
    },
  },
  {
    name: "[MQTT-3.4.2-1] PUBACK 3.1.1",
    v: 4,
    packet: { type: "puback", packetId: 1, reasonCode: 0 },
    wire: "40 02 0001",
  },
  {
    name: "[MQTT-3.4.2.1] PUBACK 5.0 success leaves the reason out",
    v: 5,
    packet: { type: "puback", packetId: 2, reasonCode: 0 },
    wire: "40 02 0002",
  },
  {
    name: "[MQTT-3.4.2.1] PUBACK 5.0 no matching subscribers with a reason string",
    v: 5,
    packet: { type: "puback", packetId: 3, reasonCode: 0x10, properties: { reasonString: "nobody" } },
  },
  {
    name: "[MQTT-3.5.2.1] PUBREC 5.0 quota exceeded",
    v: 5,
    packet: { type: "pubrec", packetId: 4, reasonCode: 0x97 },
  },
  {
    name: "[MQTT-3.6.1-1] PUBREL flags 0010",
    v: 4,
    packet: { type: "pubrel", packetId: 5, reasonCode: 0 },
    wire: "62 02 0005",
  },
  {
    name: "[MQTT-3.6.2.1] PUBREL 5.0 packet identifier not found",
    v: 5,
    packet: { type: "pubrel", packetId: 5, reasonCode: 0x92 },
  },
  {
    name: "[MQTT-3.7.2.1] PUBCOMP",
    v: 4,
    packet: { type: "pubcomp", packetId: 6, reasonCode: 0 },
    wire: "70 02 0006",
  },
  {
    name: "[MQTT-3.8.1-1] SUBSCRIBE 3.1.1 flags 0010, two filters",
    v: 4,
    packet: { type: "subscribe", packetId: 10, subscriptions: [sub("a/+", 1), sub("#", 2)] },
    wire: "82 0c 000a 0003 612f2b 01 0001 23 02",
  },
  {
    name: "[MQTT-3.8.3.1] SUBSCRIBE 5.0 options: no local, retain as published, retain handling, subscription id",
    v: 5,
    packet: {
      type: "subscribe",
      packetId: 11,
      subscriptions: [
        sub("$share/g/te/#", 1, { retainHandling: 2 }),
        sub("x", 0, { noLocal: true, retainAsPublished: true, retainHandling: 1 }),
      ],
      properties: { subscriptionIdentifiers: [42], userProperties: [["u", "p"]] },
    },
  },
  {
    name: "[MQTT-3.9.3] SUBACK 3.1.1 with a failure",
    v: 4,
    packet: { type: "suback", packetId: 10, reasonCodes: [1, 0x80] },
    wire: "90 04 000a 01 80",
  },
  {
    name: "[MQTT-3.9.3] SUBACK 5.0 reason codes and reason string",
    v: 5,
    packet: {
      type: "suback",
      packetId: 11,
      reasonCodes: [0, 2, 0x8f, 0x9e],
      properties: { reasonString: "no" },
    },
  },
  {
    name: "[MQTT-3.10.1-1] UNSUBSCRIBE flags 0010",
    v: 4,
    packet: { type: "unsubscribe", packetId: 12, filters: ["a/+", "b"] },
    wire: "a2 0a 000c 0003 612f2b 0001 62",
  },
  {
    name: "[MQTT-3.10.2] UNSUBSCRIBE 5.0 with user properties",
    v: 5,
    packet: {
      type: "unsubscribe",
      packetId: 13,
      filters: ["x"],
      properties: { userProperties: [["a", "b"]] },
    },
  },
  {
    name: "[MQTT-3.11.2] UNSUBACK 3.1.1 has only the packet identifier",
    v: 4,
    packet: { type: "unsuback", packetId: 12, reasonCodes: [] },
    wire: "b0 02 000c",
  },
  {
    name: "[MQTT-3.11.3] UNSUBACK 5.0 reason codes",
    v: 5,
    packet: { type: "unsuback", packetId: 13, reasonCodes: [0, 0x11] },
  },
  { name: "[MQTT-3.12] PINGREQ", v: 4, packet: { type: "pingreq" }, wire: "c0 00" },
  { name: "[MQTT-3.13] PINGRESP", v: 5, packet: { type: "pingresp" }, wire: "d0 00" },
  {
    name: "[MQTT-3.14] DISCONNECT 3.1.1",
    v: 4,
    packet: { type: "disconnect", reasonCode: 0 },
    wire: "e0 00",
  },
  {
    name: "[MQTT-3.14.2.1] DISCONNECT 5.0 with will, session expiry and server reference",
    v: 5,
    packet: {
      type: "disconnect",
      reasonCode: 0x04,
      properties: { sessionExpiryInterval: 0, reasonString: "bye", serverReference: "other" },
    },
  },
  {
    name: "[MQTT-3.14.2.1] DISCONNECT 5.0 keep alive timeout",
    v: 5,
    packet: { type: "disconnect", reasonCode: Reason.KeepAliveTimeout },
    wire: "e0 01 8d",
  },
  {
    name: "[MQTT-3.15.2.1] AUTH 5.0 continue authentication",
    v: 5,
    packet: {
      type: "auth",
      reasonCode: 0x18,
      properties: { authenticationMethod: "SCRAM-SHA-1", authenticationData: hex("abcd") },
    },
  },
];

describe("MQTT codec: table per packet type", () => {
  for (const row of ROWS) {
    it(`${row.name}: encodes and decodes back`, () => {
      const bytes = encode(row.packet, row.v);
      if (row.wire) assert.equal(Buffer.from(bytes).toString("hex"), row.wire.replace(/\s+/g, ""));
      const d = new Decoder({ version: row.packet.type === "connect" ? undefined : row.v });
      const { packets, error } = d.push(bytes);
      assert.equal(error, undefined);
      assert.deepEqual(packets, [row.packet]);
    });
  }

  it("[MQTT-3.1.2-2] a server decoder learns the version from CONNECT and decodes v5 packets after it", () => {
    const d = new Decoder();
    const connect: Packet = { type: "connect", protocolVersion: 5, clientId: "x", clean: true, keepalive: 0 };
    const pub: Packet = {
      type: "publish",
      topic: "t",
      payload: b("1"),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1,
      properties: { topicAlias: 1 },
    };
    const all = Buffer.concat([encode(connect, 5), encode(pub, 5)]); // a Buffer chunk: payloads must still be plain copies
    const { packets, error } = d.push(all);
    assert.equal(error, undefined);
    assert.equal(d.version, 5);
    assert.deepEqual(packets, [connect, pub]);
  });

  it("properties not allowed in a packet are left out when encoding", () => {
    const bytes = encode(
      { type: "puback", packetId: 1, reasonCode: 0x10, properties: { topicAlias: 1, reasonString: "r" } },
      5,
    );
    const { packets } = decodeAll(bytes, 5);
    assert.deepEqual(packets, [
      { type: "puback", packetId: 1, reasonCode: 0x10, properties: { reasonString: "r" } },
    ]);
  });

  it("3.1.1 encoding drops v5 fields (properties, ack reason codes)", () => {
    const bytes = encode(
      {
        type: "publish",
        topic: "t",
        payload: b("x"),
        qos: 0,
        retain: false,
        dup: false,
        properties: { messageExpiryInterval: 5 },
      },
      4,
    );
    assert.deepEqual(decodeAll(bytes, 4).packets, [
      { type: "publish", topic: "t", payload: b("x"), qos: 0, retain: false, dup: false },
    ]);
  });
});

describe("MQTT codec: partial reads", () => {
  const stream = ROWS.filter((r) => r.v === 5 && r.packet.type !== "connect");
  const v5connect = ROWS.find((r) => r.v === 5 && r.packet.type === "connect") as Row;
  const all = [v5connect, ...stream].map((r) => r.packet);
  const bytes = Buffer.concat(all.map((p) => encode(p, 5)));

  it("a stream of every packet type split at every byte boundary decodes the same", () => {
    for (let i = 0; i <= bytes.length; i += i < 400 || i > bytes.length - 400 ? 1 : 997) {
      const d = new Decoder();
      const a = d.push(bytes.subarray(0, i));
      const c = d.push(bytes.subarray(i));
      assert.equal(a.error ?? c.error, undefined, `split at ${i}`);
      assert.deepEqual([...a.packets, ...c.packets], all, `split at ${i}`);
    }
  });

  it("one byte at a time decodes the same", () => {
    const small = Buffer.concat(
      all.filter((p) => p.type !== "publish" || p.payload.length < 1000).map((p) => encode(p, 5)),
    );
    const d = new Decoder();
    const got: Packet[] = [];
    for (let i = 0; i < small.length; i++) {
      const r = d.push(small.subarray(i, i + 1));
      assert.equal(r.error, undefined);
      got.push(...r.packets);
    }
    assert.deepEqual(
      got,
      all.filter((p) => p.type !== "publish" || p.payload.length < 1000),
    );
    assert.equal(d.buffered, 0);
  });

  it("the caller may reuse a chunk after push: decoded packets own their bytes", () => {
    const chunk = Buffer.from(
      encode({ type: "publish", topic: "t", payload: b("abc"), qos: 0, retain: false, dup: false }, 4),
    );
    const half = Buffer.from(
      encode({ type: "publish", topic: "u", payload: b("def"), qos: 0, retain: false, dup: false }, 4),
    );
    const d = new Decoder({ version: 4 });
    const firstChunk = Buffer.concat([chunk, half.subarray(0, 4)]);
    const first = d.push(firstChunk);
    firstChunk.fill(0);
    const second = d.push(half.subarray(4));
    chunk.fill(0);
    half.fill(0);
    const p1 = first.packets[0];
    const p2 = second.packets[0];
    assert.ok(p1?.type === "publish" && p2?.type === "publish");
    assert.equal(Buffer.from(p1.payload).toString(), "abc");
    assert.equal(p2.topic, "u");
    assert.equal(Buffer.from(p2.payload).toString(), "def");
  });
});

interface Bad {
  name: string;
  v?: ProtocolVersion;
  wire: string;
  reason: number;
}

const BAD: Bad[] = [
  { name: "[MQTT-3.1.0-1] a first packet other than CONNECT", wire: "c0 00", reason: Reason.ProtocolError },
  {
    name: "[MQTT-3.1.2-1] protocol name other than MQTT",
    wire: "10 0e 0004 4d515458 04 02 003c 0002 6331",
    reason: Reason.UnsupportedProtocolVersion,
  },
  {
    name: "[MQTT-3.1.2-2] protocol level 3",
    wire: "10 0e 0004 4d515454 03 02 003c 0002 6331",
    reason: Reason.UnsupportedProtocolVersion,
  },
  {
    name: "[MQTT-3.1.2-3] CONNECT reserved flag set",
    wire: "10 0e 0004 4d515454 04 03 003c 0002 6331",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-3.1.2-11] will QoS without the will flag",
    wire: "10 0e 0004 4d515454 04 0a 003c 0002 6331",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-3.1.2-12] will QoS 3",
    wire: "10 13 0004 4d515454 04 1e 003c 0002 6331 0001 74 0000",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-3.1.2-13] will retain without the will flag",
    wire: "10 0e 0004 4d515454 04 22 003c 0002 6331",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-3.1.2-22] 3.1.1 password flag without user name flag",
    wire: "10 11 0004 4d515454 04 42 003c 0002 6331 0001 70",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-3.1.3-11] will topic with a wildcard",
    wire: "10 13 0004 4d515454 04 06 003c 0002 6331 0001 23 0000",
    reason: Reason.TopicNameInvalid,
  },
  {
    name: "[MQTT-1.5.4-1] client id not well-formed UTF-8",
    wire: "10 0e 0004 4d515454 04 02 003c 0002 c328",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-1.5.4-1] UTF-16 surrogate encoded in UTF-8",
    v: 4,
    wire: "30 06 0003 eda080 78",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-1.5.4-2] topic containing U+0000",
    v: 4,
    wire: "30 06 0003 610062 78",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-1.5.5-1] remaining length of 5 bytes",
    v: 4,
    wire: "30 ff ff ff ff 01",
    reason: Reason.MalformedPacket,
  },
  { name: "[MQTT-2.1.3-1] reserved flags on PINGREQ", v: 4, wire: "c1 00", reason: Reason.MalformedPacket },
  { name: "[MQTT-2.1.3-1] reserved packet type 0", v: 4, wire: "00 00", reason: Reason.MalformedPacket },
  { name: "[MQTT-2.1.3-1] AUTH (type 15) in 3.1.1", v: 4, wire: "f0 00", reason: Reason.MalformedPacket },
  {
    name: "[MQTT-2.2.1-3] PUBLISH QoS 1 with packet identifier 0",
    v: 4,
    wire: "32 05 0001 74 0000",
    reason: Reason.MalformedPacket,
  },
  { name: "[MQTT-3.3.1-2] DUP set on QoS 0", v: 4, wire: "38 03 0001 74", reason: Reason.MalformedPacket },
  { name: "[MQTT-3.3.1-4] PUBLISH QoS 3", v: 4, wire: "36 05 0001 74 0001", reason: Reason.MalformedPacket },
  {
    name: "[MQTT-3.3.2-2] PUBLISH topic with a wildcard",
    v: 4,
    wire: "30 03 0001 2b",
    reason: Reason.TopicNameInvalid,
  },
  { name: "[MQTT-3.6.1-1] PUBREL with flags 0000", v: 4, wire: "60 02 0001", reason: Reason.MalformedPacket },
  {
    name: "[MQTT-3.8.1-1] SUBSCRIBE with flags 0000",
    v: 4,
    wire: "80 06 0001 0001 23 00",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-3.8.3-2] SUBSCRIBE without a filter",
    v: 4,
    wire: "82 02 0001",
    reason: Reason.ProtocolError,
  },
  {
    name: "[MQTT-3.8.3-4] SUBSCRIBE requested QoS 3",
    v: 4,
    wire: "82 06 0001 0001 23 03",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-3.8.3-5] SUBSCRIBE 3.1.1 reserved option bits",
    v: 4,
    wire: "82 06 0001 0001 23 04",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-3.8.3-5] SUBSCRIBE 5.0 reserved option bits 6-7",
    v: 5,
    wire: "82 07 0001 00 0001 23 40",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-3.8.3.1] SUBSCRIBE 5.0 retain handling 3",
    v: 5,
    wire: "82 07 0001 00 0001 23 30",
    reason: Reason.ProtocolError,
  },
  {
    name: "[MQTT-3.10.1-1] UNSUBSCRIBE with flags 0000",
    v: 4,
    wire: "a0 05 0001 0001 23",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-3.10.3-2] UNSUBSCRIBE without a filter",
    v: 4,
    wire: "a2 02 0001",
    reason: Reason.ProtocolError,
  },
  { name: "[MQTT-3.12] PINGREQ with a body", v: 4, wire: "c0 01 00", reason: Reason.MalformedPacket },
  {
    name: "[MQTT-3.4.2-1] PUBACK 5.0 with a reason code not allowed for PUBACK",
    v: 5,
    wire: "40 03 0001 8d",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-2.2.2-2] a property sent twice",
    v: 5,
    wire: "30 0c 0001 74 07 02 00000001 02 00000001",
    reason: Reason.ProtocolError,
  },
  {
    name: "[MQTT-2.2.2-2] a property not allowed in PUBLISH (session expiry)",
    v: 5,
    wire: "30 09 0001 74 05 11 00000001",
    reason: Reason.ProtocolError,
  },
  {
    name: "[MQTT-2.2.2] an unknown property identifier",
    v: 5,
    wire: "30 06 0001 74 02 7f 00",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-2.2.2] property length beyond the packet",
    v: 5,
    wire: "30 05 0001 74 09 00",
    reason: Reason.MalformedPacket,
  },
  {
    name: "[MQTT-3.3.2.3.8] subscription identifier 0",
    v: 5,
    wire: "30 06 0001 74 02 0b 00",
    reason: Reason.ProtocolError,
  },
  {
    name: "[MQTT-3.2.2.3.3] receive maximum 0",
    v: 5,
    wire: "20 06 00 00 03 21 0000",
    reason: Reason.ProtocolError,
  },
  {
    name: "[MQTT-3.1.2.11] payload format indicator 2",
    v: 5,
    wire: "30 06 0001 74 02 01 02",
    reason: Reason.ProtocolError,
  },
  {
    name: "[MQTT-1.5.5] a non-minimal variable byte integer",
    v: 5,
    wire: "30 06 0001 74 02 80 00",
    reason: Reason.MalformedPacket,
  },
  { name: "a string longer than its packet", v: 4, wire: "30 03 0009 74", reason: Reason.MalformedPacket },
];

describe("MQTT codec: malformed input is a ProtocolError with its reason code", () => {
  for (const bad of BAD) {
    it(bad.name, () => {
      const d = new Decoder({ version: bad.v });
      const { packets, error } = d.push(hex(bad.wire));
      assert.deepEqual(packets, []);
      assert.equal(error?.reasonCode, bad.reason, error?.message);
      // the decoder stays failed: later input is not parsed
      assert.equal(d.push(hex("c000")).error, error);
    });
  }

  it("[MQTT-3.2.2.3.6] maximum packet size is checked from the fixed header, before the body is buffered", () => {
    const d = new Decoder({ version: 4, maxPacketSize: 1 << 20 });
    // 100 MB PUBLISH: only its 5-byte fixed header arrives before the refusal
    const header = hex("30 80 a8 d6 2f");
    const r = d.push(header);
    assert.equal(r.error?.reasonCode, Reason.PacketTooLarge);
    assert.equal(d.buffered, 0);
    // positive control: a packet just at the limit is accepted
    const publish = (n: number) =>
      encode(
        { type: "publish", topic: "t", payload: new Uint8Array(n), qos: 0, retain: false, dup: false },
        4,
      );
    const ok = publish((1 << 20) - 7);
    assert.equal(ok.length, 1 << 20);
    assert.equal(new Decoder({ version: 4, maxPacketSize: 1 << 20 }).push(ok).error, undefined);
    const over = publish((1 << 20) - 6);
    assert.equal(
      new Decoder({ version: 4, maxPacketSize: 1 << 20 }).push(over.subarray(0, 4)).error?.reasonCode,
      Reason.PacketTooLarge,
    );
  });

  it("random garbage never throws", () => {
    let seed = 1;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let n = 0; n < 3000; n++) {
      const bytes = Uint8Array.from({ length: 2 + (n % 40) }, rnd);
      for (const v of [undefined, 4, 5] as const) {
        assert.doesNotThrow(() => new Decoder({ version: v }).push(bytes));
      }
    }
  });
});

// ---- Cross-check against mqtt-packet (MQTT.js's codec), both directions, v4 and v5.

type MP = Record<string, unknown>;

function toMqttPacket(p: Packet, v: ProtocolVersion): MP {
  const props = (x: Record<string, unknown> | undefined) => {
    if (!x || v !== 5) return undefined;
    const out: MP = {};
    for (const [k, val] of Object.entries(x)) {
      if (k === "userProperties") {
        const o: Record<string, string | string[]> = {};
        for (const [a, c] of val as [string, string][]) {
          const prev = o[a];
          o[a] = prev === undefined ? c : Array.isArray(prev) ? [...prev, c] : [prev, c];
        }
        out.userProperties = o;
      } else if (k === "subscriptionIdentifiers") {
        const ids = val as number[];
        out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
      } else if (
        k === "payloadFormatIndicator" ||
        k === "requestProblemInformation" ||
        k === "requestResponseInformation" ||
        k === "retainAvailable" ||
        k === "wildcardSubscriptionAvailable" ||
        k === "subscriptionIdentifierAvailable" ||
        k === "sharedSubscriptionAvailable"
      ) {
        out[k === "subscriptionIdentifierAvailable" ? "subscriptionIdentifiersAvailable" : k] = val === 1;
      } else if (val instanceof Uint8Array) out[k] = Buffer.from(val);
      else out[k] = val;
    }
    return out;
  };
  switch (p.type) {
    case "connect":
      return {
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: p.protocolVersion,
        clientId: p.clientId,
        clean: p.clean,
        keepalive: p.keepalive,
        username: p.username,
        password: p.password && Buffer.from(p.password),
        will: p.will && {
          ...p.will,
          payload: Buffer.from(p.will.payload),
          properties: props(p.will.properties as Record<string, unknown>),
        },
        properties: props(p.properties as Record<string, unknown>),
      };
    case "connack":
      return {
        cmd: "connack",
        sessionPresent: p.sessionPresent,
        [v === 5 ? "reasonCode" : "returnCode"]: p.reasonCode,
        properties: props(p.properties as Record<string, unknown>),
      };
    case "publish":
      return {
        cmd: "publish",
        topic: p.topic,
        payload: Buffer.from(p.payload),
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
        messageId: p.packetId,
        properties: props(p.properties as Record<string, unknown>),
      };
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      return {
        cmd: p.type,
        messageId: p.packetId,
        reasonCode: p.reasonCode,
        properties: props(p.properties as Record<string, unknown>),
      };
    case "subscribe":
      return {
        cmd: "subscribe",
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) =>
          v === 5
            ? { topic: s.filter, qos: s.qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling }
            : { topic: s.filter, qos: s.qos },
        ),
        properties: props(p.properties as Record<string, unknown>),
      };
    case "suback":
    case "unsuback":
      return {
        cmd: p.type,
        messageId: p.packetId,
        granted: p.reasonCodes,
        properties: props(p.properties as Record<string, unknown>),
      };
    case "unsubscribe":
      return {
        cmd: "unsubscribe",
        messageId: p.packetId,
        unsubscriptions: p.filters,
        properties: props(p.properties as Record<string, unknown>),
      };
    case "disconnect":
    case "auth":
      return {
        cmd: p.type,
        reasonCode: p.reasonCode,
        properties: props(p.properties as Record<string, unknown>),
      };
    default:
      return { cmd: p.type };
  }
}

function mpParse(bytes: Uint8Array, v: ProtocolVersion): MP[] {
  const parser = mqttPacket.parser({ protocolVersion: v });
  const out: MP[] = [];
  const errors: Error[] = [];
  parser.on("packet", (p) => out.push(p as unknown as MP));
  parser.on("error", (e: Error) => errors.push(e));
  parser.parse(Buffer.from(bytes));
  if (errors.length) throw errors[0];
  return out;
}

/** Keeps only the fields both codecs model, normalised the same way. */
function strip(o: MP): MP {
  const out: MP = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || k === "length" || (k === "topic" && o.cmd === "subscribe")) continue;
    if (v && typeof v === "object" && !Buffer.isBuffer(v) && !Array.isArray(v)) {
      const inner = strip(v as MP);
      if (Object.keys(inner).length) out[k] = inner;
      continue;
    }
    if (Array.isArray(v))
      out[k] = v.map((x) => (x && typeof x === "object" && !Buffer.isBuffer(x) ? strip(x as MP) : x));
    else out[k] = Buffer.isBuffer(v) ? Buffer.from(v).toString("hex") : v;
  }
  return out;
}

describe("MQTT codec: cross-check with mqtt-packet (independent implementation)", () => {
  const rows = ROWS.filter((r) => !(r.packet.type === "publish" && r.packet.payload.length > 1000));
  for (const row of rows) {
    it(`${row.name}: mqtt-packet parses what we encode`, () => {
      const ours = encode(row.packet, row.v);
      const theirs = mpParse(ours, row.v);
      assert.equal(theirs.length, 1);
      const want = strip(toMqttPacket(row.packet, row.v));
      const got = strip(theirs[0] as MP);
      for (const [k, v] of Object.entries(want)) {
        if (k === "properties" || k === "will") continue;
        if (k === "reasonCode" && v === 0 && got[k] === undefined) continue;
        if (k === "granted" && row.packet.type === "unsuback" && row.v === 4) continue;
        assert.deepEqual(got[k], v, `${k}`);
      }
      if (want.properties) assert.deepEqual(got.properties, want.properties);
      if (want.will) assert.deepEqual(strip(got.will as MP), want.will);
    });
    it(`${row.name}: we decode what mqtt-packet generates`, () => {
      const generated = mqttPacket.generate(toMqttPacket(row.packet, row.v) as never, {
        protocolVersion: row.v,
      });
      const { packets, error } = new Decoder({
        version: row.packet.type === "connect" ? undefined : row.v,
      }).push(generated);
      assert.equal(error, undefined, error?.message);
      assert.deepEqual(packets, [row.packet]);
    });
  }
});
