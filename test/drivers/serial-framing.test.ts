/**
 * What real receivers and sensors send (issue 15): proprietary NMEA, GPS fix times, device JSON
 * with its own time, arrays and pretty printing, SDS011 and VE.Direct frames. Pure: framers and
 * parsers through `buildDecoder`, bytes in and results out, split at every byte boundary.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  sds011Frame as sds011,
  VE_FIELDS,
  VE_VALUES,
  veBlock,
} from "../../hw-test/serial/sensor-emulator.ts";
import { parseSerialConfig } from "../../src/drivers/serial/config.ts";
import { buildDecoder, type Decoded } from "../../src/drivers/serial/decoder.ts";
import type { ParserConfig } from "../../src/drivers/serial/parsers/index.ts";
import { nmeaChecksum } from "../../src/drivers/serial/parsers/nmea.ts";

const NOW = Date.UTC(2012, 10, 2, 12, 0, 0);
const nmea = (body: string) => `$${body}*${nmeaChecksum(body)}\r\n`;

function decode(c: ParserConfig, input: Buffer | string, chunk = 0, now = NOW): Decoded[] {
  const d = buildDecoder(c, 1024);
  const bytes = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  const out: Decoded[] = [];
  const step = chunk || bytes.length;
  for (let i = 0; i < bytes.length; i += step) d.push(bytes.subarray(i, i + step), now, (e) => out.push(e));
  return out;
}
const results = (ds: Decoded[]) =>
  ds.map((d) => (d.result.ok ? { values: d.result.values, time: d.result.time } : { error: d.result.error }));

describe("NMEA: any valid sentence is accepted (NMEA 0183 address: talker+type or P+maker)", () => {
  const c: ParserConfig = { kind: "nmea", requireChecksum: true };
  for (const body of [
    "PMTK010,001",
    "PMTKCHN,0,0,0",
    "PSRFEPE,100542.000,A,0.7,6.82,10.69,0.0,180.0",
    "PFST,FIRSTFIX,0,000000",
    "PKWDWPL,150803,V,4237.14,N,07120.83,W,,,200316,,AC7FD-1,/-",
    "PMGNST,02.12,3,T,534,05.0,+03327,00",
    "PSRF100,0,9600,8,1,0",
    "PTNLDG,44.0,33.0,287.0,100,0,4,1,0,,,*",
    "GPZDA,160012.71,11,03,2004,-1,00",
    "GAGSV,1,1,00",
    "BDGSA,A,3,,,,,,,,,,,,,1.0,0.7,0.7",
  ])
    it(`${body.split(",")[0]} is valid and publishes nothing`, () =>
      assert.deepEqual(results(decode(c, nmea(body))), [{ values: undefined, time: undefined }]));
  it("a malformed address stays bad", () =>
    assert.match(String(results(decode(c, nmea("G,1")))[0]?.error), /bad sentence address/));
  it("RMC with an empty status field is no fix, not a bad line", () =>
    assert.deepEqual(results(decode(c, nmea("GPRMC,235947.000,,,,,,,,,,"))), [
      { values: undefined, time: undefined },
    ]));
  it("RMC status other than A, V or empty is bad", () =>
    assert.match(
      String(results(decode(c, nmea("GPRMC,235947.000,X,,,,,,,,,")))[0]?.error),
      /neither A nor V/,
    ));
});

describe("NMEA time_source = device: the fix time and date become the measurement time", () => {
  const c: ParserConfig = { kind: "nmea", requireChecksum: true, deviceTime: true };
  const rmc = nmea("GPRMC,023042.5,A,4807.038,N,01131.000,E,022.4,084.4,021112,003.1,W");
  it("RMC: date and time of the fix", () =>
    assert.equal(results(decode(c, rmc))[0]?.time, Date.UTC(2012, 10, 2, 2, 30, 42, 500)));
  it("GGA after RMC: dated by the RMC, also across midnight", () => {
    const late = nmea("GPRMC,235959,A,4807.038,N,01131.000,E,0,0,021112,,");
    const gga = nmea("GPGGA,000001,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,");
    assert.deepEqual(
      results(decode(c, late + gga)).map((r) => r.time),
      [Date.UTC(2012, 10, 2, 23, 59, 59), Date.UTC(2012, 10, 3, 0, 0, 1)],
    );
  });
  it("GGA without any RMC: the day that puts the fix nearest the read time", () => {
    const gga = nmea("GPGGA,235958,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,");
    const justAfterMidnight = Date.UTC(2012, 10, 3, 0, 0, 5);
    assert.equal(results(decode(c, gga, 0, justAfterMidnight))[0]?.time, Date.UTC(2012, 10, 2, 23, 59, 58));
  });
  it("time_source = read (the default) leaves the read time", () =>
    assert.equal(results(decode({ kind: "nmea", requireChecksum: true }, rmc))[0]?.time, undefined));
});

describe("JSON: device time, arrays, paths, documents over several lines", () => {
  const doc = '{"sensor":"gps","time":1351824120,"data":[48.75,2.30]}\n';
  it("the device's time field is never a value; arrays become indexed series", () =>
    assert.deepEqual(results(decode({ kind: "json" }, doc)), [
      { values: { data_0: 48.75, data_1: 2.3 }, time: undefined },
    ]));
  it("time_source = device: unix seconds", () =>
    assert.equal(results(decode({ kind: "json", deviceTime: true }, doc))[0]?.time, 1351824120000));
  it("time_source = device: ISO 8601 in a configured field", () =>
    assert.equal(
      results(
        decode(
          { kind: "json", deviceTime: true, timeField: "ts" },
          '{"ts":"2012-11-02T02:42:00.250+01:00","v":1}\n',
        ),
      )[0]?.time,
      Date.UTC(2012, 10, 2, 1, 42, 0, 250),
    ));
  it("a device time that is neither is bad", () =>
    assert.match(
      String(results(decode({ kind: "json", deviceTime: true }, '{"time":"yesterday","v":1}'))[0]?.error),
      /neither unix seconds nor an ISO 8601/,
    ));
  it("arrays = ignore drops arrays", () =>
    assert.match(
      String(results(decode({ kind: "json", arrays: "ignore" }, doc))[0]?.error),
      /no numeric value/,
    ));
  it("arrays inside a group are indexed in the group", () =>
    assert.deepEqual(results(decode({ kind: "json" }, '{"acc":{"xyz":[1,2,3]}}'))[0]?.values, {
      acc: { xyz_0: 1, xyz_1: 2, xyz_2: 3 },
    }));
  it("values selected by path, named as series or group.series", () =>
    assert.deepEqual(
      results(decode({ kind: "json", select: { latitude: "data.0", "pos.lon": "data.1" } }, doc))[0]?.values,
      { latitude: 48.75, pos: { lon: 2.3 } },
    ));
  const pretty =
    '{\n  "temperature": 21.5,\n  "env": {\n    "h": 40\n  },\n  "note": "a } in a string"\n}\n{"v":1}{"v":2}\n';
  for (const chunk of [0, 1, 7])
    it(`a pretty-printed document is one reading, two on one line are two (chunks of ${chunk || "all"})`, () =>
      assert.deepEqual(
        results(decode({ kind: "json" }, pretty, chunk)).map((r) => r.values),
        [{ temperature: 21.5, env: { h: 40 } }, { v: 1 }, { v: 2 }],
      ));
  it("an unterminated document is bad and the next one at a line start still parses", () =>
    assert.deepEqual(
      results(decode({ kind: "json" }, '{"t":21.5,\n{"v":1}\n')).map((r) => r.values ?? r.error),
      ["unterminated JSON document", { v: 1 }],
    ));
  it("garbage with braces in it is one bad run per line, not a document", () =>
    assert.deepEqual(
      results(decode({ kind: "json" }, 'x{"y":1}zz{\n{"v":1}\n')).map((r) => r.values ?? r.error),
      ["text outside a JSON object", { v: 1 }],
    ));
  it("text outside a document is bad", () =>
    assert.deepEqual(
      results(decode({ kind: "json" }, 'boot ok\n{"v":1}\n')).map((r) => r.values ?? r.error),
      ["text outside a JSON object", { v: 1 }],
    ));
});

describe("binary frames: SDS011 (built in), framed on start bytes and length, never on line ends", () => {
  const c: ParserConfig = { kind: "sds011" };
  it("a frame holding 0x0A is one reading", () => {
    const f = sds011(1.0, 2.6); // PM2.5 = 10 = 0x0A
    assert.ok(f.includes(0x0a));
    assert.deepEqual(results(decode(c, f)), [{ values: { pm25: 1, pm10: 2.6 }, time: undefined }]);
  });
  for (const chunk of [1, 3, 0])
    it(`good, bad checksum, garbage, good (chunks of ${chunk || "all"})`, () => {
      const input = Buffer.concat([
        sds011(12.3, 45.6),
        sds011(1, 1, true),
        Buffer.from([0x01, 0x02]),
        sds011(7.7, 8.8),
      ]);
      assert.deepEqual(
        results(decode(c, input, chunk)).map((r) => r.values ?? r.error),
        [
          { pm25: 12.3, pm10: 45.6 },
          "frame checksum mismatch",
          "2 byte(s) outside a frame",
          { pm25: 7.7, pm10: 8.8 },
        ],
      );
    });
});

describe("VE.Direct text blocks: one measurement per block, block checksum verified", () => {
  const c: ParserConfig = { kind: "vedirect" };
  const fields = VE_FIELDS;
  const want = VE_VALUES;
  for (const chunk of [1, 5, 0])
    it(`good, corrupt, HEX message, good (chunks of ${chunk || "all"})`, () => {
      const input = Buffer.concat([
        veBlock(fields),
        veBlock(fields, true),
        Buffer.from(":A0102000543\n"),
        veBlock(fields),
      ]);
      assert.deepEqual(
        results(decode(c, input, chunk)).map((r) => r.values ?? r.error),
        [want, String(results(decode(c, veBlock(fields, true)))[0]?.error), want],
      );
    });
  it("a corrupt block is a checksum mismatch", () =>
    assert.match(
      String(results(decode(c, veBlock(fields, true)))[0]?.error),
      /VE\.Direct block checksum mismatch/,
    ));
  it("a checksum byte that is CR or LF does not end the block early", () => {
    for (let v = 0; v < 100_000; v++) {
      const b = veBlock([
        ["V", String(v)],
        ["I", "0"],
      ]);
      if (b.at(-1) === 0x0a || b.at(-1) === 0x0d) {
        assert.deepEqual(
          results(decode(c, b)).map((r) => r.values),
          [{ V: v, I: 0 }],
        );
        return;
      }
    }
    assert.fail("no value gave a CR/LF checksum byte");
  });
});

describe("serial.toml frame descriptions", () => {
  const head = '[[device]]\nname = "pm"\nport = "/dev/ttyUSB3"\nparser = "frame"\n';
  it("a declarative frame equal to SDS011 decodes the same", () => {
    const [d] = parseSerialConfig(
      "serial.toml",
      `${head}[device.frame]\nstart = [0xAA, 0xC0]\nlength = 10\nend = [0xAB]\nchecksum = { kind = "sum8", from = 2, to = 7, at = 8 }\n[[device.frame.field]]\nname = "pm25"\noffset = 2\ntype = "uint16le"\nscale = 0.1\n[[device.frame.field]]\nname = "pm10"\noffset = 4\ntype = "uint16le"\nscale = 0.1\n`,
    );
    assert.ok(d);
    assert.deepEqual(results(decode(d.parser, sds011(3.4, 5.6))), [
      { values: { pm25: 3.4, pm10: 5.6 }, time: undefined },
    ]);
  });
  it("every problem of a file is reported with its line (serial reports all, like modbus)", () => {
    assert.throws(
      () =>
        parseSerialConfig(
          "serial.toml",
          `${head}baud = 12345\ncolour = "red"\n[device.frame]\nstart = [300]\nlength = 4\nchecksum = { kind = "md5", from = 0, to = 1, at = 2 }\n[[device.frame.field]]\nname = "x"\noffset = 9\ntype = "uint8"\n`,
        ),
      (e: Error) => {
        const lines = e.message.split("\n");
        assert.deepEqual(
          lines.map((l) => l.split(":")[1]),
          ["5", "6", "8", "10"],
          e.message,
        );
        assert.match(e.message, /unsupported baud rate 12345/);
        assert.match(e.message, /'colour' is not a known key/);
        assert.match(e.message, /'start' must be an array of bytes/);
        assert.match(e.message, /must be one of none, sum8, xor8, crc16_modbus, not 'md5'/);
        return true;
      },
    );
  });
  it("time_source does not apply to a parser without device time", () =>
    assert.throws(
      () =>
        parseSerialConfig(
          "serial.toml",
          '[[device]]\nname = "a"\nport = "/dev/a"\nparser = "kv"\ntime_source = "device"\n',
        ),
      /serial\.toml:5: .*'time_source' does not apply to the kv parser/,
    ));
});
