/**
 * `ledge modbus`: commissioning Modbus devices. `scan` finds the units on a serial line (trying
 * baud rates and parities) or a TCP host, identifies them (function 43/14, SunSpec) and proposes a
 * validated modbus.toml; `check` validates modbus.toml. Reads only: nothing is written to a device.
 */
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { configOf, positiveNumber, UsageError } from "../context.ts";

interface ScanCliOptions {
  port?: string;
  host?: string;
  tcpPort?: string;
  baud: string;
  parity: string;
  dataBits: string;
  stopBits: string;
  units: string;
  timeoutMs: number;
  maxTime: number;
  output?: string;
}

const PARITIES = ["none", "even", "odd"] as const;

/** `1-247`, `3`, `1,2,5-7` → inclusive bounds (a scan walks one range). */
export function unitRange(text: string, tcp: boolean): { from: number; to: number } {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const [min, max] = tcp ? [0, 255] : [1, 247];
  const from = Number(m?.[1]);
  const to = Number(m?.[2] ?? m?.[1]);
  if (!m || from < min || to > max || from > to)
    throw new UsageError(`--units must be a unit id or a range such as 1-10, within ${min}..${max}`);
  return { from, to };
}

function list<T extends string | number>(
  text: string,
  name: string,
  parse: (s: string) => T | undefined,
): T[] {
  const out = text.split(",").map((s) => parse(s.trim()));
  if (out.length === 0 || out.some((v) => v === undefined))
    throw new UsageError(`bad ${name} list '${text}'`);
  return out as T[];
}

export function registerModbus(program: Command): void {
  const modbus = program
    .command("modbus")
    .description("Modbus devices: scan a line or host, check modbus.toml");

  modbus
    .command("check")
    .description("validate modbus.toml (modbus.config_file): every problem with file:line")
    .action(async (_o: unknown, cmd: Command) => {
      const config = configOf(cmd);
      const { loadModbusConfig } = await import("../../drivers/modbus/config.ts");
      try {
        const c = loadModbusConfig(config.path("modbus.config_file"));
        for (const d of c.devices)
          process.stdout.write(`${d.name}: unit ${d.unitId}, ${d.points.length} point(s)\n`);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    });

  modbus
    .command("scan")
    .description(
      "find the units on a serial line or TCP host, identify them (function 43/14, SunSpec) and print a proposed modbus.toml; reads only",
    )
    .option("--port <tty>", "serial line to scan, e.g. /dev/ttyUSB0")
    .option("--host <host>", "Modbus TCP host (or gateway) to scan")
    .option("--tcp-port <n>", "Modbus TCP port", "502")
    .option("--baud <list>", "baud rates to try (serial)", "9600,19200")
    .option("--parity <list>", "parities to try (serial): none, even, odd", "none,even")
    .option("--data-bits <n>", "data bits (serial)", "8")
    .option("--stop-bits <n>", "stop bits (serial)", "1")
    .option("--units <range>", "unit ids to try, e.g. 1-10", "1-10")
    .option(
      "--timeout-ms <ms>",
      "how long each request waits for an answer",
      positiveNumber("--timeout-ms"),
      200,
    )
    .option(
      "--max-time <s>",
      "the whole scan stops after this many seconds",
      positiveNumber("--max-time"),
      120,
    )
    .option("--output <file>", "also write the proposed modbus.toml there")
    .action(async (o: ScanCliOptions) => {
      if (Boolean(o.port) === Boolean(o.host)) throw new UsageError("give --port <tty> or --host <host>");
      const { BAUD_RATES } = await import("../../drivers/common/serial/transport.ts");
      const { scan, settingsOf } = await import("../../drivers/modbus/scan/scan.ts");
      const { proposeToml } = await import("../../drivers/modbus/scan/propose.ts");
      const { parseModbusConfig } = await import("../../drivers/modbus/config.ts");
      const int = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);
      const tcpPort = int(o.tcpPort ?? "502");
      if (tcpPort === undefined || tcpPort < 1 || tcpPort > 65535)
        throw new UsageError("--tcp-port must be 1..65535");
      const dataBits = int(o.dataBits);
      const stopBits = int(o.stopBits);
      if (dataBits !== 7 && dataBits !== 8) throw new UsageError("--data-bits must be 7 or 8");
      if (stopBits !== 1 && stopBits !== 2) throw new UsageError("--stop-bits must be 1 or 2");
      const target = o.host
        ? { kind: "tcp" as const, host: o.host, port: tcpPort }
        : {
            kind: "rtu" as const,
            path: o.port ?? "",
            bauds: list(o.baud, "baud rate", (s) => {
              const n = int(s);
              return n !== undefined && (BAUD_RATES as readonly number[]).includes(n) ? n : undefined;
            }),
            parities: list(o.parity, "parity", (s) => PARITIES.find((p) => p === s)),
            dataBits: dataBits as 7 | 8,
            stopBits: stopBits as 1 | 2,
          };
      const result = await scan({
        target,
        ...unitRange(o.units, Boolean(o.host)),
        timeoutMs: o.timeoutMs,
        maxTimeMs: o.maxTime * 1000,
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      for (const [s, n] of Object.entries(result.crcErrors))
        process.stderr.write(
          `${n} answer(s) with a bad CRC at ${s}: a unit may be set differently, or the line is noisy\n`,
        );
      if (result.incomplete) process.stderr.write(`scan incomplete: ${result.incomplete}\n`);
      process.stderr.write(
        `${result.found.length} unit(s) found (${result.tried} tried, ${result.requests} requests)${result.found.length ? `: ${result.found.map((u) => `${u.unitId} at ${settingsOf(u.transport)}`).join(", ")}` : ""}\n`,
      );
      if (result.found.length === 0) {
        process.exitCode = 1;
        return;
      }
      const toml = proposeToml(result);
      // the proposal must be a file the driver accepts as it is
      parseModbusConfig(toml, "proposed modbus.toml");
      process.stdout.write(toml);
      if (o.output) writeFileSync(o.output, toml);
    });
}
