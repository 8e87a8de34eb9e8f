import { bool, int, list, port, str } from "../define.ts";

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
  "c8y.http": str(
    "Cumulocity REST API host[:port] (uploads, downloads, the local proxy); empty: the host of c8y.url on port 443.",
    "",
  ),
  "c8y.auth_method": str(
    "How the HTTP side authenticates to Cumulocity: `certificate` (JWT over MQTT), `basic` (c8y.credentials_path), `auto` (basic when that file exists).",
    "certificate",
    { choices: ["certificate", "basic", "auto"] },
  ),
  "c8y.credentials_path": str(
    'Cumulocity basic-auth credentials: TOML `[c8y] username = "<tenant>/<user>"`, `password = "..."`; relative to the config dir.',
    "c8y-credentials.toml",
  ),
  "c8y.proxy.bind.address": str(
    "Address the local Cumulocity proxy listens on (plain HTTP, loopback).",
    "127.0.0.1",
  ),
  "c8y.proxy.bind.port": port("Port of the local Cumulocity proxy (`http://127.0.0.1:8001/c8y/...`).", 8001),
  "c8y.proxy.client.host": str(
    "Host local clients use to reach the Cumulocity proxy (in rewritten URLs).",
    "127.0.0.1",
  ),
  "c8y.proxy.client.port": port("Port local clients use to reach the Cumulocity proxy.", 8001),
  "c8y.smartrest.use_operation_id": bool(
    "Report operation status by Cumulocity operation id (504/505/506) where a command carries one; off: by name (501/502/503).",
    true,
  ),
  "c8y.availability.enable": bool(
    "Send the required availability interval (117) and heartbeats for the main and child devices.",
    true,
  ),
  "c8y.availability.interval": str(
    "Required availability interval: seconds, or a number with s, m or h (thin-edge's default 60m); below 1 minute: maintenance mode.",
    "60m",
    {
      check: (v) => (/^\s*\d+\s*(s|m|min|h)?\s*$/.test(v) ? undefined : "must be like 3600, 90s, 60m or 1h"),
    },
  ),
  "az.mapper.timestamp_format": str(
    "How the Azure mapper writes `time`: `unix` (seconds, thin-edge's default) or `rfc3339`.",
    "unix",
    { choices: ["unix", "rfc3339"] },
  ),
  "aws.mapper.timestamp_format": str(
    "How the AWS mapper writes `time`: `unix` (seconds, thin-edge's default) or `rfc3339`.",
    "unix",
    { choices: ["unix", "rfc3339"] },
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
    "Base URL of Cumulocity's remote access WebSocket; empty: `wss://` and the tenant of c8y.http, else c8y.url.",
    "",
  ),
} as const;
