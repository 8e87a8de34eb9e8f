import { readFile } from "node:fs/promises";
import type { ComponentFactory } from "../component/component.ts";
import type { Config } from "../config/store.ts";

/**
 * config_update checks a new modbus.toml or serial.toml as its driver would read it before
 * installing it; the parsers are loaded only when such a file arrives.
 */
export function deviceFileValidators(config: Config): Record<string, (file: string) => Promise<void>> {
  return {
    [config.path("modbus.config_file")]: async (f) => {
      const { parseModbusConfig } = await import("../drivers/modbus/config.ts");
      parseModbusConfig(await readFile(f, "utf8"), "modbus.toml");
    },
    [config.path("serial.config_file")]: async (f) => {
      const { parseSerialConfig } = await import("../drivers/serial/config.ts");
      parseSerialConfig("serial.toml", await readFile(f, "utf8"));
    },
  };
}

/**
 * Every component `ledge run` knows, loaded lazily with `import()` so that a component that is
 * off costs no memory. Names are the CLI's: `ledge run <name>`.
 */
export const COMPONENTS = {
  api: async () => (await import("../api/api-component.ts")).createApiComponent,
  agent: async () => {
    const { createAgentComponent } = await import("../agent/agent-component.ts");
    return (ctx) => createAgentComponent(ctx, { validators: deviceFileValidators(ctx.config) });
  },
  modbus: async () => (await import("../drivers/modbus/component.ts")).createModbusComponent,
  serial: async () => (await import("../drivers/serial/component.ts")).createSerialComponent,
  "c8y-mapper": async () => (await import("../mappers/c8y/component.ts")).createC8yMapperComponent,
  "az-mapper": async () => (await import("../mappers/az/component.ts")).createAzMapperComponent,
  "aws-mapper": async () => (await import("../mappers/aws/component.ts")).createAwsMapperComponent,
  "mqtt-mapper": async () => (await import("../mappers/mqtt/component.ts")).createMqttMapperComponent,
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
