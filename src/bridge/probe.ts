import { MqttClient } from "../bus/client/client.ts";
import { classify, type Failure } from "./diagnose.ts";
import { cloudClientOptions, type LinkSettings } from "./settings.ts";

export type ProbeResult = { ok: true; ms: number; verified: string[] } | { ok: false; failure: Failure };

/** What a successful probe proved, in order, for `connect --test` to name. */
export function verifiedSteps(s: LinkSettings): string[] {
  const steps = [`TCP to ${s.endpoint.host}:${s.endpoint.port}`];
  if (s.endpoint.tls)
    steps.push(`TLS (server certificate trusted${s.cert ? ", device certificate accepted" : ""})`);
  steps.push(`MQTT CONNACK accepted${s.username ? ` for user ${s.username}` : ""}`);
  if (!s.endpoint.tls) steps.push("no TLS: plain mqtt:// URL, nothing is encrypted");
  return steps;
}

/**
 * One MQTT connection attempt with the link's settings (`ledge connect --test`). It keeps the
 * cloud's persistent session (clean false) and never acknowledges what the cloud may deliver, so
 * operations queued for the device are redelivered to the bridge, not swallowed by the probe.
 */
export async function probe(s: LinkSettings, timeoutMs = 10_000): Promise<ProbeResult> {
  const started = Date.now();
  let handshakeDone = false;
  const client = new MqttClient(
    { ...cloudClientOptions(s), connectTimeoutMs: timeoutMs },
    {
      onOpen: () => {
        handshakeDone = true;
      },
      onMessage: () => "later",
    },
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), timeoutMs);
  });
  try {
    // without reconnect, start rejects with the first failure itself (socket, TLS or CONNACK)
    await Promise.race([client.start(timeoutMs * 2), timedOut]);
    return { ok: true, ms: Date.now() - started, verified: verifiedSteps(s) };
  } catch (e) {
    return { ok: false, failure: classify(e, s.where, handshakeDone, s.endpoint.tls) };
  } finally {
    clearTimeout(timer);
    await client.end(500);
  }
}
