import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ListedModule, softwareListRecords } from "../../src/mappers/c8y/software-list.ts";
import { c8yMapper, msg, NOW, pairs, run } from "../helpers/mappers-fixtures.ts";

const OPS = "c8y/devicecontrol/notifications";
const child1 = msg("te/device/child1//", { "@type": "child-device", name: "Child1" });
const cap = (op: string, payload: object = {}, entity = "device/main//") =>
  msg(`te/${entity}/cmd/${op}`, payload, true);
const LIST_CMD = "te/device/main///cmd/software_list/c8y-mapper-software-list";

describe("software_list → 140/141 (thin-edge's advanced software list)", () => {
  const mod = (name: string, version = "", type = "debian", url = ""): ListedModule => ({
    name,
    version,
    type,
    url,
  });
  const rows: [string, ListedModule[], number, number, string[]][] = [
    ["an empty list → 140,,,, (clears the cloud's list)", [], 100, 16000, ["140,,,,"]],
    [
      "name, version, type, url per module",
      [mod("nodered", "1.0.0"), mod("app", "", "apama", "https://x/app.epl")],
      100,
      16000,
      ["140,nodered,1.0.0,debian,,app,,apama,https://x/app.epl"],
    ],
    [
      "split by count: 140 first, then 141 (thin-edge's chunking)",
      [mod("a"), mod("b", "1.0"), mod("c", "", "debian", "https://foobar.io/c.deb"), mod("m", "", "apama")],
      2,
      16000,
      ["140,a,,debian,,b,1.0,debian,", "141,c,,debian,https://foobar.io/c.deb,m,,apama,"],
    ],
    [
      "split by bytes before a message would exceed the limit",
      [mod("aaaa", "1"), mod("bbbb", "2"), mod("cccc", "3")],
      100,
      40,
      ["140,aaaa,1,debian,,bbbb,2,debian,", "141,cccc,3,debian,"],
    ],
    [
      "fields with commas or quotes are quoted",
      [mod("lib,x", 'v"1')],
      100,
      16000,
      ['140,"lib,x","v""1",debian,'],
    ],
  ];
  for (const [name, modules, per, bytes, want] of rows)
    it(name, () => assert.deepEqual(softwareListRecords(modules, per, bytes), want));

  it("250 modules → 3 messages of at most 100, each under 16 KB", () => {
    const many = Array.from({ length: 250 }, (_, i) => mod(`pkg${i}`, `${i}.0`));
    const out = softwareListRecords(many);
    assert.deepEqual(
      out.map((r) => r.slice(0, 4)),
      ["140,", "141,", "141,"],
    );
    assert.deepEqual(
      out.map((r) => (r.split(",").length - 1) / 4),
      [100, 100, 50],
    );
    assert.ok(out.every((r) => Buffer.byteLength(r) < 16_000));
  });
});

