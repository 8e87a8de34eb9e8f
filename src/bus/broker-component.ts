import type { Component, Context } from "../runtime/component.ts";

/**
 * The embedded broker as a component. The runtime starts the broker itself before any other
 * component (every other one needs the bus), so this only reports its health and address.
 */
export const createBrokerComponent = (ctx: Context): Component => ({
  name: "broker",
  async start() {
    if (!ctx.broker) throw new Error("the broker component needs mqtt.broker = embedded");
  },
  async stop() {},
});
