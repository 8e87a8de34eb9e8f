/** Flow dirs for tests: `mappers/<mapper>/flows/<files>` under a temp config dir. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export function flowsTree(
  files: Record<string, string>,
  mapper = "local",
  root?: string,
): { configDir: string; flowsDir: string } {
  const configDir = root ?? mkdtempSync(join(tmpdir(), "ledge-flows-"));
  const flowsDir = join(configDir, "mappers", mapper, "flows");
  writeFlows(flowsDir, files);
  return { configDir, flowsDir };
}

export function writeFlows(flowsDir: string, files: Record<string, string>): void {
  for (const [rel, body] of Object.entries(files)) {
    const p = join(flowsDir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, body);
  }
}

/** thin-edge's docs, extend/flows.md, Example 1 (TEDGE-FACTS §10.7), as a user writes it. */
export const SENSOR_REMAP = {
  "sensor-remap/flow.toml": `input.mqtt.topics = ["sensors/factory/+"]\nsteps = [ { script = "main.js" } ]\n`,
  "sensor-remap/main.js": `export function onMessage(message, context) {
  const payload = JSON.parse(new TextDecoder().decode(message.payload));
  const temp = payload.temp;
  if (typeof temp !== "number") return [];
  return [{ topic: "te/device/main///m/environment", payload: JSON.stringify({ temperature: temp }) }];
}
`,
};

/** thin-edge's docs, extend/flows.md, Example 5 (TEDGE-FACTS §10.8): 30 s aggregation with params. */
export const TEMP_AGGREGATOR = {
  "temp-aggregator/flow.toml": `[input.mqtt]
topics = ["te/+/+/+/+/m/environment"]

[config]
output_topic = "\${params.output_topic}"

[[steps]]
script = "main.js"
interval = "30s"
`,
  "temp-aggregator/params.toml.template": `output_topic = "te/device/main///m/environment_agg"\n`,
  "temp-aggregator/main.js": `let samples = [];

export function onMessage(message, context) {
  const data = JSON.parse(new TextDecoder().decode(message.payload));
  if (typeof data.temperature === "number") samples.push(data.temperature);
  return [];
}

export function onInterval(time, context) {
  if (samples.length === 0) return [];
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  const avg = Math.round((samples.reduce((a, b) => a + b, 0) / samples.length) * 100) / 100;
  samples = [];
  return [{ topic: context.config.output_topic, payload: JSON.stringify({ temperature: { min, max, avg } }) }];
}
`,
};

/** thin-edge's docs, Example 2 (TEDGE-FACTS §10.8): a retained alarm at >= 70, cleared by an empty payload. */
export const HIGH_TEMP_ALERT = {
  "high-temp-alert/flow.toml": `input.mqtt.topics = ["te/+/+/+/+/m/environment"]\n\n[[steps]]\nscript = "alert.js"\n`,
  "high-temp-alert/alert.js": `export function onMessage(message) {
  const data = JSON.parse(new TextDecoder().decode(message.payload));
  const entity = message.topic.split("/").slice(0, 5).join("/");
  const topic = entity + "/a/temp_high";
  if (data.temperature >= 70)
    return { topic, payload: JSON.stringify({ severity: "major", text: "Temperature is " + data.temperature }), mqtt: { retain: true } };
  return { topic, payload: "", mqtt: { retain: true } };
}
`,
};

const MAX = 16184;
const header = (topics: string) => `version = "2.0.0"\n\ninput.mqtt.topics = ${topics}\n\n`;

/** thin-edge's c8y mapper's builtin flows (`c8y_mapper_ext/src/flows.rs`), as it writes them: default topic root, prefix and payload limit. */
export const C8Y_BUILTIN_FLOWS = {
  "units.toml": `${header('["te/+/+/+/+/m/+/meta"]')}steps = [
    { builtin = "update-context" }
]

[output.mqtt]
topic = "te/errors"

[errors.mqtt]
topic = "te/errors"
`,
  "measurements.toml": `${header('["te/+/+/+/+/m/+"]')}config = { topic_root = "te" }

steps = [
    { builtin = "add-timestamp", config = { property = "time", format = "unix", reformat = false } },
    { builtin = "cache-early-messages" },
    { builtin = "into-c8y-measurements" },
    { builtin = "limit-payload-size", config = { max_size = ${MAX} } },
]

[output.mqtt]
topic = "c8y/measurement/measurements/create"

[errors.mqtt]
topic = "te/errors"
`,
  "events.toml": `${header('["te/+/+/+/+/e/+"]')}config = { topic_root = "te", c8y_prefix = "c8y" }

steps = [
    { builtin = "add-timestamp", config = { property = "time", format = "rfc3339", reformat = false } },
    { builtin = "cache-early-messages" },
    { builtin = "into-c8y-events", config = { max_mqtt_payload_size = ${MAX} } },
]

[output.mqtt]

[errors.mqtt]
topic = "te/errors"
`,
  "alarms.toml": `${header('["te/+/+/+/+/a/+"]')}config = { topic_root = "te", c8y_prefix = "c8y" }

steps = [
    { builtin = "add-timestamp", config = { property = "time", format = "rfc3339", reformat = false } },
    { builtin = "cache-early-messages" },
    { builtin = "into-c8y-alarms", interval = "5s" },
    { builtin = "limit-payload-size", config = { max_size = ${MAX} } },
]

[output.mqtt]

[errors.mqtt]
topic = "te/errors"
`,
};

/** A safe local control rule: the pump on when the tank is above 90, unless the door is open. */
export const PUMP_RULE = `input.mqtt.topics = ["te/device/tank///m/level", "te/device/plc///m/state"]

[[steps]]
builtin = "rule"
[steps.config]
name = "pump"
when = { topic = "te/device/tank///m/level", series = "level", above = 90 }
command = { topic = "te/device/plc///cmd/modbus_write", payload = { point = "pump", value = 1 } }
interlocks = [{ topic = "te/device/plc///m/state", series = "door_open", equals = 1 }]
`;
