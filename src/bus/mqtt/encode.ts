import { varintLength, Writer } from "./bytes.ts";
import { type Packet, PacketType, type ProtocolVersion } from "./packets.ts";
import { WILL, writeProperties } from "./properties.ts";

/**
 * Encodes one packet for `version` into a new buffer of exactly its size. v5-only fields
 * (properties, reason codes of acks) are left out for 3.1.1. Throws RangeError only for values
 * the caller built wrong (a string over 65,535 bytes, a packet over 256 MiB), never for wire input.
 */
export function encode(packet: Packet, version: ProtocolVersion): Uint8Array {
  const sizer = new Writer();
  body(sizer, packet, version);
  const len = sizer.pos;
  const out = new Uint8Array(1 + varintLength(len) + len);
  const w = new Writer(out);
  w.u8(firstByte(packet));
  w.varint(len);
  body(w, packet, version);
  return out;
}

function firstByte(p: Packet): number {
  const t = PacketType[p.type] << 4;
  switch (p.type) {
    case "publish":
      return t | (p.dup ? 8 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
    case "pubrel":
    case "subscribe":
    case "unsubscribe":
      return t | 2; // [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]
    default:
      return t;
  }
}

function body(w: Writer, p: Packet, v: ProtocolVersion): void {
  const v5 = v === 5;
  switch (p.type) {
    case "connect": {
      w.utf8("MQTT");
      w.u8(p.protocolVersion);
      const will = p.will;
      w.u8(
        (p.username !== undefined ? 0x80 : 0) |
          (p.password !== undefined ? 0x40 : 0) |
          (will?.retain ? 0x20 : 0) |
          ((will?.qos ?? 0) << 3) |
          (will ? 0x04 : 0) |
          (p.clean ? 0x02 : 0),
      );
      w.u16(p.keepalive);
      if (v5) writeProperties(w, p.properties, PacketType.connect);
      w.utf8(p.clientId);
      if (will) {
        if (v5) writeProperties(w, will.properties, WILL);
        w.utf8(will.topic);
        w.binary(will.payload);
      }
      if (p.username !== undefined) w.utf8(p.username);
      if (p.password !== undefined) w.binary(p.password);
      return;
    }
    case "connack":
      w.u8(p.sessionPresent ? 1 : 0);
      w.u8(p.reasonCode);
      if (v5) writeProperties(w, p.properties, PacketType.connack);
      return;
    case "publish":
      w.utf8(p.topic);
      if (p.qos > 0) w.u16(p.packetId ?? 0);
      if (v5) writeProperties(w, p.properties, PacketType.publish);
      w.raw(p.payload);
      return;
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      w.u16(p.packetId);
      // [MQTT-3.4.2.1] reason code and properties may be left out when 0 and empty
      if (v5 && (p.reasonCode !== 0 || p.properties)) {
        w.u8(p.reasonCode);
        if (p.properties) writeProperties(w, p.properties, PacketType[p.type]);
      }
      return;
    case "subscribe":
      w.u16(p.packetId);
      if (v5) writeProperties(w, p.properties, PacketType.subscribe);
      for (const s of p.subscriptions) {
        w.utf8(s.filter);
        w.u8(
          v5 ? s.qos | (s.noLocal ? 4 : 0) | (s.retainAsPublished ? 8 : 0) | (s.retainHandling << 4) : s.qos,
        );
      }
      return;
    case "suback":
    case "unsuback":
      w.u16(p.packetId);
      if (v5) writeProperties(w, p.properties, PacketType[p.type]);
      if (v5 || p.type === "suback") for (const c of p.reasonCodes) w.u8(c);
      return;
    case "unsubscribe":
      w.u16(p.packetId);
      if (v5) writeProperties(w, p.properties, PacketType.unsubscribe);
      for (const f of p.filters) w.utf8(f);
      return;
    case "pingreq":
    case "pingresp":
      return;
    case "disconnect":
    case "auth":
      // [MQTT-3.14.2.1] [MQTT-3.15.2.1] remaining length 0 means reason 0 and no properties
      if (v5 && (p.reasonCode !== 0 || p.properties)) {
        w.u8(p.reasonCode);
        if (p.properties) writeProperties(w, p.properties, PacketType[p.type]);
      }
      return;
  }
}
