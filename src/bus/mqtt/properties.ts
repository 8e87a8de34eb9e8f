import { type Reader, Writer } from "./bytes.ts";
import { PacketType, type Properties } from "./packets.ts";
import { ProtocolError, Reason } from "./reason-codes.ts";

type Kind = "byte" | "bool" | "u16" | "u16nz" | "u32" | "u32nz" | "varint" | "utf8" | "binary" | "pair";
/** A will's properties travel in CONNECT's payload; they get their own slot in the "where" sets. */
export const WILL = 0;

interface Def {
  id: number;
  key: keyof Properties;
  kind: Kind;
  /** Packet types (or WILL) that may carry it ([MQTT-2.2.2.2], table 2-4). */
  where: readonly number[];
}

const P = PacketType;
const ACKS = [P.puback, P.pubrec, P.pubrel, P.pubcomp];
const DEFS: Def[] = [
  { id: 0x01, key: "payloadFormatIndicator", kind: "bool", where: [P.publish, WILL] },
  { id: 0x02, key: "messageExpiryInterval", kind: "u32", where: [P.publish, WILL] },
  { id: 0x03, key: "contentType", kind: "utf8", where: [P.publish, WILL] },
  { id: 0x08, key: "responseTopic", kind: "utf8", where: [P.publish, WILL] },
  { id: 0x09, key: "correlationData", kind: "binary", where: [P.publish, WILL] },
  { id: 0x0b, key: "subscriptionIdentifiers", kind: "varint", where: [P.publish, P.subscribe] },
  { id: 0x11, key: "sessionExpiryInterval", kind: "u32", where: [P.connect, P.connack, P.disconnect] },
  { id: 0x12, key: "assignedClientIdentifier", kind: "utf8", where: [P.connack] },
  { id: 0x13, key: "serverKeepAlive", kind: "u16", where: [P.connack] },
  { id: 0x15, key: "authenticationMethod", kind: "utf8", where: [P.connect, P.connack, P.auth] },
  { id: 0x16, key: "authenticationData", kind: "binary", where: [P.connect, P.connack, P.auth] },
  { id: 0x17, key: "requestProblemInformation", kind: "bool", where: [P.connect] },
  { id: 0x18, key: "willDelayInterval", kind: "u32", where: [WILL] },
  { id: 0x19, key: "requestResponseInformation", kind: "bool", where: [P.connect] },
  { id: 0x1a, key: "responseInformation", kind: "utf8", where: [P.connack] },
  { id: 0x1c, key: "serverReference", kind: "utf8", where: [P.connack, P.disconnect] },
  {
    id: 0x1f,
    key: "reasonString",
    kind: "utf8",
    where: [P.connack, ...ACKS, P.suback, P.unsuback, P.disconnect, P.auth],
  },
  { id: 0x21, key: "receiveMaximum", kind: "u16nz", where: [P.connect, P.connack] },
  { id: 0x22, key: "topicAliasMaximum", kind: "u16", where: [P.connect, P.connack] },
  { id: 0x23, key: "topicAlias", kind: "u16", where: [P.publish] },
  { id: 0x24, key: "maximumQoS", kind: "bool", where: [P.connack] },
  { id: 0x25, key: "retainAvailable", kind: "bool", where: [P.connack] },
  { id: 0x26, key: "userProperties", kind: "pair", where: [...Object.values(P), WILL] },
  { id: 0x27, key: "maximumPacketSize", kind: "u32nz", where: [P.connect, P.connack] },
  { id: 0x28, key: "wildcardSubscriptionAvailable", kind: "bool", where: [P.connack] },
  { id: 0x29, key: "subscriptionIdentifierAvailable", kind: "bool", where: [P.connack] },
  { id: 0x2a, key: "sharedSubscriptionAvailable", kind: "bool", where: [P.connack] },
];

const byId = new Map(DEFS.map((d) => [d.id, d]));

function protocolError(msg: string): ProtocolError {
  return new ProtocolError(Reason.ProtocolError, msg);
}

