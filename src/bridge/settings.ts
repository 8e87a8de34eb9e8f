import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { mqttPrefix as profilePrefix } from "../api/clouds/mqtt.ts";
import type { ClientOptions } from "../bus/client/options.ts";
import { type ConfigKey, isConfigKey } from "../config/schema.ts";
import type { Config } from "../config/store.ts";
import { type CloudName, type CloudRoutes, type Endpoint, parseEndpoint, routesFor } from "./routes.ts";

/** Everything a link needs to reach one cloud, resolved from the configuration. */
export interface LinkSettings {
  cloud: CloudName;
  endpoint: Endpoint;
  /** For messages: `c8y (example.cumulocity.com:8883)`. */
  where: string;
  clientId: string;
  username?: string;
  password?: string;
  /** PEM text of the device certificate and key (mutual TLS). */
  cert?: string;
  key?: string;
  /** Trusted roots, PEM text per file; undefined: the runtime's built-in ones. */
  ca?: string[];
  routes: CloudRoutes;
}

/** Keys owned by the mappers' schema; read only when they exist so either side can land first. */
function optional(config: Config, ...keys: string[]): string {
  for (const k of keys) {
    if (!isConfigKey(k)) continue;
    const v = config.get(k as ConfigKey);
    if (typeof v === "string" && v) return v;
  }
  return "";
}

export const URL_KEY: Record<CloudName, string> = {
  c8y: "c8y.url",
  az: "az.url",
  aws: "aws.url",
  mqtt: "mqtt.cloud.url",
};

export function cloudUrl(config: Config, cloud: CloudName): string {
  return optional(config, URL_KEY[cloud]);
}

/** The plain MQTT cloud's topic root, from the cloud profile its mapper uses too. */
export function mqttPrefix(config: Config): string {
  return profilePrefix(optional(config, "mqtt.cloud.prefix"), config.get("device.id"));
}

export function enableKey(cloud: CloudName): ConfigKey {
  return `bridge.${cloud}.enable` as ConfigKey;
}

/** PEM file, or every .pem/.crt/.cer in a directory; "" means the built-in roots. */
export function loadCa(path: string): string[] | undefined {
  if (!path) return undefined;
  if (!existsSync(path)) throw new Error(`root certificates '${path}' (bridge.root_cert_path) do not exist`);
  if (!statSync(path).isDirectory()) return [readFileSync(path, "utf8")];
  const files = readdirSync(path).filter((f) => /\.(pem|crt|cer)$/i.test(f));
  if (!files.length) throw new Error(`no .pem/.crt files in ${path} (bridge.root_cert_path)`);
  return files.map((f) => readFileSync(join(path, f), "utf8"));
}

function readPem(config: Config, key: "device.cert_path" | "device.key_path"): string {
  const path = config.path(key);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const what = key === "device.cert_path" ? "certificate" : "private key";
    throw new Error(
      `cannot read the device ${what} ${path} (${key}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; create one with 'ledge cert create --device-id ID'`,
    );
  }
}

/** Resolves one cloud's link; throws a clear error for anything missing. */
export function linkSettings(config: Config, cloud: CloudName): LinkSettings {
  const url = cloudUrl(config, cloud);
  if (!url) throw new Error(`${URL_KEY[cloud]} is not set: 'ledge config set ${URL_KEY[cloud]} <host>'`);
  let endpoint: Endpoint;
  try {
    endpoint = parseEndpoint(url);
  } catch (e) {
    throw new Error(`${URL_KEY[cloud]}: ${(e as Error).message}`);
  }
  const deviceId = config.get("device.id");
  if (!deviceId && cloud !== "mqtt")
    throw new Error(
      "device.id is not set: 'ledge config set device.id <id>' (it must match the certificate CN)",
    );
  // It becomes part of cloud topics (devices/<id>/..., thinedge/<id>/...).
  if (deviceId && /[/+#\s]/.test(deviceId))
    throw new Error(`device.id '${deviceId}' must not contain '/', '+', '#' or spaces`);
  const where = `${cloud} (${endpoint.host}:${endpoint.port})`;
  const routes = routesFor(cloud, deviceId, mqttPrefix(config));
  const s: LinkSettings = { cloud, endpoint, where, clientId: deviceId, routes };
  if (cloud === "mqtt") {
    s.clientId = config.get("bridge.mqtt.client_id") || deviceId || `ledge-${process.pid}`;
    s.username = config.get("bridge.mqtt.username") || undefined;
    s.password = config.get("bridge.mqtt.password") || undefined;
  }
  if (cloud === "az") s.username = `${endpoint.host}/${deviceId}/?api-version=2021-04-12`;
  if (endpoint.tls) {
    s.ca = loadCa(config.get("bridge.root_cert_path") ? config.path("bridge.root_cert_path") : "");
    if (cloud !== "mqtt" || config.get("bridge.mqtt.use_cert")) {
      s.cert = readPem(config, "device.cert_path");
      s.key = readPem(config, "device.key_path");
    }
  } else if (cloud !== "mqtt") {
    throw new Error(
      `${URL_KEY[cloud]}: ${cloud} needs TLS (mqtts://); plain mqtt:// is for the plain MQTT cloud`,
    );
  }
  return s;
}

/**
 * The MQTT options every connection to a cloud shares (the bridge's and `connect --test`'s): the
 * device's identity, mutual TLS, and a persistent session, which keeps the cloud's subscriptions
 * and queued operations across outages. One connection per client: reconnecting is the caller's
 * business (the bridge's queue decides what is sent again).
 */
export function cloudClientOptions(s: LinkSettings): ClientOptions {
  return {
    host: s.endpoint.host,
    port: s.endpoint.port,
    protocolVersion: 4,
    clientId: s.clientId,
    username: s.username,
    password: s.password,
    clean: false,
    reconnect: false,
    tls: s.endpoint.tls
      ? {
          cert: s.cert,
          key: s.key,
          ca: s.ca,
          rejectUnauthorized: true,
          // SNI names a host, never an IP address (RFC 6066 §3)
          servername: /^[\d.:]+$/.test(s.endpoint.host) ? undefined : s.endpoint.host,
        }
      : undefined,
  };
}
