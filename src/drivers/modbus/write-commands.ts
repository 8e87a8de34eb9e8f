/**
 * `te/device/<name>///cmd/modbus_write/<id>` through the command state machine:
 * `init` → `executing` → `successful` | `failed` (with the reason: a bad request, a Modbus exception,
 * a timeout). The write goes through the device's endpoint queue like a poll, so it never collides
 * with one on a shared line.
 */
import type { BusMessage, OutMessage } from "../../bus/bus.ts";
import type { Logger } from "../../foundation/logger.ts";
import type { DeviceConfig } from "./config.ts";
import { describeError } from "./device-poller.ts";
import { classify, type ModbusLink } from "./link.ts";
import type { PortQueue } from "./port-queue.ts";
import { resolveWrite } from "./write.ts";

export interface WriteDeps {
  root: string;
  log: Logger;
  publish(m: OutMessage): Promise<void>;
  device(name: string): { cfg: DeviceConfig; link: ModbusLink; queue: PortQueue } | undefined;
}

export class WriteCommands {
  /** Commands this process is executing, so their own `executing` echo is not taken as stale. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly deps: WriteDeps) {}

  onMessage(msg: BusMessage): void {
    if (msg.payload.length === 0) return; // the requester cleared a finished command
    const m = /^[^/]+\/device\/([^/]+)\/\/\/cmd\/modbus_write\/([^/]+)$/.exec(msg.topic);
    if (!m) return;
    const [, name, id] = m as unknown as [string, string, string];
    const dev = this.deps.device(name);
    if (!dev) return; // another driver's device
    let cmd: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(msg.payload.toString("utf8"));
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("not an object");
      cmd = parsed as Record<string, unknown>;
    } catch (e) {
      void this.reply(msg.topic, {
        status: "failed",
        reason: `payload is not a JSON object: ${(e as Error).message}`,
      });
      return;
    }
    const key = msg.topic;
    if (cmd.status === "executing" && msg.retain && !this.inFlight.has(key)) {
      // found retained at subscribe time: left executing by a process that stopped mid-write
      void this.reply(msg.topic, {
        ...cmd,
        status: "failed",
        reason: "interrupted: ledge restarted during the write",
      });
      return;
    }
    if (cmd.status !== "init") return;
    const req = resolveWrite(dev.cfg, cmd);
    if (!req.ok) {
      void this.reply(msg.topic, { ...cmd, status: "failed", reason: req.error });
      return;
    }
    const w = req.value;
    this.inFlight.add(key);
    void this.reply(msg.topic, { ...cmd, status: "executing" });
    const r = dev.queue.enqueue(`write:${id}:${name}`, async () => {
      try {
        await dev.link.write(dev.cfg.unitId, w.table, w.address, w.values, dev.cfg.timeoutMs);
        this.deps.log.info(
          `${name}: wrote ${w.table} ${w.address} = [${w.values.join(", ")}] (command ${id})`,
        );
        await this.reply(msg.topic, {
          ...cmd,
          status: "successful",
          result: { table: w.table, address: w.address, values: w.values },
        });
      } catch (e) {
        const err = classify(e);
        await this.reply(msg.topic, { ...cmd, status: "failed", reason: describeError(err) });
      } finally {
        this.inFlight.delete(key);
      }
    });
    if (r !== "queued") {
      this.inFlight.delete(key);
      void this.reply(msg.topic, {
        ...cmd,
        status: "failed",
        reason:
          r === "busy"
            ? "a command with this id is already running"
            : "too many writes waiting for this port",
      });
    }
  }

  private reply(topic: string, body: Record<string, unknown>): Promise<void> {
    return this.deps.publish({ topic, payload: JSON.stringify(body), retain: true, qos: 1 });
  }
}
