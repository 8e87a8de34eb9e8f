import { isBun, type Net } from "./net.ts";

/**
 * The implementation that works best on the current runtime: Bun's sockets under Bun, node:net
 * under Node (the armv7 binary). Its own module, so the implementations can import the shared
 * types and helpers of net.ts without an import cycle.
 */
export async function selectNet(): Promise<Net> {
  if (isBun()) return (await import("./net-bun.ts")).bunNet;
  return (await import("./net-node.ts")).nodeNet;
}
