/**
 * ledge's MQTT 3.1.1 / 5.0 codec: pure, no streams, no I/O. The API (stable; the broker and the
 * client build on it):
 *
 * - `Packet` (packets.ts): every control packet as plain data, a union discriminated on `type`
 *   ("connect", "publish", "puback", ...). v5 `properties` are named fields (`Properties`); a
 *   3.1.1 peer never sees them. Acks, DISCONNECT and AUTH carry `reasonCode` (0 when absent).
 * - `encode(packet, version)` → one `Uint8Array` of exactly the packet's size (two passes over
 *   the same writer: count, then write). Throws RangeError only for a packet built wrong by the
 *   caller (a string over 65,535 bytes, a packet over 256 MiB), never for wire input.
 * - `new Decoder({ version?, maxPacketSize? })`, `decoder.push(chunk)` → `{ packets, error? }`.
 *   Complete packets are decoded in place from the chunk (a PUBLISH payload is then a copy, so
 *   the caller may reuse the chunk once `push` returns); only a packet cut by the chunk's end is
 *   buffered, in one buffer of its full size allocated when its fixed header is complete, after
 *   the maximum packet size was checked (so a 100 MB PUBLISH costs 5 bytes, not 100 MB). A server
 *   decoder starts without a version and takes it from CONNECT (`decoder.version`).
 * - Malformed or forbidden input gives `error`, a `ProtocolError` whose `reasonCode` is the v5
 *   reason to send (0x81 malformed, 0x82 protocol error, 0x84 unsupported version, 0x90 topic
 *   name invalid, 0x95 packet too large); the decoder stays failed and the connection must close.
 *   Nothing throws out of `push`.
 * - `Reason` / `reasonName` / `connackCodeV4` (reason-codes.ts): the v5 reason code table and the
 *   3.1.1 CONNACK return code a v5 reason maps to.
 */
export { type DecodeResult, Decoder, type DecoderOptions } from "./decode.ts";
export { encode } from "./encode.ts";
export * from "./packets.ts";
export { ConnackV4, connackCodeV4, ProtocolError, Reason, reasonName } from "./reason-codes.ts";
