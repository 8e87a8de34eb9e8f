import type { KeyDef } from "./define.ts";
import { agentKeys } from "./keys/agent.ts";
import { bridgeKeys } from "./keys/bridge.ts";
import { brokerKeys } from "./keys/broker.ts";
import { coreKeys } from "./keys/core.ts";
import { flowsKeys } from "./keys/flows.ts";
import { mapperKeys } from "./keys/mappers.ts";
import { modbusKeys } from "./keys/modbus.ts";
import { serialKeys } from "./keys/serial.ts";

/** Every config key ledge knows, with its type, default and documentation. */
export const schema = {
  ...coreKeys,
  ...brokerKeys,
  ...agentKeys,
  ...serialKeys,
  ...bridgeKeys,
  ...mapperKeys,
  ...modbusKeys,
  ...flowsKeys,
} as const;

export type ConfigKey = keyof typeof schema;
export type ConfigValue<K extends ConfigKey> = (typeof schema)[K] extends KeyDef<infer T> ? T : never;
export type ConfigValues = { [K in ConfigKey]: ConfigValue<K> };

export function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(schema, key);
}

export function keyDef(key: ConfigKey): KeyDef<unknown> {
  return schema[key] as KeyDef<unknown>;
}
