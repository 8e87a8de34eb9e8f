import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseAgentToml, parseTypeEntries } from "../../src/agent/declared-types.ts";
import { safeFilePath } from "../../src/agent/http/safe-path.ts";
import { filterLines, globRegExp, lineTime, parseDate } from "../../src/agent/log-filter.ts";
import { journalArgv } from "../../src/agent/operations/log-upload.ts";
import { moduleArgs, parseListOutput, parseUpdateList } from "../../src/agent/software/modules.ts";

describe("sm-plugin list output", () => {
  const rows: [string, string, ReturnType<typeof parseListOutput>][] = [
    ["name and version", "nodered\t1.0.0\n", [{ name: "nodered", version: "1.0.0" }]],
    ["no version", "foo\n", [{ name: "foo" }]],
    ["empty version", "foo\t\n", [{ name: "foo" }]],
    [
      "blank lines and CRLF",
      "\na\t1\r\n\nb\t2\n",
      [
        { name: "a", version: "1" },
        { name: "b", version: "2" },
      ],
    ],
    ["nothing installed", "", []],
  ];
  for (const [name, out, want] of rows) it(name, () => assert.deepEqual(parseListOutput(out), want));
});

describe("updateList", () => {
  it("accepts thin-edge's shape", () => {
    const r = parseUpdateList([
      {
        type: "apt",
        modules: [{ name: "nodered", version: "1.0.0", action: "install", url: "http://x/f.deb" }],
      },
    ]);
    assert.deepEqual(r, {
      ok: true,
      groups: [
        {
          type: "apt",
          modules: [{ name: "nodered", version: "1.0.0", action: "install", url: "http://x/f.deb" }],
        },
      ],
    });
  });
  const bad: [string, unknown, RegExp][] = [
    ["not a list", {}, /must be a list/],
    ["no type", [{ modules: [] }], /type must be a string/],
    [
      "bad action",
      [{ type: "apt", modules: [{ name: "x", action: "upgrade" }] }],
      /action must be install or remove/,
    ],
    ["no name", [{ type: "apt", modules: [{ action: "remove" }] }], /name must be a string/],
    ["an empty name", [{ type: "apt", modules: [{ name: "", action: "remove" }] }], /name must not be empty/],
    [
      "a blank name",
      [{ type: "apt", modules: [{ name: "  ", action: "remove" }] }],
      /name must not be empty/,
    ],
    [
      "a name that is an option",
      [{ type: "apt", modules: [{ name: "-oAPT::Update::Pre-Invoke::=id", action: "install" }] }],
      /name must not start with '-'/,
    ],
  ];
  for (const [name, v, re] of bad)
    it(`rejects ${name}`, () => {
      const r = parseUpdateList(v);
      assert.equal(r.ok, false);
      assert.match((r as { error: string }).error, re);
    });
  it("module argv follows the sm-plugin protocol", () => {
    assert.deepEqual(moduleArgs({ name: "a", version: "1", action: "install" }, "/tmp/f"), [
      "install",
      "a",
      "--module-version",
      "1",
      "--file",
      "/tmp/f",
    ]);
    assert.deepEqual(moduleArgs({ name: "a", action: "remove" }), ["remove", "a"]);
  });
});

describe("file transfer paths", () => {
  const root = "/data/ft";
  const ok: [string, string][] = [
    ["a.txt", "/data/ft/a.txt"],
    ["main/config_snapshot/mosquitto-1", "/data/ft/main/config_snapshot/mosquitto-1"],
    ["with%20space", "/data/ft/with space"],
    ["..dots..", "/data/ft/..dots.."],
  ];
  for (const [raw, want] of ok)
    it(`accepts ${raw}`, () =>
      assert.deepEqual(safeFilePath(raw, root), { ok: true, path: want, rel: want.slice(9) }));
  const refused = [
    "",
    "../etc/passwd",
    "a/../../etc/passwd",
    "a/./b",
    "%2e%2e/etc/passwd",
    "%2E%2E%2Fetc%2Fpasswd",
    "a%2f..%2f..%2fx",
    "/etc/passwd",
    "a//b",
    "a\\..\\b",
    "a%5c..%5cb",
    "a%00b",
    "bad%zzenc",
  ];
  for (const raw of refused)
    it(`refuses ${JSON.stringify(raw)}`, () => assert.equal(safeFilePath(raw, root).ok, false));
});

