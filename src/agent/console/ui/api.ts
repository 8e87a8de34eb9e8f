/** The console's server API, as the page uses it. Types come from the server's model. */
import type { Delta, Snapshot } from "../model.ts";

const csrf = document.querySelector<HTMLMetaElement>('meta[name="ledge-csrf"]')?.content ?? "";

export async function snapshot(): Promise<Snapshot> {
  const r = await fetch("api/snapshot");
  if (!r.ok) throw new Error(`snapshot: HTTP ${r.status}`);
  return (await r.json()) as Snapshot;
}

/** Live deltas; on a dropped stream the caller re-reads the snapshot (`onReset`). */
export function stream(onDelta: (d: Delta) => void, onReset: () => void): () => void {
  const es = new EventSource("api/stream");
  es.onmessage = (m) => onDelta(JSON.parse(m.data) as Delta);
  es.addEventListener("reset", onReset);
  return () => es.close();
}

async function write(method: "POST" | "PUT", path: string, body: string, type: string): Promise<Response> {
  return fetch(path, { method, body, headers: { "content-type": type, "x-ledge-csrf": csrf } });
}

export interface FileResult {
  ok: boolean;
  /** Problems, one per line, `file:line: reason`. */
  problems?: string;
  status?: string;
  reason?: string;
}

export async function readFile(name: string): Promise<string> {
  const r = await fetch(`api/files/${name}`);
  if (r.status === 404) return "";
  if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
  return r.text();
}

export async function checkFile(name: string, text: string): Promise<FileResult> {
  return (await write("POST", `api/files/${name}/check`, text, "text/plain")).json() as Promise<FileResult>;
}

export async function applyFile(name: string, text: string): Promise<FileResult> {
  const r = await write("PUT", `api/files/${name}`, text, "text/plain");
  const body = (await r.json()) as FileResult & { error?: string };
  return body.error ? { ok: false, reason: body.error } : body;
}

export interface ReadRequest {
  device: string;
  table: string;
  address: number;
  count: number;
}

export async function readRegisters(
  req: ReadRequest,
): Promise<{ status: string; values?: number[]; reason?: string }> {
  const r = await write("POST", "api/modbus/read", JSON.stringify(req), "application/json");
  return (await r.json()) as { status: string; values?: number[]; reason?: string; error?: string } as never;
}
