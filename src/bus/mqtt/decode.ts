import { copy, MAX_VARINT, Reader } from "./bytes.ts";
import type {
  Connect,
  Packet,
  Properties,
  ProtocolVersion,
  Publish,
  QoS,
  SubscriptionRequest,
  Will,
} from "./packets.ts";
import { PacketType } from "./packets.ts";
import { readProperties, WILL } from "./properties.ts";
import { ProtocolError, Reason } from "./reason-codes.ts";

export interface DecoderOptions {
  /** Known for a client; a server's decoder learns it from CONNECT. */
  version?: ProtocolVersion;
  /** Largest whole packet (fixed header included) accepted, checked before its body is buffered. */
  maxPacketSize?: number;
}

export interface DecodeResult {
  packets: Packet[];
  /** Set once input is malformed: the connection must close; the decoder stays failed. */
  error?: ProtocolError;
}

const malformed = (msg: string) => new ProtocolError(Reason.MalformedPacket, msg);
const protocol = (msg: string) => new ProtocolError(Reason.ProtocolError, msg);

/**
 * Incremental MQTT decoder. `push` decodes every complete packet of a chunk in place; only the
 * remainder of a packet cut by the chunk's end is copied (into one buffer of the packet's full
 * size, allocated once its length is known), so the caller may reuse the chunk after `push` returns.
 */
export class Decoder {
  version: ProtocolVersion | undefined;
  readonly maxPacketSize: number;
  private error?: ProtocolError;
  /** Bytes of a fixed header cut by a chunk's end (at most 4). */
  private head?: Uint8Array;
  /** The packet being assembled across chunks, and how much of it has arrived. */
  private body?: Uint8Array;
  private filled = 0;
  private headerLen = 0;

  constructor(opts: DecoderOptions = {}) {
    this.version = opts.version;
    this.maxPacketSize = opts.maxPacketSize ?? MAX_VARINT + 5;
  }

  /** Bytes held for a packet not yet complete. */
  get buffered(): number {
    return this.body ? this.filled : (this.head?.length ?? 0);
  }

  push(chunk: Uint8Array): DecodeResult {
    const packets: Packet[] = [];
    if (this.error) return { packets, error: this.error };
    try {
      let off = this.resume(chunk, packets);
      while (off < chunk.length) {
        const h = this.header(chunk, off, chunk.length);
        if (!h) {
          this.head = copy(chunk.subarray(off));
          break;
        }
        const total = h.headerLen + h.remaining;
        if (off + total > chunk.length) {
          this.startBody(chunk.subarray(off), total, h.headerLen);
          break;
        }
        packets.push(this.decode(chunk, off, h.headerLen, total, false));
        off += total;
      }
    } catch (e) {
      this.error = e instanceof ProtocolError ? e : malformed(e instanceof Error ? e.message : String(e));
      this.head = undefined;
      this.body = undefined;
      return { packets, error: this.error };
    }
    return { packets };
  }

  /** Continues a packet left over from earlier chunks; returns how many bytes of `chunk` it took. */
  private resume(chunk: Uint8Array, packets: Packet[]): number {
    let used = 0;
    if (this.head) {
      const joined = new Uint8Array(this.head.length + Math.min(chunk.length, 5));
      joined.set(this.head);
      joined.set(chunk.subarray(0, joined.length - this.head.length), this.head.length);
      const h = this.header(joined, 0, joined.length);
      if (!h) {
        this.head = joined;
        return chunk.length;
      }
      const had = this.head.length;
      this.head = undefined;
      this.body = new Uint8Array(h.headerLen + h.remaining);
      this.body.set(joined.subarray(0, Math.min(joined.length, this.body.length)));
      this.filled = Math.min(joined.length, this.body.length);
      this.headerLen = h.headerLen;
      used = this.filled - had;
    }
    if (!this.body) return used;
    const n = Math.min(this.body.length - this.filled, chunk.length - used);
    this.body.set(chunk.subarray(used, used + n), this.filled);
    this.filled += n;
    used += n;
    if (this.filled === this.body.length) {
      const body = this.body;
      this.body = undefined;
      packets.push(this.decode(body, 0, this.headerLen, body.length, true));
    }
    return used;
  }

  private startBody(part: Uint8Array, total: number, headerLen: number): void {
    this.body = new Uint8Array(total);
    this.body.set(part);
    this.filled = part.length;
    this.headerLen = headerLen;
  }

  /** The fixed header at `off`, or undefined when it is not complete yet. */
  private header(
    buf: Uint8Array,
    off: number,
    end: number,
  ): { headerLen: number; remaining: number } | undefined {
    let remaining = 0;
    let mul = 1;
    for (let i = 1; i <= 4; i++) {
      if (off + i >= end) return undefined;
      const b = buf[off + i] as number;
      remaining += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        const size = i + 1 + remaining;
        if (size > this.maxPacketSize)
          throw new ProtocolError(
            Reason.PacketTooLarge,
            `packet of ${size} bytes exceeds the maximum packet size ${this.maxPacketSize}`,
          );
        return { headerLen: i + 1, remaining };
      }
      mul *= 128;
    }
    throw malformed("remaining length longer than 4 bytes [MQTT-1.5.5-1]");
  }

  private decode(buf: Uint8Array, off: number, headerLen: number, total: number, owned: boolean): Packet {
    const first = buf[off] as number;
    const type = first >> 4;
    if (this.version === undefined) {
      if (type !== PacketType.connect) throw protocol("the first packet must be CONNECT [MQTT-3.1.0-1]");
      const p = decodeConnect(new Reader(buf, off + headerLen, off + total, owned), first & 15);
      this.version = p.protocolVersion;
      return p;
    }
    return decodePacket(new Reader(buf, off + headerLen, off + total, owned), first, this.version);
  }
}

