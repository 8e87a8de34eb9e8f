/** AWS IoT Core's topic contract on the local bus (`aws/`): written by the aws mapper, moved by the bridge. */
import type { LocalRemote } from "./az.ts";

const TELEMETRY = "aws/td";

/** `aws/td/<entity with :>/<channel>/<type>`; the bridge maps `aws/td/#` to `thinedge/<id>/td/#`. */
export function awsTelemetryTopic(colonEntity: string, channel: string, type: string): string {
  return `${TELEMETRY}/${colonEntity}/${channel}/${type}`;
}

const shadow = (deviceId: string) => `$aws/things/${deviceId}/shadow`;

export function awsUplink(deviceId: string): LocalRemote[] {
  return [
    { local: `${TELEMETRY}/#`, remote: `thinedge/${deviceId}/td/#` },
    ...["update", "get", "delete"].map((op) => ({
      local: `aws/shadow/${op}`,
      remote: `${shadow(deviceId)}/${op}`,
    })),
  ];
}

export function awsDownlink(deviceId: string): LocalRemote[] {
  return [
    { local: "aws/cmd/#", remote: `thinedge/${deviceId}/cmd/#` },
    ...["update/accepted", "update/rejected", "update/delta", "get/accepted", "get/rejected"].map((t) => ({
      local: `aws/shadow/${t}`,
      remote: `${shadow(deviceId)}/${t}`,
    })),
  ];
}
