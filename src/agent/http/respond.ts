import type { IncomingMessage, ServerResponse } from "node:http";

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendJsonError(res: ServerResponse, status: number, error: string): void {
  sendJson(res, status, { error });
}

/** Reads a request body as text up to `max` bytes; throws a message fit for a 400. */
export async function readText(req: IncomingMessage, max = 64 * 1024): Promise<string> {
  // decoded once at the end: a chunk may end in the middle of a UTF-8 character
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new Error(`request body larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads a JSON request body up to `max` bytes; throws a message fit for a 400. */
export async function readJson(req: IncomingMessage, max = 64 * 1024): Promise<unknown> {
  const text = await readText(req, max);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`request body is not JSON: ${(e as Error).message}`);
  }
}
