import type { ComponentFactory } from "./component.ts";

/**
 * Every component `ledge run` knows, loaded lazily with `import()` so that a component that is
 * off costs no memory. Names are the CLI's: `ledge run <name>`.
 */
export const COMPONENTS = {
  broker: async () => (await import("../bus/broker-component.ts")).createBrokerComponent,
  api: async () => (await import("../api/api-component.ts")).createApiComponent,
} satisfies Record<string, () => Promise<ComponentFactory>>;

export type ComponentName = keyof typeof COMPONENTS;

export function isComponentName(name: string): name is ComponentName {
  return Object.hasOwn(COMPONENTS, name);
}
