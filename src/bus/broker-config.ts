import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/store.ts";
import type { Logger } from "../foundation/logger.ts";
import type { FsyncPolicy } from "./broker/journal.ts";
import { lanPolicy, parseAcl, parsePasswords } from "./broker/lan-auth.ts";
import type { BrokerLimits } from "./broker/limits.ts";
import type { BrokerOptions, ListenerOptions } from "./broker.ts";

/** The broker's limits from `broker.*`. */
export function brokerLimits(config: Config): BrokerLimits {
  return {
    maxPacketSize: config.get("broker.max_packet_size"),
    maxConnections: config.get("broker.max_connections"),
    maxInflight: config.get("broker.max_inflight"),
    maxQueued: config.get("broker.max_queued"),
    maxQueuedBytes: config.get("broker.max_queued_bytes"),
    maxClientIdLength: config.get("broker.max_client_id_length"),
    maxTopicLevels: config.get("broker.max_topic_levels"),
    topicAliasMaximum: config.get("broker.topic_alias_maximum"),
    maxRetained: config.get("broker.max_retained"),
    maxSessionExpiry: 0xffffffff,
  };
}

/**
 * The LAN listener for child devices (`mqtt.external.*`), off while its port is 0: TLS with the
 * server certificate when one is set, client certificates checked against the CA, a password
 * file, an ACL.
 */
export function lanListener(config: Config): ListenerOptions | undefined {
  const port = config.get("mqtt.external.bind.port");
  if (port === 0) return undefined;
  const read = (key: Parameters<Config["get"]>[0]) => {
    const path = config.get(key) as string;
    try {
      return path ? readFileSync(path, "utf8") : undefined;
    } catch (e) {
      throw new Error(`${key}: cannot read ${path}: ${(e as Error).message}`);
    }
  };
  const cert = read("mqtt.external.cert_file");
  const key = read("mqtt.external.key_file");
  const ca = read("mqtt.external.ca_path");
  const pw = read("mqtt.external.password_file");
  const acl = read("mqtt.external.acl_file");
  if (ca && !cert)
    throw new Error("mqtt.external.ca_path needs mqtt.external.cert_file (client certificates need TLS)");
  if (cert && !key) throw new Error("mqtt.external.cert_file needs mqtt.external.key_file");
  return {
    host: config.get("mqtt.external.bind.address"),
    port,
    ...(cert &&
      key && {
        tls: { cert, key, ...(ca && { ca, requestCert: true, requireCert: pw === undefined }) },
      }),
    policy: lanPolicy({
      certificates: ca !== undefined,
      ...(pw !== undefined && { passwords: parsePasswords(pw) }),
      ...(acl !== undefined && { acl: parseAcl(acl) }),
    }),
  };
}

/** Everything `EmbeddedBroker` needs, from the config. */
export function brokerOptions(config: Config, log: Logger): BrokerOptions {
  return {
    host: config.get("mqtt.bind.address"),
    port: config.get("mqtt.bind.port"),
    log,
    limits: brokerLimits(config),
    extra: [lanListener(config)].filter((l) => l !== undefined),
    ...(config.get("broker.persistence") === "disk" && {
      persistence: {
        dir: join(config.get("data.path"), "broker"),
        fsync: config.get("broker.fsync") as FsyncPolicy,
        fsyncIntervalMs: config.get("broker.fsync_interval_ms"),
      },
    }),
  };
}
