/**
 * Telemetry batching: the public API for the mappers and the bridge.
 *
 *   const b = new Batcher({ maxBytes: 65536, maxCount: 1000, maxAgeMs: 10000 });
 *   let f = b.append("device/child1//", "environment", "temperature", 21.5, tsMs, now); // frame | undefined
 *   for (const f of b.appendMeasurement("device/child1//", "environment", measurement, now)) send(f);
 *   f = b.poll(now);        // a frame due by age, if any
 *   b.nextDeadline();       // when to call poll next (undefined: nothing pending), same clock as `now`
 *   f = b.flush();          // close the current frame now (shutdown)
 *   b.release(f);           // once socket AND disk queue are done with f
 *
 * Pure: no timers and no I/O; `now` is whatever clock the driver uses (ms). The driver owns a timer
 * armed at nextDeadline() and calls poll() when it fires.
 *
 * Ownership of frames: a returned frame (a Uint8Array view, a Buffer under Node and Bun) is the
 * caller's until it calls `release(frame)`; the same bytes can go to the socket and to the disk
 * queue (no copy). After release the buffer is reused by a later flush, so never touch a frame after
 * releasing it. Not releasing is safe (the buffer is garbage collected), only not allocation-free.
 * To keep a copy past release: `new Uint8Array(frame)` or `Buffer.from(frame)` (NOT `frame.slice()`,
 * which on a Buffer is a view).
 *
 * Decoding: `decodeFrame(bytes)` → records, `decodeFrames(bytes)` for a CBOR sequence of frames,
 * `toThinEdgeMessages(records)` → `{topic, payload}` Thin Edge JSON messages. Bad input throws
 * `BatchFormatError`, nothing else. The frame format is in README.md ("Telemetry batching").
 */
export { Batcher, type BatcherOptions, parseIsoMs } from "./batcher.ts";
export { type DecodeOptions, decodeFrame, decodeFrames } from "./decode.ts";
export { BatchFormatError, type BatchRecord, FRAME_VERSION, LIMITS } from "./format.ts";
export { type TeMessage, toThinEdgeMessages } from "./thin-edge.ts";
