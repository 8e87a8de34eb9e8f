import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { c8yMapper, msg, NOW, pairs, run } from "../helpers/mappers-fixtures.ts";

const OPS = "c8y/devicecontrol/notifications";
const child1 = msg("te/device/child1//", { "@type": "child-device", name: "Child1" });
const ALL_OPS = [
  "restart",
  "software_update",
  "config_snapshot",
  "config_update",
  "log_upload",
  "firmware_update",
];
/** The capabilities an agent announces (retained), so the mapper knows the entity supports them. */
const caps = (entity = "device/main//") => ALL_OPS.map((op) => msg(`te/${entity}/cmd/${op}`, {}, true));
/** A mapper that has seen the capabilities of the main device and of child1. */
function ready(opts: Parameters<typeof c8yMapper>[0] = {}) {
  const m = c8yMapper(opts);
  for (const s of [...caps(), child1, ...caps("device/child1//")]) m.translate(s);
  return m;
}
const PROXY = { base: "http://127.0.0.1:8001", tenantHosts: ["t1.cumulocity.com"] };

const rows: [string, object, [string, string][], ReturnType<typeof msg>[]?][] = [
  [
    "c8y_SoftwareUpdate → software_update command with the plugin type split off the version (thin-edge docs)",
    {
      id: "123456",
      c8y_SoftwareUpdate: [{ name: "nodered", action: "install", version: "1.0.0::debian", url: "" }],
    },
    [
      [
        "te/device/main///cmd/software_update/c8y-mapper-123456",
        '{"status":"init","updateList":[{"type":"debian","modules":[{"name":"nodered","version":"1.0.0","action":"install"}]}]}',
      ],
    ],
  ],
  [
    "modules are grouped by type; delete → remove; no type → default; a url is kept",
    {
      id: "7",
      c8y_SoftwareUpdate: [
        { name: "a", action: "install", version: "1::apt", url: "" },
        { name: "b", action: "delete", version: "::apt", url: "" },
        { name: "c", action: "install", version: "2.0", url: "http://x/c.tgz" },
      ],
    },
    [
      [
        "te/device/main///cmd/software_update/c8y-mapper-7",
        '{"status":"init","updateList":[{"type":"apt","modules":[{"name":"a","version":"1","action":"install"},{"name":"b","action":"remove"}]},{"type":"default","modules":[{"name":"c","version":"2.0","url":"http://x/c.tgz","action":"install"}]}]}',
      ],
    ],
  ],
  [
    "c8y_Restart → restart",
    { id: "42", c8y_Restart: {} },
    [["te/device/main///cmd/restart/c8y-mapper-42", '{"status":"init"}']],
  ],
  [
    "an operation for a child (externalSource) → the child's command topic",
    {
      id: "43",
      externalSource: { externalId: "test-device:device:child1", type: "c8y_Serial" },
      c8y_Restart: {},
    },
    [["te/device/child1///cmd/restart/c8y-mapper-43", '{"status":"init"}']],
    [child1],
  ],
  [
    "c8y_UploadConfigFile → config_snapshot with the file transfer URL",
    { id: "44", c8y_UploadConfigFile: { type: "mosquitto" } },
    [
      [
        "te/device/main///cmd/config_snapshot/c8y-mapper-44",
        '{"status":"init","tedgeUrl":"http://127.0.0.1:8000/te/v1/files/test-device/config_snapshot/mosquitto-c8y-mapper-44","type":"mosquitto"}',
      ],
    ],
  ],
  [
    "c8y_DownloadConfigFile → config_update with remoteUrl and serverUrl, no tedgeUrl (thin-edge); a non-tenant URL is left as it is",
    { id: "45", c8y_DownloadConfigFile: { type: "app.conf", url: "https://c8y/inventory/binaries/9" } },
    [
      [
        "te/device/main///cmd/config_update/c8y-mapper-45",
        '{"status":"init","remoteUrl":"https://c8y/inventory/binaries/9","serverUrl":"https://c8y/inventory/binaries/9","type":"app.conf"}',
      ],
    ],
  ],
  [
    "c8y_LogfileRequest → log_upload",
    {
      id: "46",
      c8y_LogfileRequest: {
        logFile: "syslog",
        dateFrom: "2024-01-01T00:00:00Z",
        dateTo: "2024-01-02T00:00:00Z",
        searchText: "err",
        maximumLines: 100,
      },
    },
    [
      [
        "te/device/main///cmd/log_upload/c8y-mapper-46",
        '{"status":"init","tedgeUrl":"http://127.0.0.1:8000/te/v1/files/test-device/log_upload/syslog-c8y-mapper-46","type":"syslog","dateFrom":"2024-01-01T00:00:00Z","dateTo":"2024-01-02T00:00:00Z","searchText":"err","lines":100}',
      ],
    ],
  ],
];

