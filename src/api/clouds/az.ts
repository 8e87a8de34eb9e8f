/** Azure IoT Hub's topic contract on the local bus (`az/`): written by the az mapper, moved by the bridge. */
/** Device-to-cloud messages; the bridge maps them to `devices/<id>/messages/events/`. */
export const AZ_EVENTS = "az/messages/events/";

export interface LocalRemote {
  local: string;
  remote: string;
}

export function azUplink(deviceId: string): LocalRemote[] {
  return [
    { local: `${AZ_EVENTS}#`, remote: `devices/${deviceId}/messages/events/#` },
    { local: "az/twin/GET/#", remote: "$iothub/twin/GET/#" },
    { local: "az/twin/PATCH/properties/reported/#", remote: "$iothub/twin/PATCH/properties/reported/#" },
    { local: "az/methods/res/#", remote: "$iothub/methods/res/#" },
  ];
}

export function azDownlink(deviceId: string): LocalRemote[] {
  return [
    { local: "az/messages/devicebound/#", remote: `devices/${deviceId}/messages/devicebound/#` },
    { local: "az/twin/res/#", remote: "$iothub/twin/res/#" },
    { local: "az/twin/PATCH/properties/desired/#", remote: "$iothub/twin/PATCH/properties/desired/#" },
    { local: "az/methods/POST/#", remote: "$iothub/methods/POST/#" },
  ];
}
