import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSerialConfig } from "../../src/drivers/serial/config.ts";

const GOOD = `# two sensors
[[device]]
name = "weather1"
type = "WeatherStation"
port = "/dev/ttyUSB0"
baud = 19200
parity = "even"
data_bits = 7
stop_bits = 2
parser = "regex"
pattern = '^T:(?<temperature>[-\\d.]+) H:(?<humidity>[\\d.]+)$'
measurement = "environment"
units = { temperature = "°C", humidity = "%RH" }

[[device]]
name = "gps"
port = "/dev/ttyACM0"
parser = "nmea"
measurement = "gps"
`;

describe("serial.toml", () => {
  it("a complete file parses with defaults filled in", () => {
    const [w, g] = parseSerialConfig("serial.toml", GOOD);
    assert.deepEqual(w, {
      name: "weather1",
      type: "WeatherStation",
      serial: { path: "/dev/ttyUSB0", baudRate: 19200, dataBits: 7, stopBits: 2, parity: "even" },
      parser: { kind: "regex", pattern: "^T:(?<temperature>[-\\d.]+) H:(?<humidity>[\\d.]+)$" },
      measurement: "environment",
      units: { temperature: "°C", humidity: "%RH" },
      maxLine: 1024,
    });
    assert.deepEqual(g?.serial, {
      path: "/dev/ttyACM0",
      baudRate: 9600,
      dataBits: 8,
      stopBits: 1,
      parity: "none",
    });
    assert.deepEqual(g?.parser, { kind: "nmea", requireChecksum: true });
    assert.equal(g?.type, "serial-sensor");
  });

  it("an empty file means no devices", () => {
    assert.deepEqual(parseSerialConfig("serial.toml", ""), []);
  });

  // [name, source, expected message including file:line]
  const bad: [string, string, RegExp][] = [
    [
      "a TOML syntax error names its line",
      `[[device]]\nname = "a"\nport = \n`,
      /^serial\.toml:3: TOML syntax error: invalid value/,
    ],
    [
      "a missing name points at the [[device]] line",
      `[[device]]\nport = "/dev/x"\nparser = "json"\n`,
      /^serial\.toml:1: device #1: 'name' is required/,
    ],
    [
      "an unknown parser points at its key in the second device",
      `[[device]]\nname = "a"\nport = "/dev/a"\nparser = "json"\n\n[[device]]\nname = "b"\nport = "/dev/b"\nparser = "xml"\n`,
      /^serial\.toml:9: device #2 'b': 'parser' must be one of regex, kv, json, nmea, vedirect, sds011, frame, not 'xml'/,
    ],
    [
      "an unsupported baud rate",
      `[[device]]\nname = "a"\nport = "/dev/a"\nbaud = 12345\nparser = "json"\n`,
      /^serial\.toml:4: .*unsupported baud rate 12345/,
    ],
    [
      "parity must be none, even or odd",
      `[[device]]\nname = "a"\nport = "/dev/a"\nparity = "mark"\nparser = "json"\n`,
      /^serial\.toml:4: .*'parity' must be one of none, even, odd/,
    ],
    [
      "data bits out of range",
      `[[device]]\nname = "a"\nport = "/dev/a"\ndata_bits = 9\nparser = "json"\n`,
      /^serial\.toml:4: device #1 'a': 'data_bits' must be an integer between 5 and 8, not 9/,
    ],
    [
      "a typo in a key is an error, not a default",
      `[[device]]\nname = "a"\nport = "/dev/a"\nbuad = 9600\nparser = "json"\n`,
      /^serial\.toml:4: .*'buad' is not a known key/,
    ],
    [
      "an invalid regex names the pattern line",
      `[[device]]\nname = "a"\nport = "/dev/a"\nparser = "regex"\npattern = "(?<x>"\n`,
      /^serial\.toml:5: .*invalid pattern/,
    ],
    [
      "a regex without named groups",
      `[[device]]\nname = "a"\nport = "/dev/a"\nparser = "regex"\npattern = "(\\\\d+)"\n`,
      /^serial\.toml:5: .*no named group/,
    ],
    [
      "an option of another parser",
      `[[device]]\nname = "a"\nport = "/dev/a"\nparser = "json"\npattern = "x"\n`,
      /^serial\.toml:5: .*'pattern' does not apply to the json parser/,
    ],
    [
      "a name that is not one topic level",
      `[[device]]\nname = "a/b"\nport = "/dev/a"\nparser = "json"\n`,
      /^serial\.toml:2: device #1 'a\/b': 'name' must be 1-64 letters, .*, not 'a\/b'/,
    ],
    [
      "a child cannot take the gateway's own name",
      `[[device]]\nname = "main"\nport = "/dev/a"\nparser = "json"\n`,
      /^serial\.toml:2: device #1 'main': 'name' must be a child device's name, not 'main'/,
    ],
    [
      "a duplicate name",
      `[[device]]\nname = "a"\nport = "/dev/a"\nparser = "json"\n[[device]]\nname = "a"\nport = "/dev/b"\nparser = "json"\n`,
      /^serial\.toml:6: device #2 'a': name 'a' is already used by device #1 'a'/,
    ],
    [
      "two devices on one port",
      `[[device]]\nname = "a"\nport = "/dev/a"\nparser = "json"\n[[device]]\nname = "b"\nport = "/dev/a"\nparser = "json"\n`,
      /^serial\.toml:7: device #2 'b': port '\/dev\/a' is already used by device #1 'a'/,
    ],
    [
      "a unit that is not a string",
      `[[device]]\nname = "a"\nport = "/dev/a"\nparser = "json"\n[device.units]\nt = 1\n`,
      /^serial\.toml:6: .*'t' must be a string/,
    ],
    [
      "an unknown top-level key",
      `devices = 1\n`,
      /^serial\.toml:1: 'devices' is not a known key \(known: device\)/,
    ],
    [
      "device must be an array of tables",
      `device = 1\n`,
      /^serial\.toml:1: .*'device' must be an array of tables/,
    ],
  ];
  for (const [name, source, want] of bad)
    it(name, () => {
      assert.throws(
        () => parseSerialConfig("serial.toml", source),
        (e: Error) => {
          assert.match(e.message, want);
          return true;
        },
      );
    });
});
