/**
 * A WebSocket upgrade relayed under Bun: `Bun.serve` answers the client's handshake itself and
 * gives no raw socket to tunnel, so the target gets a WebSocket of its own (Bun's client, with
 * the target's TLS settings) and messages are relayed both ways, text as text and binary as
 * binary; a close on either side closes the other with the same code and reason. The target's
 * handshake comes first, so a client is only upgraded once the target has accepted. Neither side
 * can be paused, so what waits for a slow side is bounded: past `BACKLOG` bytes both are closed
 * (1013, try again later) rather than messages dropped or memory growing without end.
 */
import type { ServerWebSocket, WebSocketHandler } from "bun";
import type { WebSocketTarget } from "./exchange.ts";

/**
 * Bytes that may wait for a side that does not take them: room for a burst from a local client
 * (the tenant's side is slower than loopback), a bound for one that never ends.
 */
const BACKLOG = 64 << 20;
const TRY_AGAIN_LATER = 1013;

export interface Relay {
  readonly upstream: WebSocket;
  client?: ServerWebSocket<Relay>;
  /** What the target sent before the client's side was open. */
  readonly pending: (string | ArrayBuffer)[];
  /** The target closed before the client's side was open. */
  closed?: { code: number; reason: string };
}

/** Headers of the client's handshake that belong to its own hop (RFC 9110 §7.6.1, RFC 6455 §4.1). */
const OWN = /^(host|connection|upgrade|keep-alive|te|trailer|transfer-encoding|sec-websocket-.*)$/i;

/** Opens the target's WebSocket with the client's headers and subprotocols; resolves once it is open. */
export async function openUpstream(target: WebSocketTarget, client: Headers): Promise<Relay> {
  const headers: Record<string, string> = {};
  client.forEach((v, k) => {
    if (!OWN.test(k)) headers[k] = v;
  });
  for (const [k, v] of Object.entries(target.headers)) headers[k.toLowerCase()] = v;
  const protocols = (client.get("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  const upstream = new WebSocket(`wss://${host}:${target.port}${target.path}`, {
    headers,
    protocols,
    tls: target.tls,
  } as Bun.WebSocketOptions);
  upstream.binaryType = "arraybuffer";
  const relay: Relay = { upstream, pending: [] };
  await new Promise<void>((resolve, reject) => {
    upstream.onopen = () => resolve();
    upstream.onerror = () => reject(new Error(`the WebSocket to ${host}:${target.port} failed`));
    upstream.onclose = (e) =>
      reject(new Error(`the WebSocket to ${host}:${target.port} closed (${e.code}) before it opened`));
  });
  upstream.onerror = null;
  upstream.onmessage = (e: MessageEvent<string | ArrayBuffer>) => {
    if (relay.client) relay.client.send(e.data);
    else relay.pending.push(e.data);
  };
  upstream.onclose = (e) => {
    if (relay.client) relay.client.close(sendable(e.code), e.reason);
    else relay.closed = { code: e.code, reason: e.reason };
  };
  return relay;
}

export const relayHandlers: WebSocketHandler<Relay> = {
  // a slow client: Bun closes it (1006) instead of dropping what it could not send
  backpressureLimit: BACKLOG,
  closeOnBackpressureLimit: true,
  open(ws) {
    const relay = ws.data;
    relay.client = ws;
    for (const m of relay.pending.splice(0)) ws.send(m);
    if (relay.closed) ws.close(sendable(relay.closed.code), relay.closed.reason);
  },
  message(ws, message) {
    const { upstream } = ws.data;
    // closing the client closes the target too (`close` below)
    if (upstream.bufferedAmount > BACKLOG) ws.close(TRY_AGAIN_LATER, "the target is not taking messages");
    else upstream.send(message);
  },
  close(ws, code, reason) {
    ws.data.upstream.close(sendable(code), reason);
  },
};

/**
 * A close code an endpoint may send (RFC 6455 §7.4): 1005/1006/1015 only report what happened
 * and become a normal close.
 */
function sendable(code: number): number {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
    ? code
    : 1000;
}
