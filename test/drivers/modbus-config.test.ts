/** The Modbus device description: valid files parse to the expected devices; invalid ones name file, line and reason. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { DeviceFileError } from "../../src/drivers/common/toml-file.ts";
import { parseModbusConfig } from "../../src/drivers/modbus/config.ts";

const TCP = `[[device]]
name = "meter"
transport = "tcp"
host = "127.0.0.1"
`;

function errorsOf(text: string): { line: number; reason: string }[] {
  try {
    parseModbusConfig(text, "/etc/ledge/modbus.toml");
  } catch (e) {
    assert.ok(e instanceof DeviceFileError, String(e));
    assert.match(e.message, /^\/etc\/ledge\/modbus\.toml:\d+: /);
    return e.errors;
  }
  assert.fail("expected the file to be rejected");
}

describe("modbus.toml", () => {
  test("a minimal TCP device gets the documented defaults", () => {
    const c = parseModbusConfig(`${TCP}[[device.point]]\nname = "v"\ntable = "holding"\naddress = 3\n`);
    const [d] = c.devices;
    assert.deepEqual(d, {
      name: "meter",
      type: "modbus-device",
      unitId: 1,
      transport: { kind: "tcp", host: "127.0.0.1", port: 502 },
      pollIntervalMs: 10000,
      timeoutMs: 1000,
      retries: 1,
      maxGap: 8,
      maxRegisters: 125,
      maxBits: 2000,
      downAfter: 1,
      backoffMaxMs: 60000,
      writes: true,
      points: [
        {
          name: "v",
          table: "holding",
          address: 3,
          width: 1,
          encoding: { type: "uint16", byteOrder: "big", wordOrder: "big", scale: 1, offset: 0 },
          dest: { kind: "measurement", type: "modbus", series: "v" },
        },
      ],
    });
  });

  test("[defaults] apply to every device unless the device overrides them", () => {
    const c = parseModbusConfig(`[defaults]
poll_interval_s = 2.5
timeout_ms = 200
retries = 3

${TCP}timeout_ms = 500
[[device.point]]
name = "v"
table = "coil"
address = 1
`);
    assert.equal(c.devices[0]!.pollIntervalMs, 2500);
    assert.equal(c.devices[0]!.timeoutMs, 500);
    assert.equal(c.devices[0]!.retries, 3);
    assert.equal(c.devices[0]!.points[0]!.encoding.type, "bool");
  });

  test("an RTU device with its line settings, alarm and grouped series", () => {
    const c = parseModbusConfig(`[[device]]
name = "boiler"
transport = "rtu"
serial_port = "/dev/ttyUSB0"
baud = 19200
parity = "even"
stop_bits = 1
unit_id = 7
[[device.point]]
name = "flow"
table = "input"
address = 0
type = "float32"
word_order = "little"
measurement = "water"
series = "flow.rate"
[[device.point]]
name = "overheat"
table = "discrete_input"
address = 4
alarm = "boiler_overheat"
severity = "critical"
`);
    const d = c.devices[0]!;
    assert.deepEqual(d.transport, {
      kind: "rtu",
      path: "/dev/ttyUSB0",
      baudRate: 19200,
      parity: "even",
      dataBits: 8,
      stopBits: 1,
    });
    assert.deepEqual(d.points[0]!.dest, {
      kind: "measurement",
      type: "water",
      group: "flow",
      series: "rate",
    });
    assert.deepEqual(d.points[1]!.dest, {
      kind: "alarm",
      type: "boiler_overheat",
      condition: "==",
      threshold: 1,
      severity: "critical",
      text: "overheat == 1",
    });
  });

  const invalid: [string, string, number, RegExp][] = [
    ["TOML syntax error", `${TCP}unit_id = = 3\n`, 5, /TOML syntax error/],
    ["no device", `[defaults]\nretries = 1\n`, 1, /no \[\[device\]\] defined/],
    [
      "unknown device key",
      `${TCP}baudrate = 9600\n[[device.point]]\nname="v"\ntable="coil"\naddress=1\n`,
      5,
      /device #1 'meter': 'baudrate' is not a known key/,
    ],
    [
      "bad table",
      `${TCP}[[device.point]]\nname = "v"\ntable = "register"\naddress = 1\n`,
      7,
      /'table' must be one of coil, discrete_input, holding, input/,
    ],
    [
      "bad type",
      `${TCP}[[device.point]]\nname = "v"\ntable = "holding"\naddress = 1\ntype = "int128"\n`,
      9,
      /'type' must be one of/,
    ],
    [
      "bits table with a register type",
      `${TCP}[[device.point]]\nname = "v"\ntable = "coil"\naddress = 1\ntype = "float32"\n`,
      9,
      /holds bits: type must be bool/,
    ],
    [
      "address out of range",
      `${TCP}[[device.point]]\nname = "v"\ntable = "holding"\naddress = 70000\n`,
      8,
      /'address' must be an integer between 0 and 65535/,
    ],
    [
      "value past the last register",
      `${TCP}[[device.point]]\nname = "v"\ntable = "holding"\naddress = 65534\ntype = "float64"\n`,
      8,
      /runs past address 65535/,
    ],
    [
      "unit id out of range for RTU",
      `[[device]]\nname = "x"\ntransport = "rtu"\nserial_port = "/dev/ttyS0"\nunit_id = 250\n[[device.point]]\nname = "v"\ntable = "coil"\naddress = 1\n`,
      5,
      /'unit_id' must be an integer between 1 and 247/,
    ],
    [
      "tcp key on rtu",
      `[[device]]\nname = "x"\ntransport = "rtu"\nserial_port = "/dev/ttyS0"\nhost = "a"\n[[device.point]]\nname = "v"\ntable = "coil"\naddress = 1\n`,
      5,
      /'host' does not apply to transport 'rtu'/,
    ],
    [
      "missing host",
      `[[device]]\nname = "x"\ntransport = "tcp"\n[[device.point]]\nname = "v"\ntable = "coil"\naddress = 1\n`,
      1,
      /device #1 'x': 'host' is required/,
    ],
    ["no points", TCP, 1, /device #1 'meter': a device needs at least one \[\[device.point\]\]/],
    [
      "duplicate device",
      `${TCP}[[device.point]]\nname="v"\ntable="coil"\naddress=1\n${TCP}[[device.point]]\nname="v"\ntable="coil"\naddress=1\n`,
      10,
      /device #2 'meter': name 'meter' is already used by device #1 'meter'/,
    ],
    [
      "duplicate point",
      `${TCP}[[device.point]]\nname="v"\ntable="coil"\naddress=1\n[[device.point]]\nname="v"\ntable="coil"\naddress=2\n`,
      10,
      /point #2 'v': name 'v' is already used by point #1 'v'/,
    ],
    [
      "alarm without threshold",
      `${TCP}[[device.point]]\nname="p"\ntable="holding"\naddress=1\nalarm="high"\ncondition=">"\n`,
      5,
      /needs 'threshold'/,
    ],
    [
      "threshold without alarm",
      `${TCP}[[device.point]]\nname="p"\ntable="holding"\naddress=1\nthreshold=3\n`,
      9,
      /only applies to an alarm point/,
    ],
    [
      "series too deep",
      `${TCP}[[device.point]]\nname="p"\ntable="holding"\naddress=1\nseries="a.b.c"\n`,
      9,
      /'name' or 'group.name'/,
    ],
    [
      "slash in measurement type",
      `${TCP}[[device.point]]\nname="p"\ntable="holding"\naddress=1\nmeasurement="a/b"\n`,
      9,
      /'measurement' must be one topic level \(no '\/', '\+' or '#'\), not 'a\/b'/,
    ],
    [
      "device named main",
      `[[device]]\nname = "main"\ntransport = "tcp"\nhost = "h"\n[[device.point]]\nname="v"\ntable="coil"\naddress=1\n`,
      2,
      /not 'main'/,
    ],
    [
      "one serial line, two settings",
      `[[device]]\nname="a"\ntransport="rtu"\nserial_port="/dev/ttyS0"\nbaud=9600\n[[device.point]]\nname="v"\ntable="coil"\naddress=1\n[[device]]\nname="b"\ntransport="rtu"\nserial_port="/dev/ttyS0"\nbaud=19200\n[[device.point]]\nname="v"\ntable="coil"\naddress=1\n`,
      14,
      /set to 19200 8N1 here but 9600 8N1 on line 5/,
    ],
  ];
  for (const [name, text, line, re] of invalid) {
    test(`rejected with line and reason: ${name}`, () => {
      const errs = errorsOf(text);
      const hit = errs.find((e) => re.test(e.reason));
      assert.ok(hit, `no error matching ${re}: ${JSON.stringify(errs)}`);
      assert.equal(hit.line, line, `line of '${hit.reason}'`);
    });
  }

  test("64-bit integers, strings, bit fields and twin points", () => {
    const c = parseModbusConfig(
      `${TCP}[[device.point]]\nname = "energy"\ntable = "input"\naddress = 10\ntype = "uint64"\n` +
        `[[device.point]]\nname = "serial"\ntable = "holding"\naddress = 40052\ntype = "string"\nlength = 16\n` +
        `[[device.point]]\nname = "fan"\ntable = "holding"\naddress = 5\nbit = 3\nalarm = "fan_failure"\n` +
        `[[device.point]]\nname = "mode"\ntable = "holding"\naddress = 5\nbit = 8\nbits = 4\ntwin = "operating_mode"\n`,
    );
    const [energy, serial, fan, mode] = c.devices[0]!.points;
    assert.equal(energy?.width, 4);
    assert.deepEqual(serial?.dest, { kind: "twin", fragment: "serial" });
    assert.equal(serial?.width, 16);
    assert.deepEqual(fan?.encoding.bits, { start: 3, count: 1 });
    assert.equal(fan?.dest.kind, "alarm");
    assert.deepEqual(mode?.dest, { kind: "twin", fragment: "operating_mode" });
    assert.deepEqual(mode?.encoding.bits, { start: 8, count: 4 });
  });

  test("strings need a length, bits an integer type inside its width", () => {
    const errs = errorsOf(
      `${TCP}[[device.point]]\nname = "s"\ntable = "holding"\naddress = 1\ntype = "string"\n` +
        `[[device.point]]\nname = "f"\ntable = "holding"\naddress = 2\ntype = "float32"\nbit = 1\n` +
        `[[device.point]]\nname = "b"\ntable = "holding"\naddress = 3\nbit = 14\nbits = 4\n` +
        `[[device.point]]\nname = "m"\ntable = "holding"\naddress = 4\ntype = "string"\nlength = 2\nseries = "x"\n`,
    );
    assert.deepEqual(
      errs.map((e) => [e.line, e.reason.replace(/,.*$/, "")]),
      [
        [5, "device #1 'meter' point #1 's': 'length' is required"],
        [15, "device #1 'meter' point #2 'f': 'bit' needs an integer type"],
        [21, "device #1 'meter' point #3 'b': bits 14..17 lie outside a 16-bit uint16"],
        [
          28,
          "device #1 'meter' point #4 'm': 'series' does not apply to a twin point (strings are published on the twin)",
        ],
      ],
    );
  });

  test("a baud rate the serial transport cannot set is refused at its line", () => {
    const errs = errorsOf(
      `[[device]]\nname = "x"\ntransport = "rtu"\nserial_port = "/dev/ttyS0"\nbaud = 12345\n[[device.point]]\nname="v"\ntable="coil"\naddress=1\n`,
    );
    assert.equal(errs[0]?.line, 5);
    assert.match(errs[0]!.reason, /unsupported baud rate 12345/);
  });

  test("every error of a file is reported at once, in line order", () => {
    const errs = errorsOf(
      `${TCP}unit_id = 999\n[[device.point]]\nname = "v"\ntable = "nope"\naddress = -1\n`,
    );
    assert.deepEqual(
      errs.map((e) => e.line),
      [5, 8, 9],
    );
  });

  test("the README example is a valid file", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = /<!-- BEGIN modbus -->([\s\S]*?)<!-- END modbus -->/.exec(readme)?.[1] ?? "";
    const toml = /```toml\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(toml, "README modbus section has a ```toml example");
    const c = parseModbusConfig(toml, "README.md");
    assert.ok(c.devices.length >= 2);
    assert.ok(c.devices.some((d) => d.transport.kind === "tcp"));
    assert.ok(c.devices.some((d) => d.transport.kind === "rtu"));
  });
});
