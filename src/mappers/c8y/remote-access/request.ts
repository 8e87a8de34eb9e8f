/**
 * `c8y_RemoteAccessConnect` as SmartREST `530,<device>,<host>,<port>,<connection key>` and the
 * configured allow list. Pure.
 */

import { parseRecord } from "../../../api/clouds/c8y/smartrest.ts";
import type { Result } from "../../common/types.ts";

export interface ConnectRequest {
  host: string;
  port: number;
  key: string;
}

export function parse530(line: string): Result<ConnectRequest> {
  const [id, , host, port, key] = parseRecord(line.trim());
  if (id !== "530") return { ok: false, error: `not a remote access request: ${id}` };
  const p = Number(port);
  if (!host || !Number.isInteger(p) || p < 1 || p > 65535)
    return { ok: false, error: "530 needs a host and a port 1-65535" };
  if (!key || !/^[A-Za-z0-9_.~-]+$/.test(key)) return { ok: false, error: "530 needs a connection key" };
  return { ok: true, value: { host, port: p, key } };
}

/** Entries are `host:port`, `host:*`; IPv6 hosts in brackets (`[::1]:22`). */
export function allowed(allow: string[], host: string, port: number): boolean {
  const h = host.toLowerCase();
  return allow.some((entry) => {
    const i = entry.lastIndexOf(":");
    if (i < 0) return false;
    const eh = entry
      .slice(0, i)
      .replace(/^\[|\]$/g, "")
      .toLowerCase();
    const ep = entry.slice(i + 1);
    return eh === h && (ep === "*" || Number(ep) === port);
  });
}

/** The WebSocket Cumulocity expects the device to open for a connection key. */
export function tunnelUrl(endpoint: string, key: string): string {
  return `${endpoint.replace(/\/+$/, "")}/service/remoteaccess/device/${encodeURIComponent(key)}`;
}
