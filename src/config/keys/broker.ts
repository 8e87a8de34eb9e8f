import { int, str } from "../define.ts";

/**
 * The embedded broker: limits, persistence, metrics and the LAN listener for child devices.
 * The LAN listener's keys use thin-edge's `mqtt.external.*` names.
 */
export const brokerKeys = {
  "broker.max_packet_size": int(
    "Largest MQTT packet a client may send (bytes); a bigger one closes its connection (v5: reason 0x95) " +
      "before its body is read.",
    1 << 20,
    64,
    268435455,
  ),
  "broker.max_connections": int(
    "Most client connections; more are refused (Server busy).",
    1024,
    1,
    1_000_000,
  ),
  "broker.max_inflight": int(
    "Most unacknowledged QoS 1/2 messages sent to one client (a v5 client's receive maximum may lower it).",
    100,
    1,
    65535,
  ),
  "broker.max_queued": int(
    "Most messages waiting for one client. Past it, QoS 0 messages to that client are dropped and " +
      "counted; a connected client that would pass it with QoS 1/2 is disconnected (Quota exceeded).",
    100_000,
    1,
    10_000_000,
  ),
  "broker.max_queued_bytes": int("Most bytes waiting for one client, same policy.", 64 << 20, 1024, 2 ** 40),
  "broker.max_client_id_length": int(
    "Longest client id accepted (characters); an empty id needs a clean session (3.1.1).",
    256,
    23,
    65535,
  ),
  "broker.max_topic_levels": int(
    "Most levels in a topic or filter; a deeper publish is acknowledged and dropped (v5: reason 0x90).",
    100,
    1,
    65535,
  ),
  "broker.max_retained": int(
    "Most retained topics kept; new ones past it are dropped and counted.",
    100000,
    1,
    10_000_000,
  ),
  "broker.topic_alias_maximum": int(
    "Topic aliases a v5 client may use towards the broker (0: none).",
    64,
    0,
    65535,
  ),
  "broker.persistence": str(
    "Where retained messages and persistent sessions live: `disk` (data.path/broker, survive a restart and " +
      "kill -9) or `memory`.",
    "disk",
    { choices: ["disk", "memory"] },
  ),
  "broker.fsync": str(
    "When broker state reaches the disk: `always` (each change, survives power loss), `interval` (written to " +
      "the OS at once, so kill -9 loses nothing; flushed every broker.fsync_interval_ms), `never` (the OS decides).",
    "interval",
    { choices: ["always", "interval", "never"] },
  ),
  "broker.fsync_interval_ms": int("Flush period for broker.fsync = interval.", 100, 1, 60_000),
  "broker.metrics_interval_s": int(
    "Seconds between the broker's measurements on its ledge-broker service (0: none).",
    60,
    0,
    86400,
  ),
  "mqtt.external.bind.address": str("Address of the LAN listener for child devices.", "0.0.0.0"),
  "mqtt.external.bind.port": int(
    "Port of the LAN listener for child devices (0: no LAN listener).",
    0,
    0,
    65535,
  ),
  "mqtt.external.cert_file": str("Server certificate (PEM) of the LAN listener; empty: plain TCP.", ""),
  "mqtt.external.key_file": str("Private key (PEM) of mqtt.external.cert_file.", ""),
  "mqtt.external.ca_path": str(
    "CA certificates (PEM file) that child devices' client certificates must chain to; empty: no client certificates.",
    "",
  ),
  "mqtt.external.password_file": str(
    "Users of the LAN listener in mosquitto's password file format (`mosquitto_passwd` writes it: salted " +
      "PBKDF2-SHA512 `$7$` or SHA-512 `$6$` hashes); with mqtt.external.ca_path too, a client presents a " +
      "certificate or a password.",
    "",
  ),
  "mqtt.external.acl_file": str(
    "Per-user topic ACL of the LAN listener (mosquitto's acl_file format): `user <name>` then " +
      "`topic read|write|readwrite <filter>` lines; `pattern <access> <filter>` for every user, `%u` being " +
      "the user name (a certificate's CN). Empty: every authenticated client may use every topic.",
    "",
  ),
} as const;
