/**
 * The Modbus device commands, `te/device/<name>///cmd/<op>/<id>`, through the command state machine:
 * `init` → `executing` → `successful` | `failed` (with the reason: a bad request, a Modbus
 * exception, a timeout). `modbus_write` writes a point or registers; `modbus_read` reads a range
 * once (commissioning). Each goes through the device's endpoint queue like a poll, so it never
 * collides with one on a shared line.
 */
import type { BusMessage, OutMessage } from "../../bus/bus.ts";
import type { Logger } from "../../foundation/logger.ts";
import type { DeviceConfig } from "./config.ts";
import { describeError } from "./device-poller.ts";
import { classify, type ModbusLink } from "./link.ts";
import type { PortQueue } from "./port-queue.ts";
import { resolveRead } from "./read.ts";
import { resolveWrite } from "./write.ts";

export interface CommandDeps {
  root: string;
  log: Logger;
  publish(m: OutMessage): Promise<void>;
  device(name: string): { cfg: DeviceConfig; link: ModbusLink; queue: PortQueue } | undefined;
}

/** A validated command: what it does on the link, and what `successful` reports. */
interface Job {
  run(link: ModbusLink, cfg: DeviceConfig): Promise<Record<string, unknown>>;
}

type Prepare = (
  cfg: DeviceConfig,
  cmd: Record<string, unknown>,
) => { ok: true; value: Job } | { ok: false; error: string };

const OPS: Record<string, Prepare> = {
  modbus_write: (cfg, cmd) => {
    const req = resolveWrite(cfg, cmd);
    if (!req.ok) return req;
    const w = req.value;
    return {
      ok: true,
      value: {
        async run(link) {
          await link.write(cfg.unitId, w.table, w.address, w.values, cfg.timeoutMs);
          return { result: { table: w.table, address: w.address, values: w.values } };
        },
      },
    };
  },
  modbus_read: (cfg, cmd) => {
    const req = resolveRead(cmd);
    if (!req.ok) return req;
    const r = req.value;
    return {
      ok: true,
      value: {
        run: async (link) => ({
          values: await link.read(cfg.unitId, r.table, r.address, r.count, cfg.timeoutMs),
        }),
      },
    };
  },
};

/** The topic filters of every device command. */
export const commandFilters = (root: string) =>
  Object.keys(OPS).map((op) => `${root}/device/+///cmd/${op}/+`);

export class DeviceCommands {
  /** Commands this process is executing, so their own `executing` echo is not taken as stale. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly deps: CommandDeps) {}

  onMessage(msg: BusMessage): void {
    if (msg.payload.length === 0) return; // the requester cleared a finished command
    const m = /^[^/]+\/device\/([^/]+)\/\/\/cmd\/([^/]+)\/([^/]+)$/.exec(msg.topic);
    const prepare = m && OPS[m[2]!];
    if (!m || !prepare) return;
    const [, name, op, id] = m as unknown as [string, string, string, string];
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
      // found retained at subscribe time: left executing by a process that stopped mid-command
      void this.reply(msg.topic, {
        ...cmd,
        status: "failed",
        reason: `interrupted: ledge restarted during the ${op === "modbus_read" ? "read" : "write"}`,
      });
      return;
    }
    if (cmd.status !== "init") return;
    const job = prepare(dev.cfg, cmd);
    if (!job.ok) {
      void this.reply(msg.topic, { ...cmd, status: "failed", reason: job.error });
      return;
    }
    this.inFlight.add(key);
    void this.reply(msg.topic, { ...cmd, status: "executing" });
    const r = dev.queue.enqueue(`${op}:${id}:${name}`, async () => {
      try {
        const result = await job.value.run(dev.link, dev.cfg);
        this.deps.log.info(`${name}: ${op} ${JSON.stringify(result)} (command ${id})`);
        await this.reply(msg.topic, { ...cmd, status: "successful", ...result });
      } catch (e) {
        await this.reply(msg.topic, { ...cmd, status: "failed", reason: describeError(classify(e)) });
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
            : "too many commands waiting for this port",
      });
    }
  }

  private reply(topic: string, body: Record<string, unknown>): Promise<void> {
    return this.deps.publish({ topic, payload: JSON.stringify(body), retain: true, qos: 1 });
  }
}
