import { bool, int, str } from "../define.ts";

/**
 * The bridge to the clouds: which links run, how they authenticate, and the store-and-forward
 * queue. Cloud endpoints come from `<cloud>.url` (the mappers' keys); the plain MQTT cloud from
 * `mqtt.cloud.url`.
 */
export const bridgeKeys = {
  "bridge.c8y.enable": bool("Run the bridge link to Cumulocity (`ledge connect c8y` sets it).", false),
  "bridge.az.enable": bool("Run the bridge link to Azure IoT Hub (`ledge connect az` sets it).", false),
  "bridge.aws.enable": bool("Run the bridge link to AWS IoT Core (`ledge connect aws` sets it).", false),
  "bridge.mqtt.enable": bool(
    "Run the bridge link to the plain MQTT cloud broker (`ledge connect mqtt`).",
    false,
  ),
  "bridge.root_cert_path": str(
    "CA certificates that the cloud's server certificate must chain to: a PEM file or a directory of " +
      "PEM files. Empty: the runtime's built-in Mozilla roots.",
    "",
  ),
  "bridge.mqtt.username": str("Username for the plain MQTT cloud broker (empty: none).", ""),
  "bridge.mqtt.password": str("Password for the plain MQTT cloud broker.", "", { secret: true }),
  "bridge.mqtt.client_id": str("Client id at the plain MQTT cloud broker (empty: device.id).", ""),
  "bridge.mqtt.use_cert": bool(
    "Present the device certificate (device.cert_path/key_path) to the plain MQTT cloud broker.",
    true,
  ),
  "bridge.queue.store": str(
    "Where the store-and-forward queue lives: `disk` (under data.path/bridge, survives restarts) or `memory`.",
    "disk",
    { choices: ["disk", "memory"] },
  ),
  "bridge.queue.max_bytes": int(
    "Bound of each cloud's queue in bytes (records plus 25 bytes of framing and the topic); when full, after " +
      "compaction, the oldest measurements are dropped and counted, and only then the oldest other records.",
    16 << 20,
    1024,
    2 ** 40,
  ),
  "bridge.queue.compact_interval_s": int(
    "Compact before dropping: when the queue reaches max_bytes, queued measurements (Cumulocity JSON, Thin " +
      "Edge JSON, CBOR batch frames) are folded per series into one min/max/mean/count summary per this many seconds; events, " +
      "alarms and other messages are kept. Only then are measurements dropped. 0: never compact.",
    60,
    0,
    86400,
  ),
  "bridge.queue.fsync": str(
    "When queued records reach the disk: `always` (each record, survives power loss), `interval` (written " +
      "to the OS at once, so a crash or kill -9 loses nothing; flushed every fsync_interval_ms), `never` " +
      "(the OS decides).",
    "interval",
    { choices: ["always", "interval", "never"] },
  ),
  "bridge.queue.fsync_interval_ms": int(
    "Flush period for fsync=interval; also how often delivery progress (the commit record) is saved.",
    100,
    1,
    60_000,
  ),
  "bridge.drain_rate": int(
    "Messages per second of the backlog (what was queued when the cloud connection was made) sent to each " +
      "cloud (0: no limit). Live messages are never held back: they go as fast as the cloud acknowledges.",
    200,
    0,
    1_000_000,
  ),
  "bridge.ack_timeout_s": int(
    "A message the cloud has not acknowledged (PUBACK) after this many seconds ends the connection; it is " +
      "sent again on the next one.",
    20,
    1,
    3600,
  ),
  "bridge.stall_s": int(
    "Seconds with messages waiting and none acknowledged before the link is reported stalled (metric " +
      "`stalled`, alarm `bridge_<cloud>_stalled`).",
    20,
    1,
    3600,
  ),
  "bridge.inflight": int("Most unacknowledged QoS 1 messages per cloud connection.", 100, 1, 65535),
  "bridge.backoff_min_ms": int("First reconnect delay (doubles per failed attempt, with jitter).", 1000, 10),
  "bridge.backoff_max_ms": int("Longest reconnect delay.", 60_000, 10),
  "bridge.keepalive_s": int("MQTT keepalive towards the cloud, seconds.", 60, 5, 65535),
  "bridge.metrics_interval_s": int(
    "Seconds between the bridge's own measurements on te/device/main/service/ledge-bridge/m/bridge (0: off).",
    10,
    0,
    86400,
  ),
} as const;
