/**
 * The te/ command payloads by operation (thin-edge's `tedge_api/src/commands.rs`, camelCase on
 * the wire). The c8y mapper builds them and the agent reads them: both check against this map.
 */
import type { CommandStatus } from "./payloads.ts";

export interface SoftwareModule {
  name: string;
  version?: string;
  url?: string;
  action: "install" | "remove";
}

export interface CommandPayloads {
  restart: Record<string, never>;
  software_list: Record<string, never>;
  software_update: { updateList: { type: string; modules: SoftwareModule[] }[] };
  config_snapshot: { type: string; tedgeUrl: string };
  /** `remoteUrl` is what the agent downloads (the local proxy for tenant URLs); `serverUrl` the original. */
  config_update: { type: string; tedgeUrl?: string; remoteUrl: string; serverUrl?: string };
  log_upload: {
    type: string;
    tedgeUrl: string;
    dateFrom?: string;
    dateTo?: string;
    searchText?: string;
    lines?: number;
  };
  /**
   * thin-edge's `FirmwareUpdateCmdPayload`: `remoteUrl` is the operation's URL, `tedgeUrl` where
   * to fetch it locally (the Cumulocity proxy) when set. No checksum field exists in thin-edge;
   * ledge reads an optional `sha256` and verifies it when present.
   */
  firmware_update: { name: string; version: string; remoteUrl: string; tedgeUrl?: string; sha256?: string };
  /** thin-edge's device profile: the steps, run in order by the agent's `device_profile` workflow. */
  device_profile: {
    name: string;
    version?: string;
    operations: { operation: string; "@skip": boolean; payload: Record<string, unknown> }[];
  };
}

export type Operation = keyof CommandPayloads;

/** A command's state message: its operation's payload plus the status fields every command has. */
export type CommandMessage<Op extends Operation> = CommandPayloads[Op] & {
  status: CommandStatus;
  reason?: string;
  logPath?: string;
};

/** A command request as a builder returns it: the operation and its typed payload. */
export type CommandRequest = { [Op in Operation]: { op: Op; payload: CommandPayloads[Op] } }[Operation];

/** A string field of `op`'s payload, named as the payload map names it; undefined when absent or empty. */
export function commandField<Op extends Operation>(
  payload: Record<string, unknown>,
  _op: Op,
  key: keyof CommandPayloads[Op] & string,
): string | undefined {
  const v = payload[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}