describe("the mapper asks for and reports software lists", () => {
  const listTopic = (n: number, entity = "device/main//") =>
    `te/${entity}/cmd/software_list/c8y-mapper-software-list-${NOW}-${n}`;

  it("a software_list capability → 114 unchanged, c8y_SupportedSoftwareTypes, and a software_list command", () => {
    const out = c8yMapper().translate(cap("software_list", { types: ["apt"] }));
    assert.deepEqual(pairs(out), [
      ["c8y/inventory/managedObjects/update/test-device", '{"c8y_SupportedSoftwareTypes":["apt"]}'],
      [listTopic(1), '{"status":"init"}'],
    ]);
    assert.ok(out[1]!.retain);
  });

  it("the same capability again asks no second time", () => {
    assert.deepEqual(run(c8yMapper(), [cap("software_list", { types: ["apt"] })], cap("software_list")), []);
  });

  it("a child's capability → a command to the child", () => {
    assert.deepEqual(run(c8yMapper(), [child1], cap("software_list", {}, "device/child1//")), [
      [listTopic(1, "device/child1//"), '{"status":"init"}'],
    ]);
  });

  const status: [string, object, [string, string][]][] = [
    ["executing → nothing (no Cumulocity operation)", { status: "executing" }, []],
    [
      "successful → 140 on c8y/s/us, then the command is cleared",
      {
        status: "successful",
        currentSoftwareList: [
          { type: "apt", modules: [{ name: "jq", version: "1.6" }] },
          { type: "", modules: [{ name: "x" }] },
        ],
      },
      [
        ["c8y/s/us", "140,jq,1.6,apt,,x,,default,"],
        [LIST_CMD, ""],
      ],
    ],
    [
      "successful without currentSoftwareList → te/errors, cleared",
      { status: "successful" },
      [
        ["te/errors", `${LIST_CMD}: a successful software_list needs 'currentSoftwareList'`],
        [LIST_CMD, ""],
      ],
    ],
    [
      "a module without name → te/errors, cleared",
      { status: "successful", currentSoftwareList: [{ type: "apt", modules: [{ version: "1" }] }] },
      [
        ["te/errors", `${LIST_CMD}: each 'apt' module needs a string 'name'`],
        [LIST_CMD, ""],
      ],
    ],
    [
      "failed → te/errors with the reason, cleared",
      { status: "failed", reason: "apt list: exit 1" },
      [
        ["te/errors", `${LIST_CMD}: software_list failed: apt list: exit 1`],
        [LIST_CMD, ""],
      ],
    ],
  ];
  for (const [name, payload, want] of status)
    it(name, () => assert.deepEqual(run(c8yMapper(), [], msg(LIST_CMD, payload, true)), want));

  it("a child's list goes on its SmartREST topic", () => {
    const t = "te/device/child1///cmd/software_list/c8y-mapper-software-list-1";
    assert.deepEqual(
      run(
        c8yMapper(),
        [child1],
        msg(t, { status: "successful", currentSoftwareList: [{ type: "apt", modules: [] }] }),
      ),
      [
        ["c8y/s/us/test-device:device:child1", "140,,,,"],
        [t, ""],
      ],
    );
  });

  it("a software_list command not issued by the mapper is left alone", () => {
    assert.deepEqual(
      run(
        c8yMapper(),
        [],
        msg("te/device/main///cmd/software_list/local-1", { status: "successful", currentSoftwareList: [] }),
      ),
      [],
    );
  });

  it("a successful c8y software update → 506, cleared, then a fresh software_list command", () => {
    const cmd = "te/device/main///cmd/software_update/c8y-mapper-99";
    const m = c8yMapper();
    m.translate(cap("software_list", { types: ["apt"] }));
    assert.deepEqual(run(m, [], msg(cmd, { status: "successful" }, true)), [
      ["c8y/s/us", "506,99"],
      [cmd, ""],
      [listTopic(2), '{"status":"init"}'],
    ]);
  });

  it("a failed update, or an entity without the capability, asks for no list", () => {
    const cmd = "te/device/main///cmd/software_update/c8y-mapper-99";
    const m = c8yMapper();
    m.translate(cap("software_list"));
    assert.deepEqual(run(m, [], msg(cmd, { status: "failed", reason: "x" }, true)), [
      ["c8y/s/us", "505,99,x"],
      [cmd, ""],
    ]);
    assert.deepEqual(run(c8yMapper(), [], msg(cmd, { status: "successful" }, true)), [
      ["c8y/s/us", "506,99"],
      [cmd, ""],
    ]);
  });
});

describe("c8y_Firmware / 515 → firmware_update (thin-edge's payload: remoteUrl, tedgeUrl, no checksum)", () => {
  const rows: [string, string, string | object, [string, string][], ReturnType<typeof msg>[]?][] = [
    [
      "c8y_Firmware → firmware_update with name, version, remoteUrl (tedgeUrl the same for a non-tenant URL)",
      OPS,
      {
        id: "501",
        c8y_Firmware: { name: "ledge", version: "1.2.0", url: "https://c8y/inventory/binaries/7" },
      },
      [
        [
          "te/device/main///cmd/firmware_update/c8y-mapper-501",
          '{"status":"init","tedgeUrl":"https://c8y/inventory/binaries/7","remoteUrl":"https://c8y/inventory/binaries/7","name":"ledge","version":"1.2.0"}',
        ],
      ],
    ],
    [
      "a sha256 in the operation is passed on (ledge's optional check)",
      OPS,
      { id: 502, c8y_Firmware: { name: "fw", version: "2", url: "http://x/fw", sha256: "ab".repeat(32) } },
      [
        [
          "te/device/main///cmd/firmware_update/c8y-mapper-502",
          `{"status":"init","tedgeUrl":"http://x/fw","remoteUrl":"http://x/fw","name":"fw","version":"2","sha256":"${"ab".repeat(32)}"}`,
        ],
      ],
    ],
    [
      "a child's firmware operation → the child's command topic",
      OPS,
      {
        id: "503",
        externalSource: { externalId: "test-device:device:child1" },
        c8y_Firmware: { name: "fw", version: "3", url: "http://x/fw" },
      },
      [
        [
          "te/device/child1///cmd/firmware_update/c8y-mapper-503",
          '{"status":"init","tedgeUrl":"http://x/fw","remoteUrl":"http://x/fw","name":"fw","version":"3"}',
        ],
      ],
      [child1, cap("firmware_update", {}, "device/child1//")],
    ],
    [
      "SmartREST 515,<xid>,<name>,<version>,<url>",
      "c8y/s/ds",
      "515,test-device,ledge,1.2.0,http://x/ledge",
      [
        [
          `te/device/main///cmd/firmware_update/c8y-mapper-sr-${NOW}`,
          '{"status":"init","tedgeUrl":"http://x/ledge","remoteUrl":"http://x/ledge","name":"ledge","version":"1.2.0"}',
        ],
      ],
    ],
    [
      "c8y_Firmware without url → failed (504, 505) and te/errors",
      OPS,
      { id: "504", c8y_Firmware: { name: "fw", version: "1" } },
      [
        ["c8y/s/us", "504,504"],
        ["c8y/s/us", "505,504,c8y_Firmware needs a string 'url'"],
        ["te/errors", "c8y/devicecontrol/notifications: operation 504: c8y_Firmware needs a string 'url'"],
      ],
    ],
    [
      "515 with too few fields → 501, 502 and te/errors",
      "c8y/s/ds",
      "515,test-device,fw",
      [
        ["c8y/s/us", "501,c8y_Firmware"],
        ["c8y/s/us", '502,c8y_Firmware,"515 needs name,version,url"'],
        ["te/errors", "c8y/s/ds: 515: 515 needs name,version,url"],
      ],
    ],
  ];
  for (const [name, topic, payload, want, setup] of rows)
    it(name, () =>
      assert.deepEqual(
        run(c8yMapper(), [cap("firmware_update"), ...(setup ?? [])], msg(topic, payload)),
        want,
      ),
    );
});

