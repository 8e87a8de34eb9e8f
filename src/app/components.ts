import type { ComponentFactory } from "../component/component.ts";

/**
 * Every component `ledge run` knows, loaded lazily with `import()` so that a component that is
 * off costs no memory. Names are the CLI's: `ledge run <name>`.
 */
export const COMPONENTS = {
  api: async () => (await import("../api/api-component.ts")).createApiComponent,
  agent: async () => {
    const [{ createAgentComponent }, { driverFileHooks }] = await Promise.all([
      import("../agent/agent-component.ts"),
      import("../drivers/file-hooks.ts"),
    ]);
    // the drivers' files (modbus.toml, serial.toml, the flight recorder) served by the agent
    return (ctx) => createAgentComponent(ctx, driverFileHooks(ctx.config));
  },
  modbus: async () => (await import("../drivers/modbus/component.ts")).createModbusComponent,
  serial: async () => (await import("../drivers/serial/component.ts")).createSerialComponent,
  "c8y-mapper": async () => (await import("../mappers/c8y/component.ts")).createC8yMapperComponent,
  "az-mapper": async () => (await import("../mappers/az/component.ts")).createAzMapperComponent,
  "aws-mapper": async () => (await import("../mappers/aws/component.ts")).createAwsMapperComponent,
  "mqtt-mapper": async () => (await import("../mappers/mqtt/component.ts")).createMqttMapperComponent,
  flows: async () => (await import("../flows/flows-component.ts")).createFlowsComponent,
  bridge: async () => (await import("../bridge/bridge-component.ts")).createBridgeComponent,
} satisfies Record<string, () => Promise<ComponentFactory>>;

/**
 * What `ledge run` accepts: the components, and `broker`, which `run` itself starts before them
 * (every component needs the bus) and reports the health of.
 */
export type ComponentName = keyof typeof COMPONENTS;
export type RunName = "broker" | ComponentName;
export const RUN_NAMES: readonly RunName[] = ["broker", ...(Object.keys(COMPONENTS) as ComponentName[])];

export function isRunName(name: string): name is RunName {
  return name === "broker" || Object.hasOwn(COMPONENTS, name);
}
