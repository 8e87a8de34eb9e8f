import type { Bus } from "../../../bus/bus.ts";

/**
 * A JSON Web Token for the device from Cumulocity over MQTT: an empty message on `c8y/s/uat`,
 * answered by `71,<token>` on `c8y/s/dat` (certificate-authenticated devices, thin-edge's way).
 */
export async function requestJwt(bus: Bus, timeoutMs = 10_000): Promise<string> {
  let resolve!: (t: string) => void;
  const token = new Promise<string>((r) => {
    resolve = r;
  });
  const sub = await bus.subscribe("c8y/s/dat", (msg) => {
    const text = msg.payload.toString("utf8").trim();
    if (text.startsWith("71,")) resolve(text.slice(3));
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await bus.publish("c8y/s/uat", "", { qos: 0 });
    return await Promise.race([
      token,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no JWT from Cumulocity (c8y/s/dat) in time")), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await sub.unsubscribe();
  }
}
