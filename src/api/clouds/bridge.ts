/**
 * What the bridge tells the mappers on te/: its own measurements, one group per cloud with
 * `connected` 1/0 (`te/device/main/service/ledge-bridge/m/bridge`). The c8y mapper takes a change
 * of `c8y.connected` to 1 as a (re)connect, as it takes the bridge's health.
 */
export const BRIDGE_SERVICE = "ledge-bridge";

export const bridgeMetricsTopic = (root: string) => `${root}/device/main/service/${BRIDGE_SERVICE}/m/bridge`;

/** `connected` of `cloud` in a metrics payload: true, false, or undefined when it does not say. */
export function cloudConnected(json: unknown, cloud: string): boolean | undefined {
  if (json === null || typeof json !== "object") return undefined;
  const group = (json as Record<string, unknown>)[cloud];
  if (group === null || typeof group !== "object") return undefined;
  const c = (group as Record<string, unknown>).connected;
  return c === 1 ? true : c === 0 ? false : undefined;
}
