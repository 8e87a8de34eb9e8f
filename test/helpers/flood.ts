import { encode } from "../../src/bus/mqtt/index.ts";

/**
 * `n` retained QoS 1 child-device registrations `te/device/<prefix><i>//` as raw MQTT 3.1.1 bytes
 * after a CONNECT, for one socket write: the flood reaches the broker at once and costs the
 * process that sends it nothing while it is handled (tests and benches time others meanwhile).
 */
export function registrationFlood(n: number, prefix: string, clientId: string): Buffer {
  const packets = [encode({ type: "connect", protocolVersion: 4, clientId, clean: true, keepalive: 60 }, 4)];
  for (let i = 0; i < n; i++) {
    const reg = { "@type": "child-device", name: `${prefix}${i}`, type: "flood" };
    packets.push(
      encode(
        {
          type: "publish",
          topic: `te/device/${prefix}${i}//`,
          payload: Buffer.from(JSON.stringify(reg)),
          qos: 1,
          retain: true,
          dup: false,
          packetId: (i % 65535) + 1,
        },
        4,
      ),
    );
  }
  return Buffer.concat(packets);
}