describe("c8y operations → te/ commands", () => {
  for (const [name, op, out, setup] of rows)
    it(name, () => {
      const m = ready();
      for (const s of setup ?? []) m.translate(s);
      const got = m.translate(msg(OPS, op));
      assert.deepEqual(pairs(got), out);
      assert.ok(got.every((g) => g.retain === true && g.qos === 1));
    });

  const proxied: [string, object, string][] = [
    [
      "c8y_DownloadConfigFile from the tenant → remoteUrl is the local proxy, serverUrl the original (thin-edge)",
      {
        id: "50",
        c8y_DownloadConfigFile: {
          type: "app.conf",
          url: "https://t1.cumulocity.com/inventory/binaries/88395",
        },
      },
      '{"status":"init","remoteUrl":"http://127.0.0.1:8001/c8y/inventory/binaries/88395","serverUrl":"https://t1.cumulocity.com/inventory/binaries/88395","type":"app.conf"}',
    ],
    [
      "a software module hosted by the tenant → its url is the local proxy (thin-edge)",
      {
        id: "51",
        c8y_SoftwareUpdate: [
          {
            name: "app",
            action: "install",
            version: "1::apt",
            url: "https://t1.cumulocity.com/inventory/binaries/7?x=1",
          },
        ],
      },
      '{"status":"init","updateList":[{"type":"apt","modules":[{"name":"app","version":"1","url":"http://127.0.0.1:8001/c8y/inventory/binaries/7?x=1","action":"install"}]}]}',
    ],
    [
      "c8y_Firmware from another tenant host of the same domain → tedgeUrl is the proxy, remoteUrl the original (thin-edge)",
      {
        id: "52",
        c8y_Firmware: { name: "fw", version: "2", url: "https://other.cumulocity.com/inventory/binaries/5" },
      },
      '{"status":"init","tedgeUrl":"http://127.0.0.1:8001/c8y/inventory/binaries/5","remoteUrl":"https://other.cumulocity.com/inventory/binaries/5","name":"fw","version":"2"}',
    ],
  ];
  for (const [name, op, payload] of proxied)
    it(name, () => {
      const got = pairs(ready({ proxy: PROXY }).translate(msg(OPS, op)));
      assert.equal(got.length, 1);
      assert.equal(got[0]![1], payload);
    });

  it("c8y_LogfileRequest dates with Cumulocity's +0100 offsets → RFC 3339 +01:00 (thin-edge)", () => {
    const out = pairs(
      ready().translate(
        msg(OPS, {
          id: "47",
          c8y_LogfileRequest: {
            logFile: "syslog",
            dateFrom: "2024-01-01T00:00:00+0100",
            dateTo: "2024-01-02T00:00:00-0530",
          },
        }),
      ),
    );
    const p = JSON.parse(out[0]![1]);
    assert.equal(p.dateFrom, "2024-01-01T00:00:00+01:00");
    assert.equal(p.dateTo, "2024-01-02T00:00:00-05:30");
  });

  it("an operation delivered again (after a 500, or to a restarted mapper) is taken once (thin-edge)", () => {
    const m = ready();
    const op = msg(OPS, { id: "70", c8y_Restart: {} });
    assert.equal(run(m, [], op).length, 1);
    assert.deepEqual(run(m, [], op), []);
    // Still ignored once it is over (cleared), and so is one another mapper instance created.
    run(m, [], msg("te/device/main///cmd/restart/c8y-mapper-70", "", true));
    assert.deepEqual(run(m, [], op), []);
    run(m, [], msg("te/device/main///cmd/restart/c8y-mapper-71", { status: "executing" }, true));
    assert.deepEqual(run(m, [], msg(OPS, { id: "71", c8y_Restart: {} })), []);
    // Positive control: a new id still becomes a command.
    assert.equal(
      run(m, [], msg(OPS, { id: "72", c8y_Restart: {} }))[0]![0],
      "te/device/main///cmd/restart/c8y-mapper-72",
    );
  });

  it("an operation the entity did not announce is failed with a reason, not left pending", () => {
    const m = c8yMapper();
    m.translate(msg("te/device/main///cmd/restart", {}, true));
    assert.deepEqual(run(m, [], msg(OPS, { id: "60", c8y_SoftwareUpdate: [] })), [
      ["c8y/s/us", "504,60"],
      ["c8y/s/us", "505,60,'test-device' does not support c8y_SoftwareUpdate"],
      [
        "te/errors",
        "c8y/devicecontrol/notifications: operation 60: 'test-device' does not support c8y_SoftwareUpdate",
      ],
    ]);
  });

  it("a SmartREST message with several lines keeps its good lines when one is bad (thin-edge)", () => {
    const out = run(
      ready(),
      [],
      msg("c8y/s/ds", "510,test-device\n528,test-device,nodered\n510,test-device"),
    );
    assert.deepEqual(
      out.map(([t, p]) => (t.startsWith("te/errors") ? "te/errors" : `${t} ${p}`)),
      [
        `te/device/main///cmd/restart/c8y-mapper-sr-${NOW} {"status":"init"}`,
        "c8y/s/us 501,c8y_SoftwareUpdate",
        'c8y/s/us 502,c8y_SoftwareUpdate,"528 needs name,version,url,action groups of four fields"',
        "te/errors",
        `te/device/main///cmd/restart/c8y-mapper-sr-${NOW}-3 {"status":"init"}`,
      ],
    );
  });

  it("SmartREST 510,<xid> → restart, status reported by operation name", () => {
    const m = c8yMapper();
    const out = pairs(m.translate(msg("c8y/s/ds", "510,test-device")));
    const topic = `te/device/main///cmd/restart/c8y-mapper-sr-${NOW}`;
    assert.deepEqual(out, [[topic, '{"status":"init"}']]);
    assert.deepEqual(run(m, [], msg(topic, { status: "executing" }, true)), [
      ["c8y/s/us", "501,c8y_Restart"],
    ]);
    assert.deepEqual(run(m, [], msg(topic, { status: "successful" }, true)), [
      ["c8y/s/us", "503,c8y_Restart"],
      [topic, ""],
    ]);
  });

  it("SmartREST operations in two messages of the same millisecond get distinct command ids", () => {
    const m = c8yMapper();
    const a = pairs(m.translate(msg("c8y/s/ds", "510,test-device")));
    const b = pairs(m.translate(msg("c8y/s/ds", "510,test-device\n510,test-device")));
    assert.deepEqual(
      [...a, ...b].map(([t]) => t),
      ["", "-2", "-3"].map((n) => `te/device/main///cmd/restart/c8y-mapper-sr-${NOW}${n}`),
    );
  });

  it("SmartREST 528 → software_update, status reported as c8y_SoftwareUpdate", () => {
    const m = c8yMapper();
    const out = pairs(
      m.translate(msg("c8y/s/ds", "528,test-device,nodered,1.0.0::debian,,install,jq,::apt,,delete")),
    );
    const topic = `te/device/main///cmd/software_update/c8y-mapper-sr-${NOW}`;
    assert.deepEqual(out, [
      [
        topic,
        '{"status":"init","updateList":[{"type":"debian","modules":[{"name":"nodered","version":"1.0.0","action":"install"}]},{"type":"apt","modules":[{"name":"jq","action":"remove"}]}]}',
      ],
    ]);
    assert.deepEqual(run(m, [], msg(topic, { status: "failed", reason: "no network" }, true)), [
      ["c8y/s/us", "502,c8y_SoftwareUpdate,no network"],
      [topic, ""],
    ]);
  });

  it("SmartREST 528 with a partial module group → 501 + 502 with the reason, and te/errors", () => {
    const out = run(c8yMapper(), [], msg("c8y/s/ds", "528,test-device,nodered,1.0"));
    assert.deepEqual(out[0], ["c8y/s/us", "501,c8y_SoftwareUpdate"]);
    assert.match(out[1]![1], /^502,c8y_SoftwareUpdate,.*groups of four/);
    assert.equal(out[2]![0], "te/errors");
  });

  it("other SmartREST templates are left to the JSON operations", () => {
    assert.deepEqual(run(c8yMapper(), [], msg("c8y/s/ds", "511,test-device,ls")), []);
  });

  const bad: [string, string | object, RegExp][] = [
    ["malformed JSON", "{oops", /invalid JSON/],
    ["no id", { c8y_Restart: {} }, /needs an 'id'/],
  ];
  for (const [name, payload, re] of bad)
    it(`${name} → te/errors (no id to fail it by)`, () => {
      const out = run(ready(), [], msg(OPS, payload));
      assert.equal(out.length, 1);
      assert.equal(out[0]![0], "te/errors");
      assert.match(out[0]![1], re);
    });

  const failedOps: [string, object, RegExp][] = [
    [
      "an unknown device",
      { id: "1", externalSource: { externalId: "nope" }, c8y_Restart: {} },
      /unknown device 'nope'/,
    ],
    ["an unknown operation", { id: "1", c8y_Teleport: {} }, /no handler for c8y_Teleport/],
    [
      "a software module without name",
      { id: "1", c8y_SoftwareUpdate: [{ action: "install" }] },
      /needs a string 'name'/,
    ],
    [
      "a bad action",
      { id: "1", c8y_SoftwareUpdate: [{ name: "x", action: "upgrade" }] },
      /action must be install or delete/,
    ],
  ];
  for (const [name, payload, re] of failedOps)
    it(`${name} → failed in Cumulocity (504, 505 with the reason) instead of left pending, and te/errors`, () => {
      const out = run(ready(), [], msg(OPS, payload));
      assert.deepEqual(out[0], ["c8y/s/us", "504,1"]);
      assert.match(out[1]![1], /^505,1,/);
      assert.match(out[1]![1], re);
      assert.equal(out[2]![0], "te/errors");
      assert.equal(out.length, 3);
    });
});

