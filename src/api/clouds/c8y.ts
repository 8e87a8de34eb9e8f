/**
 * Cumulocity's topic contract on the local bus (thin-edge's `c8y/` bridge prefix): what the c8y
 * mapper writes and reads, and what the bridge moves. One place, imported by both.
 */
export const C8Y_PREFIX = "c8y";

/** SmartREST 2.0 static templates up (`s/us`, `s/us/<child xid>`) and down. */
export const SMARTREST_UP = "c8y/s/us";
export const SMARTREST_DOWN = "c8y/s/ds";
/** JWT over MQTT: an empty message on `s/uat` asks, `71,<token>` on `s/dat` answers. */
export const JWT_REQUEST = "c8y/s/uat";
export const JWT_RESPONSE = "c8y/s/dat";
/** JSON operations (the device control notification channel). */
export const OPERATIONS = "c8y/devicecontrol/notifications";
export const MEASUREMENT_CREATE = "c8y/measurement/measurements/create";
export const EVENT_CREATE = "c8y/event/events/create";
export const ALARM_CREATE = "c8y/alarm/alarms/create";
const INVENTORY_UPDATE = "c8y/inventory/managedObjects/update";

/** `c8y/s/us` for the main device, `c8y/s/us/<external id>` for any other entity. */
export function smartRestTopic(externalId: string, mainId: string): string {
  return externalId === mainId ? SMARTREST_UP : `${SMARTREST_UP}/${externalId}`;
}

export function inventoryUpdateTopic(externalId: string): string {
  return `${INVENTORY_UPDATE}/${externalId}`;
}

/**
 * The cloud → local topics (thin-edge's bridge list, under `c8y/`); every other `c8y/` topic goes
 * up to the tenant unchanged.
 */
export const C8Y_DOWNLINK: readonly string[] = [
  "s/ds",
  "s/dat",
  "s/dcr",
  "s/dt",
  "s/e",
  "t/ds",
  "t/e",
  "c/ds",
  "s/dc/#",
  "t/dc/#",
  "q/dc/#",
  "c/dc/#",
  "devicecontrol/notifications",
  "error",
];

/**
 * The health topic service of the built-in bridge, as thin-edge names it
 * (`te/device/main/service/tedge-mapper-bridge-c8y/status/health`); mosquitto's bridge reports
 * `1`/`0` on `mosquitto-c8y-bridge`. The mapper treats a change to up as a (re)connect.
 */
export const BRIDGE_SERVICES: readonly string[] = ["tedge-mapper-bridge-c8y", "mosquitto-c8y-bridge"];

/** Path prefix of the local Cumulocity proxy (`http://127.0.0.1:8001/c8y/<REST path>`). */
export const PROXY_PATH_PREFIX = "/c8y";