/** Packets whose fixed-header flags are fixed ([MQTT-2.1.3-1]): PUBREL, SUBSCRIBE, UNSUBSCRIBE use 0b0010. */
function checkFlags(type: number, flags: number): void {
  const want =
    type === PacketType.pubrel || type === PacketType.subscribe || type === PacketType.unsubscribe ? 2 : 0;
  if (flags !== want)
    throw malformed(`reserved fixed header flags ${flags} for packet type ${type} [MQTT-2.1.3-1]`);
}

function packetId(r: Reader): number {
  const id = r.u16();
  if (id === 0) throw malformed("packet identifier 0 [MQTT-2.2.1-3]");
  return id;
}

function end(r: Reader): void {
  if (r.left !== 0) throw malformed("bytes after the end of the packet");
}

/** Reason codes each packet may carry ([MQTT-3.4.2-1] and the tables of 3.2, 3.5-3.7, 3.9, 3.11, 3.14, 3.15). */
const ALLOWED: Partial<Record<number, Set<number>>> = {
  [PacketType.puback]: new Set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]),
  [PacketType.pubrec]: new Set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]),
  [PacketType.pubrel]: new Set([0x00, 0x92]),
  [PacketType.pubcomp]: new Set([0x00, 0x92]),
  [PacketType.suback]: new Set([0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]),
  [PacketType.unsuback]: new Set([0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]),
  [PacketType.auth]: new Set([0x00, 0x18, 0x19]),
};

function reason(r: Reader, type: number): number {
  const code = r.u8();
  const ok = ALLOWED[type];
  if (ok && !ok.has(code))
    throw malformed(`reason code 0x${code.toString(16)} not valid for packet type ${type}`);
  return code;
}

/** A v5 reason code and properties that may be left out at the end of a packet ([MQTT-3.4.2.1]), then its end. */
function optionalReason(
  r: Reader,
  type: number,
  v5: boolean,
): { reasonCode: number; properties?: Properties } {
  let reasonCode = 0;
  let properties: Properties | undefined;
  if (v5 && r.left > 0) {
    reasonCode = reason(r, type);
    if (r.left > 0) properties = readProperties(r, type);
  }
  end(r);
  return properties ? { reasonCode, properties } : { reasonCode };
}

export function decodeConnect(r: Reader, flags: number): Connect {
  checkFlags(PacketType.connect, flags);
  const name = r.utf8();
  const level = r.u8();
  if (name !== "MQTT" || (level !== 4 && level !== 5))
    throw new ProtocolError(
      Reason.UnsupportedProtocolVersion,
      `unsupported protocol ${name} level ${level} [MQTT-3.1.2-1] [MQTT-3.1.2-2]`,
    );
  const v5 = level === 5;
  const f = r.u8();
  if (f & 1) throw malformed("CONNECT reserved flag set [MQTT-3.1.2-3]");
  const willFlag = (f & 0x04) !== 0;
  const willQos = (f >> 3) & 3;
  const willRetain = (f & 0x20) !== 0;
  if (!willFlag && (willQos !== 0 || willRetain))
    throw malformed("will QoS/retain set without a will [MQTT-3.1.2-11] [MQTT-3.1.2-13]");
  if (willQos === 3) throw malformed("will QoS 3 [MQTT-3.1.2-12]");
  const hasUser = (f & 0x80) !== 0;
  const hasPass = (f & 0x40) !== 0;
  if (!v5 && hasPass && !hasUser) throw malformed("password without user name (3.1.1) [MQTT-3.1.2-22]");
  const keepalive = r.u16();
  const properties = v5 ? readProperties(r, PacketType.connect) : undefined;
  const clientId = r.utf8();
  let will: Will | undefined;
  if (willFlag) {
    const wp = v5 ? readProperties(r, WILL) : undefined;
    const topic = r.utf8();
    if (topic.length === 0 || topic.includes("+") || topic.includes("#"))
      throw new ProtocolError(
        Reason.TopicNameInvalid,
        "will topic is empty or has a wildcard [MQTT-3.1.3-11]",
      );
    will = { topic, payload: r.binary(), qos: willQos as QoS, retain: willRetain };
    if (wp) will.properties = wp;
  }
  const username = hasUser ? r.utf8() : undefined;
  const password = hasPass ? r.binary() : undefined;
  end(r);
  return {
    type: "connect",
    protocolVersion: level,
    clientId,
    clean: (f & 0x02) !== 0,
    keepalive,
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    ...(will && { will }),
    ...(properties && { properties }),
  };
}