describe("c8y command status → 504/506/505", () => {
  const cmd = "te/device/main///cmd/software_update/c8y-mapper-123456";
  const st = (o: object) => msg(cmd, o, true);

  it("executing → 504,<op-id> (thin-edge docs)", () => {
    assert.deepEqual(run(c8yMapper(), [st({ status: "init" })], st({ status: "executing" })), [
      ["c8y/s/us", "504,123456"],
    ]);
  });
  it("successful → 506,<op-id> (thin-edge docs) and the command is cleared", () => {
    const out = c8yMapper().translate(st({ status: "successful" }));
    assert.deepEqual(pairs(out), [
      ["c8y/s/us", "506,123456"],
      [cmd, ""],
    ]);
    assert.equal(out[1]!.retain, true);
  });
  it("failed → 505,<op-id>,<reason> (thin-edge docs), quoted when needed, and cleared", () => {
    assert.deepEqual(run(c8yMapper(), [], st({ status: "failed", reason: "apt: exit 100, disk full" })), [
      ["c8y/s/us", '505,123456,"apt: exit 100, disk full"'],
      [cmd, ""],
    ]);
  });
  it("the same status twice is reported once", () => {
    assert.deepEqual(run(c8yMapper(), [st({ status: "executing" })], st({ status: "executing" })), []);
  });
  it("a child's status goes on its SmartREST topic", () => {
    const c = "te/device/child1///cmd/restart/c8y-mapper-9";
    assert.deepEqual(run(c8yMapper(), [child1], msg(c, { status: "executing" })), [
      ["c8y/s/us/test-device:device:child1", "504,9"],
    ]);
  });
  it("use_operation_id: a c8y-mapper-<id> command this mapper never saw (another instance, a replayed retained command) → 504/506 by id", () => {
    const c = "te/device/main///cmd/restart/c8y-mapper-777";
    const m = c8yMapper();
    assert.deepEqual(run(m, [], msg(c, { status: "executing" }, true)), [["c8y/s/us", "504,777"]]);
    assert.deepEqual(run(m, [], msg(c, { status: "successful" }, true)), [
      ["c8y/s/us", "506,777"],
      [c, ""],
    ]);
  });
  it("use_operation_id off → 501/502 by operation name (thin-edge's c8y.smartrest.use_operation_id = false)", () => {
    const c = "te/device/main///cmd/restart/c8y-mapper-778";
    const m = c8yMapper({ useOperationId: false });
    assert.deepEqual(run(m, [], msg(c, { status: "executing" }, true)), [["c8y/s/us", "501,c8y_Restart"]]);
    assert.deepEqual(run(m, [], msg(c, { status: "failed", reason: "x" }, true)), [
      ["c8y/s/us", "502,c8y_Restart,x"],
      [c, ""],
    ]);
  });
  it("a failure reason is cut to 500 bytes (thin-edge)", () => {
    const out = run(c8yMapper(), [], st({ status: "failed", reason: "r".repeat(600) }));
    assert.equal(out[0]![1], `505,123456,${"r".repeat(500)}`);
  });
  it("a successful log_upload without the HTTP side configured is failed with that reason, not reported successful", () => {
    const c = "te/device/main///cmd/log_upload/c8y-mapper-5";
    const out = run(
      c8yMapper(),
      [],
      msg(c, { status: "successful", type: "syslog", tedgeUrl: "http://x/f" }, true),
    );
    assert.deepEqual(out, [
      ["c8y/s/us", "505,5,cannot upload: the Cumulocity HTTP side is not configured (c8y.url)"],
      [c, ""],
    ]);
  });
  it("commands not created by the mapper are left alone", () => {
    assert.deepEqual(
      run(c8yMapper(), [], msg("te/device/main///cmd/restart/local-1", { status: "successful" })),
      [],
    );
  });
  it("the clearing echo is ignored", () => {
    assert.deepEqual(run(c8yMapper(), [], msg(cmd, "")), []);
  });
  it("a status without 'status' → te/errors", () => {
    assert.match(run(c8yMapper(), [], st({ state: "x" }))[0]![1], /needs a string 'status'/);
  });
});
