/**
 * `ledge serial`: helpers for setting up serial sensors: check serial.toml, list ports, and read a
 * sensor's lines through its parser to see what would be published (without running the driver).
 */
import { readdirSync, readlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { openSerial } from "../../drivers/common/serial/open.ts";
import type { SerialSettings } from "../../drivers/common/serial/transport.ts";
import type { SerialDeviceConfig } from "../../drivers/serial/config.ts";
import type { ParserConfig } from "../../drivers/serial/parsers/index.ts";
import { configOf, positiveNumber, UsageError } from "../context.ts";

// The driver's modules (transports, device files) load only when a subcommand runs.
async function devicesOf(cmd: Command): Promise<{ file: string; devices: SerialDeviceConfig[] }> {
  const config = configOf(cmd);
  const file = config.path("serial.config_file");
  const { DeviceFileError } = await import("../../drivers/common/toml-file.ts");
  const { loadSerialConfig } = await import("../../drivers/serial/component.ts");
  try {
    return { file, devices: loadSerialConfig(file) };
  } catch (e) {
    if (e instanceof DeviceFileError) throw new UsageError(e.message);
    throw e;
  }
}

/** Serial ports on this machine: stable by-id links first, then the tty devices drivers create. */
export function listPorts(dev = "/dev"): { path: string; target?: string }[] {
  const out: { path: string; target?: string }[] = [];
  const byId = join(dev, "serial", "by-id");
  try {
    for (const name of readdirSync(byId).sort()) {
      const path = join(byId, name);
      let target: string | undefined;
      try {
        target = resolve(byId, readlinkSync(path));
      } catch {}
      out.push({ path, target });
    }
  } catch {}
  try {
    for (const name of readdirSync(dev).sort())
      if (/^tty(USB|ACM|AMA|S|XRUSB|mxc|O)\d+$/.test(name)) out.push({ path: join(dev, name) });
  } catch {}
  return out;
}

interface ReadOptions {
  baud?: string;
  parser?: string;
  pattern?: string;
  count?: number;
  timeout?: number;
}

export function registerSerial(program: Command): void {
  const serial = program
    .command("serial")
    .description("serial sensors: check serial.toml, list ports, read a sensor");

  serial
    .command("check")
    .description("validate serial.toml (serial.config_file) and list its devices")
    .action(async (_opts: unknown, cmd: Command) => {
      const { file, devices } = await devicesOf(cmd);
      if (devices.length === 0) {
        process.stdout.write(`${file}: no devices\n`);
        return;
      }
      for (const d of devices) {
        const s = d.serial;
        const frame = `${s.dataBits}${s.parity[0]?.toUpperCase()}${s.stopBits}`;
        process.stdout.write(
          `${d.name}\t${s.path}\t${s.baudRate} ${frame}\t${d.parser.kind}\tte/device/${d.name}///m/${d.measurement}\n`,
        );
      }
      process.stdout.write(`${file}: ${devices.length} device(s), valid\n`);
    });

  serial
    .command("ports")
    .description("list serial ports (/dev/serial/by-id links and tty devices)")
    .action(() => {
      const ports = listPorts();
      if (ports.length === 0) process.stdout.write("no serial ports found\n");
      for (const p of ports) process.stdout.write(p.target ? `${p.path} -> ${p.target}\n` : `${p.path}\n`);
    });

  serial
    .command("read")
    .description(
      "read lines from a device of serial.toml (by name) or a port, and print what each would publish; " +
        "stop the serial component first (the port is opened exclusively)",
    )
    .argument("<device-or-port>", "a device name from serial.toml, or a port path such as /dev/ttyUSB0")
    .option("--baud <n>", "baud rate (a port path only; default 9600)")
    .option("--parser <kind>", "parser for a port path: regex, kv, json or nmea")
    .option("--pattern <regex>", "the regex parser's pattern")
    .option("--count <n>", "stop after this many lines", positiveNumber("--count"))
    .option("--timeout <s>", "stop after this many seconds", positiveNumber("--timeout"))
    .action(async (target: string, opts: ReadOptions, cmd: Command) => {
      const [{ openSerial }, { serialSettings }, { PARSER_KINDS }, { buildDecoder }, { LineSplitter }] =
        await Promise.all([
          import("../../drivers/common/serial/open.ts"),
          import("../../drivers/common/serial/transport.ts"),
          import("../../drivers/serial/parsers/index.ts"),
          import("../../drivers/serial/decoder.ts"),
          import("../../drivers/serial/framing/lines.ts"),
        ]);
      let settings: SerialSettings;
      let parser: ParserConfig | undefined;
      if (target.startsWith("/")) {
        try {
          settings = serialSettings({ path: target, baudRate: Number(opts.baud ?? 9600) });
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        const kind = opts.parser;
        if (kind !== undefined && !(PARSER_KINDS as readonly string[]).includes(kind))
          throw new UsageError(`--parser must be one of ${PARSER_KINDS.join(", ")}`);
        if (kind === "regex" && !opts.pattern) throw new UsageError("--parser regex needs --pattern");
        if (kind === "regex") parser = { kind, pattern: opts.pattern ?? "" };
        else if (kind === "nmea") parser = { kind, requireChecksum: true };
        else if (kind === "frame")
          throw new UsageError("--parser frame needs a [device.frame] in serial.toml");
        else if (kind !== undefined) parser = { kind } as ParserConfig;
      } else {
        const { file, devices } = await devicesOf(cmd);
        const d = devices.find((x) => x.name === target);
        if (!d) throw new UsageError(`no device '${target}' in ${file}`);
        settings = d.serial;
        parser = d.parser;
      }
      let decoder: ReturnType<typeof buildDecoder> | undefined;
      try {
        decoder = parser ? buildDecoder(parser, 65536) : undefined;
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      let port: Awaited<ReturnType<typeof openSerial>>;
      try {
        port = await openSerial(settings);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const max = opts.count ?? Number.POSITIVE_INFINITY;
      let n = 0;
      await new Promise<void>((done) => {
        const timer = opts.timeout ? setTimeout(done, opts.timeout * 1000) : undefined;
        const stop = () => {
          clearTimeout(timer);
          done();
        };
        process.once("SIGINT", stop);
        port.once("close", (err) => {
          if (err) {
            process.stderr.write(`port lost: ${err.message}\n`);
            process.exitCode = 1;
          }
          stop();
        });
        const show = (raw: string, what: string) => {
          if (n >= max) return;
          n++;
          process.stdout.write(`${JSON.stringify(raw)}${what}\n`);
          if (n >= max) stop();
        };
        if (decoder) {
          const d = decoder;
          port.onData((chunk) =>
            d.push(chunk, Date.now(), (e) => {
              const r = e.result;
              if (!r.ok) show(e.raw, `\n  bad ${e.overflow ? "frame" : "line"}: ${r.error}`);
              else show(e.raw, `\n  → ${r.values ? JSON.stringify(r.values) : "(nothing to publish)"}`);
            }),
          );
        } else {
          const splitter = new LineSplitter(65536);
          port.onData((chunk) =>
            splitter.push(chunk, (e) => {
              if ("text" in e) show(e.text, "");
              else if ("overflow" in e) show("", ` ! ${e.overflow} bytes without a line end`);
            }),
          );
        }
      });
      await port.close();
    });
}
