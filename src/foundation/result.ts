/** The outcome of validating or translating untrusted input: a value, or a readable error. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: string };