describe("log filtering", () => {
  it("reads ISO 8601 and syslog timestamps", () => {
    assert.equal(lineTime("2024-05-01T10:00:00Z INFO x", 2024), Date.UTC(2024, 4, 1, 10));
    assert.equal(lineTime("[2024-05-01 10:00:00,500] x", 2024), Date.UTC(2024, 4, 1, 10, 0, 0, 500));
    assert.equal(lineTime("2024-05-01T12:00:00+02:00 x", 2024), Date.UTC(2024, 4, 1, 10));
    assert.equal(lineTime("May  1 10:00:00 host x", 2024), Date.UTC(2024, 4, 1, 10));
    assert.equal(lineTime("no time here", 2024), undefined);
  });
  const log = [
    "2024-05-01T09:00:00Z INFO early",
    "2024-05-01T10:00:00Z ERROR in range",
    "  at stack line",
    "2024-05-01T10:30:00Z INFO also in range",
    "2024-05-01T12:00:00Z ERROR late",
  ];
  const f = { year: 2024, from: Date.UTC(2024, 4, 1, 9, 30), to: Date.UTC(2024, 4, 1, 11) };
  it("keeps lines in the time range with their continuation lines", () =>
    assert.deepEqual(filterLines(log, f), [log[1], log[2], log[3]]));
  it("filters by search text (case-insensitive)", () =>
    assert.deepEqual(filterLines(log, { ...f, search: "error" }), [log[1]]));
  it("keeps the last N lines", () =>
    assert.deepEqual(filterLines(log, { year: 2024, lines: 2 }), [log[3], log[4]]));
  it("open range keeps everything", () => assert.deepEqual(filterLines(log, { year: 2024 }), log));
  it("dates: ISO, unix seconds, bad", () => {
    assert.equal(parseDate("2024-05-01T10:00:00Z", "d"), Date.UTC(2024, 4, 1, 10));
    assert.equal(parseDate(1714557600, "d"), Date.UTC(2024, 4, 1, 10));
    assert.equal(parseDate(undefined, "d"), undefined);
    assert.throws(() => parseDate("yesterday", "dateFrom"), /dateFrom/);
  });
  it("globs", () => {
    assert.ok(globRegExp("syslog*").test("syslog.1"));
    assert.ok(!globRegExp("syslog*").test("auth.log"));
    assert.ok(globRegExp("a?.log").test("ab.log"));
    assert.ok(!globRegExp("a.log").test("aXlog"));
  });
});

describe("declared config and log types", () => {
  it("parses type=path entries, relative to the config dir", () =>
    assert.deepEqual(
      parseTypeEntries(["mosquitto=/etc/mosquitto/mosquitto.conf", "x=rel.toml"], "/etc/ledge"),
      [
        { type: "mosquitto", path: "/etc/mosquitto/mosquitto.conf" },
        { type: "x", path: "/etc/ledge/rel.toml" },
      ],
    ));
  it("parses agent.toml tables", () => {
    const d = parseAgentToml(
      '[[config]]\ntype = "a"\npath = "/a"\n[[log]]\ntype = "syslog"\npath = "/var/log/syslog*"\n',
      "/c",
    );
    assert.deepEqual(d, {
      config: [{ type: "a", path: "/a" }],
      log: [{ type: "syslog", path: "/var/log/syslog*" }],
      errors: [],
    });
  });
  it("reports bad entries without failing", () => {
    const d = parseAgentToml('[[config]]\ntype = "a"\n', "/c");
    assert.equal(d.config.length, 0);
    assert.match(d.errors[0] ?? "", /needs string 'type' and 'path'/);
    assert.match(parseAgentToml("[[config", "/c").errors[0] ?? "", /agent.toml/);
  });
});

describe("journal log types", () => {
  it("journalctl argv for a unit and a time range", () =>
    assert.deepEqual(journalArgv("ledge", Date.UTC(2024, 4, 1, 10), Date.UTC(2024, 4, 1, 11, 0, 0, 500)), [
      "journalctl",
      "--no-pager",
      "-q",
      "-o",
      "short-iso",
      "-u",
      "ledge",
      "--since=@1714557600",
      "--until=@1714561201",
    ]));
  it("open range", () => assert.deepEqual(journalArgv("x").slice(-2), ["-u", "x"]));
  it("short-iso journal lines carry a timestamp the filter understands", () =>
    assert.equal(lineTime("2024-05-01T12:00:00+0200 host ledge[1]: hi", 2024), Date.UTC(2024, 4, 1, 10)));
});
