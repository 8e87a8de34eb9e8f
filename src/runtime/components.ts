import type { ComponentFactory } from "./component.ts";

/**
 * Every component `ledge run` knows, loaded lazily with `import()` so that a component that is
 * off costs no memory. Names are the CLI's: `ledge run <name>`.
 */
export const COMPONENTS = {
  broker: async () => (await import("../bus/broker-component.ts")).createBrokerComponent,
  api: async () => (await import("../api/api-component.ts")).createApiComponent,
  agent: async () => (await import("../agent/agent-component.ts")).createAgentComponent,
  modbus: async () => (await import("../drivers/modbus/component.ts")).createModbusComponent,
  serial: async () => (await import("../drivers/serial/component.ts")).createSerialComponent,
  "c8y-mapper": async () => (await import("../mappers/c8y/component.ts")).createC8yMapperComponent,
  "az-mapper": async () => (await import("../mappers/az/component.ts")).createAzMapperComponent,
  "aws-mapper": async () => (await import("../mappers/aws/component.ts")).createAwsMapperComponent,
  "mqtt-mapper": async () => (await import("../mappers/mqtt/component.ts")).createMqttMapperComponent,
  bridge: async () => (await import("../bridge/bridge-component.ts")).createBridgeComponent,
} satisfies Record<string, () => Promise<ComponentFactory>>;

export type ComponentName = keyof typeof COMPONENTS;

export function isComponentName(name: string): name is ComponentName {
  return Object.hasOwn(COMPONENTS, name);
}
