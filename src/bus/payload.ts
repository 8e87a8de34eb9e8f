/**
 * A payload as the Buffer handlers get. A copy, not a view: reading `.buffer` of a small typed array
 * makes the engine move it off the heap, which costs several times a copy of a usual payload
 * (~1 µs against ~0.1 µs per message in Bun).
 */
export const asBuffer = (p: Uint8Array): Buffer => (Buffer.isBuffer(p) ? p : Buffer.from(p));
