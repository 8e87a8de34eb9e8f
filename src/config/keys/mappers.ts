import { bool, int, list, str } from "../define.ts";

const noWildcards = (v: string) => (/[#+]/.test(v) ? "must not contain MQTT wildcards (+ or #)" : undefined);

/** Cloud endpoints (read by the bridge and `ledge connect`) and mapper options. */
export const mapperKeys = {
  "c8y.url": str("Cumulocity tenant host, e.g. `example.cumulocity.com` (MQTT over TLS on port 8883).", ""),
  "az.url": str("Azure IoT Hub host, e.g. `myhub.azure-devices.net`.", ""),
  "aws.url": str("AWS IoT endpoint host, e.g. `abc123-ats.iot.eu-west-1.amazonaws.com`.", ""),
  "mqtt.cloud.url": str("Plain MQTT cloud broker as `host[:port]` (EMQX, HiveMQ, mosquitto).", ""),
  "mqtt.cloud.prefix": str(
    "Topic prefix of te/ data forwarded by the plain MQTT mapper; empty means `ledge/<device.id>`.",
    "",
    { check: noWildcards },
  ),
  "mqtt.batch.enable": bool("Plain MQTT mapper: send measurements as CBOR frames instead of JSON.", false),
  "mqtt.batch.max_bytes": int("Largest CBOR frame in bytes.", 65536, 256, 16777216),
  "mqtt.batch.max_count": int("Readings per CBOR frame.", 1000, 1, 1000000),
  "mqtt.batch.max_age_ms": int(
    "Longest a reading waits in a frame before it is sent (ms).",
    10000,
    0,
    3600000,
  ),
  "c8y.announce_entities": bool(
    "Publish the registration of auto-registered entities on te/ (retained), as thin-edge's mapper does.",
    true,
  ),
  "c8y.remote_access.enable": bool(
    "Answer `c8y_RemoteAccessConnect` (SmartREST 530): tunnel Cumulocity's remote access to a local service (opt-in).",
    false,
  ),
  "c8y.remote_access.allow": list("Local services remote access may reach, as `host:port` (or `host:*`).", [
    "127.0.0.1:22",
    "localhost:22",
  ]),
  "c8y.remote_access.endpoint": str(
    "Base URL of Cumulocity's remote access WebSocket; empty: `wss://<c8y.url>`.",
    "",
  ),
} as const;