/** Decodes one packet whose fixed header was `first`, body in `r`, for protocol `version`. */
export function decodePacket(r: Reader, first: number, version: ProtocolVersion): Packet {
  const type = first >> 4;
  const flags = first & 15;
  const v5 = version === 5;
  if (type !== PacketType.publish) checkFlags(type, flags);
  switch (type) {
    case PacketType.connect:
      return decodeConnect(r, flags);
    case PacketType.connack: {
      const ack = r.u8();
      if (ack & 0xfe) throw malformed("CONNACK reserved flags set [MQTT-3.2.2-1]");
      const reasonCode = r.u8();
      const properties = v5 ? readProperties(r, type) : undefined;
      end(r);
      return { type: "connack", sessionPresent: ack === 1, reasonCode, ...(properties && { properties }) };
    }
    case PacketType.publish: {
      const qos = (flags >> 1) & 3;
      if (qos === 3) throw malformed("PUBLISH QoS 3 [MQTT-3.3.1-4]");
      const dup = (flags & 8) !== 0;
      if (dup && qos === 0) throw malformed("DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]");
      const topic = r.utf8();
      if (topic.includes("+") || topic.includes("#"))
        throw new ProtocolError(Reason.TopicNameInvalid, "wildcard in a PUBLISH topic [MQTT-3.3.2-2]");
      const id = qos > 0 ? packetId(r) : undefined;
      const properties = v5 ? readProperties(r, type) : undefined;
      // No spreads: this is every message's path.
      const p: Publish = {
        type: "publish",
        topic,
        payload: r.bytes(r.left),
        qos: qos as QoS,
        retain: (flags & 1) !== 0,
        dup,
      };
      if (id !== undefined) p.packetId = id;
      if (properties) p.properties = properties;
      return p;
    }
    case PacketType.puback:
    case PacketType.pubrec:
    case PacketType.pubrel:
    case PacketType.pubcomp: {
      const id = packetId(r);
      const { reasonCode, properties } = optionalReason(r, type, v5);
      const name = type === 4 ? "puback" : type === 5 ? "pubrec" : type === 6 ? "pubrel" : "pubcomp";
      return { type: name, packetId: id, reasonCode, ...(properties && { properties }) };
    }
    case PacketType.subscribe: {
      const id = packetId(r);
      const properties = v5 ? readProperties(r, type) : undefined;
      const subscriptions: SubscriptionRequest[] = [];
      while (r.left > 0) {
        const filter = r.utf8();
        const o = r.u8();
        if (o & (v5 ? 0xc0 : 0xfc)) throw malformed("SUBSCRIBE reserved option bits set [MQTT-3.8.3-5]");
        const qos = o & 3;
        if (qos === 3) throw malformed("SUBSCRIBE QoS 3 [MQTT-3.8.3-4]");
        const retainHandling = (o >> 4) & 3;
        if (retainHandling === 3) throw protocol("retain handling 3 [MQTT-3.8.3.1]");
        subscriptions.push({
          filter,
          qos: qos as QoS,
          noLocal: (o & 4) !== 0,
          retainAsPublished: (o & 8) !== 0,
          retainHandling: retainHandling as 0 | 1 | 2,
        });
      }
      if (subscriptions.length === 0) throw protocol("SUBSCRIBE without a topic filter [MQTT-3.8.3-2]");
      return { type: "subscribe", packetId: id, subscriptions, ...(properties && { properties }) };
    }
    case PacketType.suback:
    case PacketType.unsuback: {
      const id = packetId(r);
      const properties = v5 ? readProperties(r, type) : undefined;
      const reasonCodes: number[] = [];
      if (v5 || type === PacketType.suback) while (r.left > 0) reasonCodes.push(reason(r, type));
      end(r);
      if (type === PacketType.suback)
        return { type: "suback", packetId: id, reasonCodes, ...(properties && { properties }) };
      return { type: "unsuback", packetId: id, reasonCodes, ...(properties && { properties }) };
    }
    case PacketType.unsubscribe: {
      const id = packetId(r);
      const properties = v5 ? readProperties(r, type) : undefined;
      const filters: string[] = [];
      while (r.left > 0) filters.push(r.utf8());
      if (filters.length === 0) throw protocol("UNSUBSCRIBE without a topic filter [MQTT-3.10.3-2]");
      return { type: "unsubscribe", packetId: id, filters, ...(properties && { properties }) };
    }
    case PacketType.pingreq:
      end(r);
      return { type: "pingreq" };
    case PacketType.pingresp:
      end(r);
      return { type: "pingresp" };
    case PacketType.disconnect:
    case PacketType.auth: {
      if (type === PacketType.auth && !v5) throw malformed("packet type 15 is reserved in MQTT 3.1.1");
      const { reasonCode, properties } = optionalReason(r, type, v5);
      return type === PacketType.auth
        ? { type: "auth", reasonCode, ...(properties && { properties }) }
        : { type: "disconnect", reasonCode, ...(properties && { properties }) };
    }
    default:
      throw malformed(`reserved packet type ${type} [MQTT-2.1.2]`);
  }
}
