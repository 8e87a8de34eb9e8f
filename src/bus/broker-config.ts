import { join } from "node:path";
import type { Config } from "../config/store.ts";
import type { Logger } from "../foundation/logger.ts";
import type { FsyncPolicy } from "./broker/journal.ts";
import type { BrokerLimits } from "./broker/limits.ts";
import type { BrokerOptions } from "./broker.ts";

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

/** Everything `EmbeddedBroker` needs, from the config (LAN listener excluded: see lan.ts). */
export function brokerOptions(config: Config, log: Logger): BrokerOptions {
  return {
    host: config.get("mqtt.bind.address"),
    port: config.get("mqtt.bind.port"),
    log,
    limits: brokerLimits(config),
    ...(config.get("broker.persistence") === "disk" && {
      persistence: {
        dir: join(config.get("data.path"), "broker"),
        fsync: config.get("broker.fsync") as FsyncPolicy,
        fsyncIntervalMs: config.get("broker.fsync_interval_ms"),
      },
    }),
  };
}
