/**
 * The one device-file reader behind modbus.toml and serial.toml: typed reads with their messages,
 * the line of a key, and every problem of a file reported at once with its line.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeviceFile, type DeviceTable, Unique } from "../../src/drivers/common/device-file.ts";
import { DeviceFileError, locate } from "../../src/drivers/common/toml-file.ts";
import { parseModbusConfig } from "../../src/drivers/modbus/config.ts";
import { parseSerialConfig } from "../../src/drivers/serial/config.ts";

/** The problems a parser reports for `source`, as [line, reason]. */
function problemsOf(parse: (source: string) => unknown, source: string): [number, string][] {
  try {
    parse(source);
  } catch (e) {
    assert.ok(e instanceof DeviceFileError, String(e));
    return e.errors.map((p) => [p.line, p.reason]);
  }
  return [];
}

const serial = (s: string) => parseSerialConfig("serial.toml", s);
const modbus = (s: string) => parseModbusConfig(s, "modbus.toml");

describe("every problem of a device file is reported with its line", () => {
  // [title, parser, source, every problem in line order: [line, reason pattern]]
  const rows: [string, (s: string) => unknown, string, [number, RegExp][]][] = [
    [
      "serial.toml: a line setting and two parser options of one device",
      serial,
      `[[device]]\nname = "a"\nport = "/dev/a"\nbaud = 12345\nparser = "kv"\nseparator = ""\nassign = ""\n`,
      [
        [4, /^device #1 'a': unsupported baud rate 12345 \(one of 50, 75, /],
        [6, /^device #1 'a': 'separator' must not be empty$/],
        [7, /^device #1 'a': 'assign' must not be empty$/],
      ],
    ],
    [
      "serial.toml: a json parser's values table, time field and array handling",
      serial,
      `[[device]]\nname = "air"\nport = "/dev/ttyUSB0"\nparser = "json"\ntime_field = " time"\narrays = "flatten"\nvalues = 3\n`,
      [
        [5, /^device #1 'air': 'time_field' must be a field name or dotted path, not ' time'$/],
        [6, /^device #1 'air': 'arrays' must be one of index, ignore, not 'flatten'$/],
        [7, /^device #1 'air': 'values' must be a table, not 3$/],
      ],
    ],
    [
      "serial.toml: problems in two devices, one of them across devices",
      serial,
      `[[device]]\nname = "gps"\nport = "/dev/ttyACM0"\nparser = "nmea"\nrequire_checksum = "yes"\n` +
        `[[device]]\nname = "gps"\nport = "/dev/ttyACM1"\nparser = "nmea"\ntime_source = "gps"\n`,
      [
        [5, /^device #1 'gps': 'require_checksum' must be true or false, not 'yes'$/],
        [7, /^device #2 'gps': name 'gps' is already used by device #1 'gps'$/],
        [10, /^device #2 'gps': 'time_source' must be one of read, device, not 'gps'$/],
      ],
    ],
    [
      "modbus.toml: one problem in [defaults], one in a device, one in a point",
      modbus,
      `[defaults]\nretries = 11\n[[device]]\nname = "meter"\ntransport = "tcp"\nhost = "10.0.0.2"\nport = 70000\n` +
        `[[device.point]]\nname = "v"\ntable = "holding"\naddress = 1\nscale = 0\n`,
      [
        [2, /^defaults: 'retries' must be an integer between 0 and 10, not 11$/],
        [7, /^device #1 'meter': 'port' must be an integer between 1 and 65535, not 70000$/],
        [12, /^device #1 'meter' point #1 'v': 'scale' must not be 0$/],
      ],
    ],
    [
      "modbus.toml: a device with a bad name is still checked through",
      modbus,
      `[[device]]\nname = 5\ntransport = "udp"\n`,
      [
        [1, /^device #1: a device needs at least one \[\[device\.point\]\]$/],
        [2, /^device #1: 'name' must be a string, not 5$/],
        [3, /^device #1: 'transport' must be one of tcp, rtu, not 'udp'$/],
      ],
    ],
    [
      "modbus.toml: a duplicate point behind an invalid one",
      modbus,
      `[[device]]\nname = "a"\ntransport = "rtu"\nserial_port = "/dev/ttyUSB0"\ndata_bits = 5\n` +
        `[[device.point]]\nname = "p"\ntable = "coil"\naddress = 1\ntype = "float32"\n` +
        `[[device.point]]\nname = "p"\ntable = "input"\naddress = 2\n`,
      [
        [5, /^device #1 'a': 'data_bits' must be an integer between 7 and 8, not 5$/],
        [10, /^device #1 'a' point #1 'p': table 'coil' holds bits: type must be bool, not float32$/],
        [12, /^device #1 'a' point #2 'p': name 'p' is already used by point #1 'p'$/],
      ],
    ],
  ];
  for (const [title, parse, source, want] of rows)
    it(title, () => {
      const got = problemsOf(parse, source);
      assert.equal(got.length, want.length, JSON.stringify(got, null, 1));
      want.forEach(([line, re], i) => {
        assert.equal(got[i]?.[0], line, `line of ${got[i]?.[1]}`);
        assert.match(got[i]?.[1] ?? "", re);
      });
    });

  it("the error's message is one `file:line: reason` a problem, in line order", () => {
    assert.throws(
      () => parseSerialConfig("/etc/ledge/serial.toml", `[[device]]\nport = 1\nname = "x"\nparser = "xml"\n`),
      (e: Error) => {
        assert.equal(
          e.message,
          "/etc/ledge/serial.toml:2: device #1 'x': 'port' must be a string, not 1\n" +
            "/etc/ledge/serial.toml:4: device #1 'x': 'parser' must be one of regex, kv, json, nmea, vedirect, sds011, frame, not 'xml'",
        );
        return true;
      },
    );
  });

  it("a TOML syntax error is the one problem reported (the parser stops there)", () =>
    assert.deepEqual(problemsOf(modbus, `[[device]]\nname = "a"\nbaud = = 1\nport = 70000\n`), [
      [3, "TOML syntax error: invalid value"],
    ]));
});

describe("typed reads of one table (the messages both files share)", () => {
  /** Reads `key` of the first [[t]] of `toml` with `read`; the value and the problems. */
  function read<T>(toml: string, r: (t: DeviceTable) => T): { value: T; problems: string[] } {
    const f = DeviceFile.parse("x.toml", toml);
    const [t] = f.root().tables("t");
    assert.ok(t);
    const value = r(t);
    return { value, problems: f.problems.map((p) => `${p.line}: ${p.reason}`) };
  }
  const T = (body: string) => `[[t]]\nname = "n"\n${body}`;
  // [what, toml, read, value, problems]
  const rows: [string, string, (t: DeviceTable) => unknown, unknown, string[]][] = [
    ["a string", T('k = "v"\n'), (t) => t.str("k"), "v", []],
    [
      "a missing key is reported at its table",
      T(""),
      (t) => t.str("k"),
      undefined,
      ["1: t #1 'n': 'k' is required"],
    ],
    ["a default stands in for a missing key", T(""), (t) => t.str("k", { default: "d" }), "d", []],
    ["an optional key may be left out", T(""), (t) => t.int("k", { optional: true }), undefined, []],
    [
      "a string of the wrong type",
      T("k = 1\n"),
      (t) => t.str("k"),
      undefined,
      ["3: t #1 'n': 'k' must be a string, not 1"],
    ],
    ["an empty string", T('k = ""\n'), (t) => t.str("k"), undefined, ["3: t #1 'n': 'k' must not be empty"]],
    ["an empty string where one is allowed", T('k = ""\n'), (t) => t.str("k", { empty: true }), "", []],
    [
      "a pattern with its hint",
      T('k = "a b"\n'),
      (t) => t.str("k", { pattern: /^\S+$/, hint: "one word" }),
      undefined,
      ["3: t #1 'n': 'k' must be one word, not 'a b'"],
    ],
    [
      "one of a set",
      T('k = "c"\n'),
      (t) => t.oneOf("k", ["a", "b"]),
      undefined,
      ["3: t #1 'n': 'k' must be one of a, b, not 'c'"],
    ],
    ["an integer in range", T("k = 7\n"), (t) => t.int("k", { min: 1, max: 7 }), 7, []],
    [
      "an integer out of range",
      T("k = 8\n"),
      (t) => t.int("k", { min: 1, max: 7 }),
      undefined,
      ["3: t #1 'n': 'k' must be an integer between 1 and 7, not 8"],
    ],
    [
      "a fraction where an integer is needed",
      T("k = 1.5\n"),
      (t) => t.int("k", { min: 0 }),
      undefined,
      ["3: t #1 'n': 'k' must be an integer of at least 0, not 1.5"],
    ],
    ["a number", T("k = 0.25\n"), (t) => t.num("k", { max: 1 }), 0.25, []],
    [
      "a number out of range",
      T("k = 2.5\n"),
      (t) => t.num("k", { max: 1 }),
      undefined,
      ["3: t #1 'n': 'k' must be a number of at most 1, not 2.5"],
    ],
    ["a boolean", T("k = false\n"), (t) => t.bool("k"), false, []],
    [
      "not a boolean",
      T('k = "no"\n'),
      (t) => t.bool("k"),
      undefined,
      ["3: t #1 'n': 'k' must be true or false, not 'no'"],
    ],
    ["an array of integers", T("k = [0xAA, 1]\n"), (t) => t.ints("k", { min: 0, max: 255 }), [170, 1], []],
    [
      "an array with a value out of range",
      T("k = [1, 300]\n"),
      (t) => t.ints("k", { min: 0, max: 255 }),
      undefined,
      ["3: t #1 'n': 'k' must be an array of integers between 0 and 255, not [1,300]"],
    ],
    [
      "a sub-table reads with its path in the label",
      T("[t.s]\nk = 1\n"),
      (t) => t.sub("s")?.str("k"),
      undefined,
      ["4: t #1 'n' s: 'k' must be a string, not 1"],
    ],
    [
      "an array of tables that is not one",
      T("p = 1\n"),
      (t) => t.tables("p"),
      [],
      ["3: t #1 'n': 'p' must be an array of tables ([[t.p]]), not 1"],
    ],
    [
      "unknown keys, each at its line",
      T("a = 1\nb = 2\n"),
      (t) => t.keys(["name", "a"]),
      undefined,
      ["4: t #1 'n': 'b' is not a known key (known: name, a)"],
    ],
  ];
  for (const [what, toml, r, value, problems] of rows)
    it(what, () => assert.deepEqual(read(toml, r), { value, problems }));

  it("a unique value: the second table is reported, naming the first", () => {
    const f = DeviceFile.parse("x.toml", `[[t]]\nname = "a"\n[[t]]\nname = "b"\n[[t]]\nname = "a"\n`);
    const u = new Unique("name");
    for (const t of f.root().tables("t")) u.check(t);
    assert.deepEqual(f.problems, [{ line: 6, reason: "t #3 'a': name 'a' is already used by t #1 'a'" }]);
  });
});

describe("locate (line of a key in TOML source)", () => {
  const src = `top = 1
[[device]]
name = "a"
[device.options]
x = 1
[[device.points]]
address = 1
[[device.points]]
address = 2
[[device]]
name = "b"
"quoted key" = 3
[[device.points]]
address = 9
`;
  const rows: [(string | number)[], number | undefined][] = [
    [["top"], 1],
    [["device", 0], 2],
    [["device", 0, "name"], 3],
    [["device", 0, "options", "x"], 5],
    [["device", 0, "points", 1, "address"], 9],
    [["device", 1, "name"], 11],
    [["device", 1, "quoted key"], 12],
    [["device", 1, "points", 0, "address"], 14],
    [["device", 1, "missing"], 10],
    [["nothing"], undefined],
  ];
  for (const [path, line] of rows)
    it(`${JSON.stringify(path)} → ${line}`, () => assert.equal(locate(src, path), line));
});