/** Reads a property block (length + properties) for packet type `where` ([MQTT-2.2.2]). */
export function readProperties(r: Reader, where: number): Properties | undefined {
  const len = r.varint();
  if (len === 0) return undefined;
  const end = r.pos + len;
  if (end > r.end) throw new ProtocolError(Reason.MalformedPacket, "property length beyond the packet");
  const props: Properties = {};
  const bag = props as Record<string, unknown>;
  while (r.pos < end) {
    const id = r.varint();
    const def = byId.get(id);
    if (!def)
      throw new ProtocolError(Reason.MalformedPacket, `unknown property identifier 0x${id.toString(16)}`);
    if (!def.where.includes(where))
      throw protocolError(`property ${def.key} is not allowed in this packet [MQTT-2.2.2-2]`);
    if (def.kind === "pair") {
      const k = r.utf8();
      props.userProperties ??= [];
      props.userProperties.push([k, r.utf8()]);
      continue;
    }
    if (def.key === "subscriptionIdentifiers") {
      const v = r.varint();
      if (v === 0) throw protocolError("subscription identifier 0 [MQTT-3.8.2-1]");
      props.subscriptionIdentifiers ??= [];
      if (props.subscriptionIdentifiers.length > 0 && where !== PacketType.publish)
        throw protocolError("subscription identifier sent twice [MQTT-3.8.2.1.2]");
      props.subscriptionIdentifiers.push(v);
      continue;
    }
    if (bag[def.key] !== undefined) throw protocolError(`property ${def.key} sent twice [MQTT-2.2.2-2]`);
    bag[def.key] = readValue(r, def);
  }
  if (r.pos !== end) throw new ProtocolError(Reason.MalformedPacket, "property overruns its length");
  return props;
}

function readValue(r: Reader, def: Def): unknown {
  switch (def.kind) {
    case "byte":
      return r.u8();
    case "bool": {
      const v = r.u8();
      if (v > 1) throw protocolError(`property ${def.key} must be 0 or 1`);
      return v;
    }
    case "u16":
      return r.u16();
    case "u16nz": {
      const v = r.u16();
      if (v === 0) throw protocolError(`property ${def.key} must not be 0`);
      return v;
    }
    case "u32":
      return r.u32();
    case "u32nz": {
      const v = r.u32();
      if (v === 0) throw protocolError(`property ${def.key} must not be 0`);
      return v;
    }
    case "varint":
      return r.varint();
    case "utf8":
      return r.utf8();
    case "binary":
      return r.binary();
    case "pair":
      throw new Error("unreachable");
  }
}

/** Writes a property block (length + properties); properties not allowed in `where` are left out. */
export function writeProperties(w: Writer, props: Properties | undefined, where: number): void {
  if (!props) {
    w.u8(0);
    return;
  }
  const sizer = new Writer();
  writePropertyList(sizer, props, where);
  w.varint(sizer.pos);
  if (w.buf) writePropertyList(w, props, where);
  else w.pos += sizer.pos;
}

function writePropertyList(w: Writer, props: Properties, where: number): void {
  const bag = props as Record<string, unknown>;
  for (const def of DEFS) {
    const v = bag[def.key];
    if (v === undefined || !def.where.includes(where)) continue;
    if (def.kind === "pair") {
      for (const [k, val] of v as [string, string][]) {
        w.u8(def.id);
        w.utf8(k);
        w.utf8(val);
      }
      continue;
    }
    if (def.key === "subscriptionIdentifiers") {
      for (const id of v as number[]) {
        w.u8(def.id);
        w.varint(id);
      }
      continue;
    }
    w.u8(def.id);
    switch (def.kind) {
      case "byte":
      case "bool":
        w.u8(v as number);
        break;
      case "u16":
      case "u16nz":
        w.u16(v as number);
        break;
      case "u32":
      case "u32nz":
        w.u32(v as number);
        break;
      case "varint":
        w.varint(v as number);
        break;
      case "utf8":
        w.utf8(v as string);
        break;
      case "binary":
        w.binary(v as Uint8Array);
        break;
    }
  }
}
