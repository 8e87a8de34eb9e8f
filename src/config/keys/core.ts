import { isIP } from "../../foundation/ip.ts";
import { int, list, port, str } from "../define.ts";

/**
 * What `ledge run` can start, by name (`src/app/components.ts` loads them; a test keeps the two
 * equal). Here, at the bottom, so `config set run.components` refuses what `ledge run` would.
 */
export const RUN_NAMES = [
  "broker",
  "api",
  "agent",
  "modbus",
  "serial",
  "c8y-mapper",
  "az-mapper",
  "aws-mapper",
  "mqtt-mapper",
  "flows",
  "bridge",
] as const;

/** A device id becomes a te/ topic level and a cloud identity: no `/`, `+`, `#`, NUL (empty: not set yet). */
export function topicLevelError(v: string): string | undefined {
  if (/[/+#\0]/u.test(v)) return "must not contain '/', '+', '#' or NUL (it becomes a topic level)";
  if (v !== v.trim()) return "must not start or end with white space";
  return undefined;
}

const address = (v: string) => (isIP(v) ? undefined : "must be an IPv4 or IPv6 address");
const host = (v: string) =>
  isIP(v) ||
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
    v,
  )
    ? undefined
    : "must be an IP address or a host name";

export const coreKeys = {
  "device.id": str("Main device id; the cloud identity (certificate CN) and the root of child ids.", "", {
    check: topicLevelError,
  }),
  "device.type": str("Main device type reported to clouds.", "ledge"),
  "device.cert_path": str("Device certificate (PEM), used for mutual TLS to the cloud.", "device-cert.pem"),
  "device.key_path": str("Device private key (PEM).", "device-key.pem"),
  "device.csr_path": str(
    "Where `ledge cert create-csr` writes the certificate signing request.",
    "device.csr",
  ),
  "data.path": str(
    "Data directory: entity store, command state, queues, file transfer root.",
    "/var/lib/ledge",
  ),
  "log.level": str("Default log level.", "info", { choices: ["error", "warn", "info", "debug", "trace"] }),
  "log.levels": list(
    'Per-namespace levels, e.g. ["bus=debug", "c8y-mapper=trace"]: a component\'s name (as in `ledge run <name>`), `broker` or `bus`, covering its sub-namespaces.',
  ),
  "mqtt.broker": str(
    "Local bus: `embedded` runs ledge's own broker, `external` uses mqtt.client.*.",
    "embedded",
    {
      choices: ["embedded", "external"],
    },
  ),
  "mqtt.bind.address": str(
    "Address the embedded broker listens on (never all interfaces unless set).",
    "127.0.0.1",
    { check: address },
  ),
  "mqtt.bind.port": port("Port the embedded broker listens on.", 1883),
  "mqtt.client.host": str("Host of the local broker that components connect to.", "127.0.0.1", {
    check: host,
  }),
  "mqtt.client.port": port("Port of the local broker that components connect to.", 1883),
  "mqtt.client.username": str("Username for the local broker (external broker only).", ""),
  "mqtt.client.password": str("Password for the local broker (external broker only).", "", { secret: true }),
  "mqtt.topic_root": str("Root of the thin-edge API topics.", "te", {
    check: (v) => (/^[^/#+]+$/.test(v) ? undefined : "must be one topic level without wildcards"),
  }),
  "mqtt.max_payload_bytes": int(
    "Largest te/ payload accepted; larger ones are refused with a te/errors message.",
    262144,
    64,
    268435455,
  ),
  "run.components": {
    ...list("Components `ledge run` starts, in order. `broker` is added when mqtt.broker is `embedded`.", [
      "api",
      "agent",
    ]),
    check: (v: string[]) => {
      const bad = v.filter((n) => !(RUN_NAMES as readonly string[]).includes(n));
      return bad.length
        ? `unknown component ${bad.map((n) => `'${n}'`).join(", ")} (known: ${RUN_NAMES.join(", ")})`
        : undefined;
    },
  },
  "run.jit_rate": int(
    "Messages/s through the embedded broker from which the Bun binaries compile the message path (JIT); below it they interpret it and stay leaner. 0: compile from the start.",
    2000,
    0,
    10_000_000,
  ),
  "health.interval_s": int(
    "Seconds between refreshed health messages (0: only on change and on request).",
    0,
    0,
    86400,
  ),
  "http.bind.address": str("Address of the file transfer and entity store HTTP service.", "127.0.0.1", {
    check: address,
  }),
  "http.bind.port": port("Port of the file transfer and entity store HTTP service.", 8000),
} as const;
