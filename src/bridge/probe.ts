import mqtt from "mqtt";
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
export function probe(s: LinkSettings, timeoutMs = 10_000): Promise<ProbeResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let handshakeDone = false;
    let done = false;
    const client = mqtt.connect({ ...cloudClientOptions(s), connectTimeout: timeoutMs });
    client.handleMessage = () => {};
    client.stream?.on?.("secureConnect", () => {
      handshakeDone = true;
    });
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.end(!r.ok);
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          failure: classify(new Error("timed out"), s.where, handshakeDone, s.endpoint.tls),
        }),
      timeoutMs,
    );
    client.on("connect", () => finish({ ok: true, ms: Date.now() - started, verified: verifiedSteps(s) }));
    client.on("error", (e) =>
      finish({ ok: false, failure: classify(e, s.where, handshakeDone, s.endpoint.tls) }),
    );
    client.on("close", () =>
      finish({
        ok: false,
        failure: classify(
          Object.assign(new Error("socket closed"), { code: "ECONNRESET" }),
          s.where,
          handshakeDone,
          s.endpoint.tls,
        ),
      }),
    );
  });
}