describe("firmware_update status → 504/506/505 and twin/firmware (thin-edge's round trip)", () => {
  const cmd = "te/device/main///cmd/firmware_update/c8y-mapper-501";
  const base = { name: "ledge", version: "1.2.0", remoteUrl: "https://c8y/inventory/binaries/7" };
  const twin: [string, string] = [
    "te/device/main///twin/firmware",
    '{"name":"ledge","version":"1.2.0","url":"https://c8y/inventory/binaries/7"}',
  ];
  const rows: [string, object, [string, string][]][] = [
    ["executing → 504", { ...base, status: "executing" }, [["c8y/s/us", "504,501"]]],
    [
      "successful → 506, the retained te/<entity>/twin/firmware, cleared",
      { ...base, status: "successful" },
      [["c8y/s/us", "506,501"], twin, [cmd, ""]],
    ],
    [
      "failed → 505 with the agent's reason, no twin",
      { ...base, status: "failed", reason: "checksum mismatch" },
      [
        ["c8y/s/us", "505,501,checksum mismatch"],
        [cmd, ""],
      ],
    ],
  ];
  for (const [name, payload, want] of rows)
    it(name, () => assert.deepEqual(run(c8yMapper(), [], msg(cmd, payload, true)), want));

  it("the twin is retained, and twin/firmware → the c8y_Firmware inventory fragment", () => {
    const m = c8yMapper();
    const out = m.translate(msg(cmd, { ...base, status: "successful" }, true));
    assert.equal(out[1]!.retain, true);
    assert.deepEqual(run(m, [], msg(twin[0], twin[1], true)), [
      [
        "c8y/inventory/managedObjects/update/test-device",
        '{"c8y_Firmware":{"name":"ledge","version":"1.2.0","url":"https://c8y/inventory/binaries/7"}}',
      ],
    ]);
  });

  it("the inventory is updated only when a twin value changed (thin-edge)", () => {
    const m = c8yMapper();
    const t = msg("te/device/main///twin/firmware", { name: "fw", version: "1", url: "u" }, true);
    assert.equal(run(m, [], t).length, 1);
    assert.deepEqual(run(m, [], t), []);
    assert.equal(
      run(m, [], msg("te/device/main///twin/firmware", { name: "fw", version: "2", url: "u" }, true)).length,
      1,
    );
  });

  it("twin/agent → the c8y_Agent fragment (thin-edge)", () => {
    assert.deepEqual(
      run(c8yMapper(), [], msg("te/device/main///twin/agent", { name: "ledge", version: "1" }, true)),
      [["c8y/inventory/managedObjects/update/test-device", '{"c8y_Agent":{"name":"ledge","version":"1"}}']],
    );
  });

  it("a 515 firmware update reports by name: 501/503,c8y_Firmware", () => {
    const t = `te/device/main///cmd/firmware_update/c8y-mapper-sr-${NOW}`;
    const m = c8yMapper();
    assert.deepEqual(run(m, [], msg(t, { ...base, status: "executing" }, true)), [
      ["c8y/s/us", "501,c8y_Firmware"],
    ]);
    assert.deepEqual(run(m, [], msg(t, { ...base, status: "successful" }, true)), [
      ["c8y/s/us", "503,c8y_Firmware"],
      twin,
      [t, ""],
    ]);
  });

  it("the firmware_update capability → 114,c8y_Firmware", () => {
    assert.deepEqual(run(c8yMapper(), [], cap("firmware_update")), [["c8y/s/us", "114,c8y_Firmware"]]);
  });
});
