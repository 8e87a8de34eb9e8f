import mqtt from "mqtt";
import { classify, type Failure } from "./diagnose.ts";
import { cloudClientOptions, type LinkSettings } from "./settings.ts";

export type ProbeResult = { ok: true; ms: number } | { ok: false; failure: Failure };

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
      () => finish({ ok: false, failure: classify(new Error("timed out"), s.where, handshakeDone) }),
      timeoutMs,
    );
    client.on("connect", () => finish({ ok: true, ms: Date.now() - started }));
    client.on("error", (e) => finish({ ok: false, failure: classify(e, s.where, handshakeDone) }));
    client.on("close", () =>
      finish({
        ok: false,
        failure: classify(
          Object.assign(new Error("socket closed"), { code: "ECONNRESET" }),
          s.where,
          handshakeDone,
        ),
      }),
    );
  });
}
