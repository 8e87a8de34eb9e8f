import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  buildParser,
  type TextParserConfig as ParserConfig,
} from "../../src/drivers/serial/parsers/index.ts";
import { nmeaChecksum, nmeaCoordinate } from "../../src/drivers/serial/parsers/nmea.ts";

function table(title: string, cfg: ParserConfig, rows: [string, string, object | RegExp | null][]) {
  describe(title, () => {
    const parse = buildParser(cfg);
    for (const [name, line, want] of rows)
      it(name, () => {
        const r = parse(line);
        if (want instanceof RegExp) {
          assert.equal(r.ok, false, `expected a bad line, got ${JSON.stringify(r)}`);
          if (!r.ok) assert.match(r.error, want);
        } else {
          assert.ok(r.ok, r.ok ? "" : r.error);
          assert.deepEqual(r.values, want ?? undefined);
        }
      });
  });
}

table("regex parser", { kind: "regex", pattern: "^T:(?<temperature>-?[\\d.]+) H:(?<humidity>\\S+)$" }, [
  ["numeric named groups become series", "T:21.5 H:40", { temperature: 21.5, humidity: 40 }],
  ["a non-numeric group is skipped", "T:21.5 H:wet", { temperature: 21.5 }],
  ["no match is a bad line", "garbage", /does not match/],
  ["no numeric group is a bad line", "T:. H:x", /no named group captured a number/],
]);

table("regex parser with groups", { kind: "regex", pattern: "(?<env__t>\\d+)/(?<env__h>\\d+) (?<v>\\d+)" }, [
  ["group__series nests one level", "21/40 3", { env: { t: 21, h: 40 }, v: 3 }],
]);

table("kv parser", { kind: "kv" }, [
  ["space separated pairs", "t=21.5 h=40", { t: 21.5, h: 40 }],
  ["comma and semicolon separators", "t=1,h=2;p=1013.2", { t: 1, h: 2, p: 1013.2 }],
  ["non-numeric values are skipped", "t=1 status=ok", { t: 1 }],
  ["group.series nests one level", "env.t=1 env.h=2", { env: { t: 1, h: 2 } }],
  ["exponent and sign", "a=-1.5e3 b=+2", { a: -1500, b: 2 }],
  ["hex is not a number", "a=0x10 b=1", { b: 1 }],
  ["a token without '=' is a bad line", "t=1 junk", /'junk' is not a key=value pair/],
  ["no numeric pair is a bad line", "status=ok", /no numeric key=value pair/],
  ["a series clashing with a group is bad", "a=1 a.b=2", /both a series and a group/],
  ["too deep nesting is bad", "a.b.c=1", /nests deeper/],
]);

table("kv parser with custom separator and assignment", { kind: "kv", separator: "|", assign: ":" }, [
  ["pipe separated, colon assigned", "t:1|h:2", { t: 1, h: 2 }],
]);

table("json parser", { kind: "json" }, [
  ["numbers become series", '{"temperature":21.5,"humidity":40}', { temperature: 21.5, humidity: 40 }],
  ["objects of numbers become groups", '{"env":{"t":1,"h":2}}', { env: { t: 1, h: 2 } }],
  [
    "strings, booleans and time are skipped",
    '{"v":1,"s":"x","b":true,"time":"2020-01-01T00:00:00Z"}',
    { v: 1 },
  ],
  ["truncated JSON is bad", '{"temperature":21.5,', /invalid JSON/],
  ["an array is bad", "[1,2]", /not a JSON object/],
  ["no number is bad", '{"s":"x"}', /no numeric value/],
  ["nesting deeper than one group is bad", '{"a":{"b":{"c":1}}}', /nests deeper/],
]);

const gga = "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,";
const rmc = "GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W";
const s = (body: string) => `$${body}*${nmeaChecksum(body)}`;

table("nmea parser", { kind: "nmea", requireChecksum: true }, [
  [
    "GGA gives position with altitude and satellites",
    s(gga),
    { position: { latitude: 48.1173, longitude: 11.5166667, altitude: 545.4 }, satellites: 8 },
  ],
  [
    "the textbook GGA checksum is 47",
    `$${gga}*47`,
    { position: { latitude: 48.1173, longitude: 11.5166667, altitude: 545.4 }, satellites: 8 },
  ],
  [
    "RMC gives position, speed in m/s and course",
    s(rmc),
    { position: { latitude: 48.1173, longitude: 11.5166667 }, speed: 11.524, course: 84.4 },
  ],
  [
    "other talkers (GN) are accepted",
    s(gga.replace("GPGGA", "GNGGA")),
    { position: { latitude: 48.1173, longitude: 11.5166667, altitude: 545.4 }, satellites: 8 },
  ],
  [
    "south and west are negative",
    s("GPGGA,1,3342.6618,S,15112.8901,W,1,4,1,0,M,,,,"),
    { position: { latitude: -33.71103, longitude: -151.214835, altitude: 0 }, satellites: 4 },
  ],
  [
    "lower-case checksum digits are accepted",
    `$${rmc}*6a`,
    { position: { latitude: 48.1173, longitude: 11.5166667 }, speed: 11.524, course: 84.4 },
  ],
  ["GGA without fix (quality 0) carries nothing", s("GPGGA,123519,,,,,0,00,,,M,,M,,"), null],
  ["RMC with status V carries nothing", s("GPRMC,123519,V,,,,,,,230394,,"), null],
  ["other sentences carry nothing", s("GPGSV,2,1,08,01,40,083,46"), null],
  ["a wrong checksum is bad", `$${gga}*48`, /checksum mismatch: got 48, computed 47/],
  ["a missing checksum is bad", `$${gga}`, /checksum missing/],
  ["a malformed checksum is bad", `$${gga}*4`, /malformed checksum/],
  ["no leading $ is bad", gga, /no leading/],
  ["minutes >= 60 are bad", s("GPGGA,1,4867.000,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"), /out of range/],
  ["a bad hemisphere is bad", s("GPGGA,1,4807.038,X,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"), /hemisphere/],
  [
    "garbage in a field is bad",
    s("GPGGA,1,48a7.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
    /bad coordinate/,
  ],
  ["a bad sentence id is bad", s("G\u0000GGA,1"), /bad sentence address/],
]);

table("nmea parser without required checksum", { kind: "nmea", requireChecksum: false }, [
  [
    "a sentence without checksum is accepted",
    `$${rmc}`,
    { position: { latitude: 48.1173, longitude: 11.5166667 }, speed: 11.524, course: 84.4 },
  ],
  ["a wrong checksum is still bad", `$${rmc}*00`, /checksum mismatch/],
]);

describe("nmea helpers", () => {
  it("checksum is the XOR of the body in two hex digits", () => {
    assert.equal(nmeaChecksum(gga), "47");
    assert.equal(nmeaChecksum(""), "00");
  });
  it("coordinates: ddmm.mmmm and dddmm.mmmm", () => {
    assert.equal(nmeaCoordinate("4807.038", "N", 2), 48.1173);
    assert.equal(nmeaCoordinate("01131.000", "W", 3), -11.5166667);
    assert.equal(nmeaCoordinate("9100.000", "N", 2), "coordinate '9100.000' out of range");
  });
});

describe("parser construction", () => {
  it("a regex without a named group is refused", () => {
    assert.throws(() => buildParser({ kind: "regex", pattern: "(\\d+)" }), /no named group/);
  });
  it("an invalid regex is refused", () => {
    assert.throws(() => buildParser({ kind: "regex", pattern: "(?<a>" }), /Invalid regular expression/);
  });
});
