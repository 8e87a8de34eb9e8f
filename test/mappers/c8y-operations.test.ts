import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { c8yMapper, msg, NOW, pairs, run } from "../helpers/mappers-fixtures.ts";

const OPS = "c8y/devicecontrol/notifications";
const child1 = msg("te/device/child1//", { "@type": "child-device", name: "Child1" });

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
    "c8y_DownloadConfigFile → config_update with the remote URL",
    { id: "45", c8y_DownloadConfigFile: { type: "app.conf", url: "https://c8y/inventory/binaries/9" } },
    [
      [
        "te/device/main///cmd/config_update/c8y-mapper-45",
        '{"status":"init","tedgeUrl":"http://127.0.0.1:8000/te/v1/files/test-device/config_update/app.conf-c8y-mapper-45","remoteUrl":"https://c8y/inventory/binaries/9","type":"app.conf"}',
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
      const m = c8yMapper();
      for (const s of setup ?? []) m.translate(s);
      const got = m.translate(msg(OPS, op));
      assert.deepEqual(pairs(got), out);
      assert.ok(got.every((g) => g.retain === true && g.qos === 1));
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

  it("SmartREST 528 with a partial module group → te/errors", () => {
    assert.match(
      run(c8yMapper(), [], msg("c8y/s/ds", "528,test-device,nodered,1.0"))[0]![1],
      /groups of four/,
    );
  });

  it("other SmartREST templates are left to the JSON operations", () => {
    assert.deepEqual(run(c8yMapper(), [], msg("c8y/s/ds", "511,test-device,ls")), []);
  });

  const bad: [string, string | object, RegExp][] = [
    ["malformed JSON", "{oops", /invalid JSON/],
    ["no id", { c8y_Restart: {} }, /needs an 'id'/],
    [
      "an unknown device",
      { id: "1", externalSource: { externalId: "nope" }, c8y_Restart: {} },
      /unknown device 'nope'/,
    ],
    ["no supported fragment", { id: "1", c8y_Teleport: {} }, /no supported fragment/],
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
  for (const [name, payload, re] of bad)
    it(`${name} → te/errors`, () => {
      const out = run(c8yMapper(), [], msg(OPS, payload));
      assert.equal(out.length, 1);
      assert.equal(out[0]![0], "te/errors");
      assert.match(out[0]![1], re);
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
