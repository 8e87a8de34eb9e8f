import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { c8yMapper, msg, pairs, run } from "../helpers/mappers-fixtures.ts";

const collectd = msg("te/device/main/service/collectd", {
  "@type": "service",
  type: "systemd",
  name: "collectd",
});
const child1 = msg("te/device/child1//", { "@type": "child-device", type: "RaspberryPi", name: "Child1" });

describe("c8y registration (101/102)", () => {
  it("child device → 101 on c8y/s/us (thin-edge docs)", () => {
    assert.deepEqual(run(c8yMapper(), [], child1), [
      ["c8y/s/us", "101,test-device:device:child1,Child1,RaspberryPi,false"],
    ]);
  });

  it("registering the same entity twice produces one 101", () => {
    const m = c8yMapper();
    assert.equal(run(m, [], child1).length, 1);
    assert.deepEqual(run(m, [], child1), []);
  });

  it("a changed registration is sent again", () => {
    const m = c8yMapper();
    run(m, [child1], child1);
    const renamed = msg("te/device/child1//", {
      "@type": "child-device",
      type: "RaspberryPi",
      name: "Child One",
    });
    assert.deepEqual(run(m, [], renamed), [
      ["c8y/s/us", "101,test-device:device:child1,Child One,RaspberryPi,false"],
    ]);
  });

  it("service → 102 with type, name and status up (thin-edge docs)", () => {
    assert.deepEqual(run(c8yMapper(), [], collectd), [
      ["c8y/s/us", "102,test-device:device:main:service:collectd,systemd,collectd,up"],
    ]);
  });

  it("a grandchild is registered under its parent's topic (nested children)", () => {
    const grandchild = msg("te/device/child11//", {
      "@type": "child-device",
      "@parent": "device/child1//",
      name: "Child11",
    });
    assert.deepEqual(run(c8yMapper(), [child1], grandchild), [
      [
        "c8y/s/us/test-device:device:child1",
        "101,test-device:device:child11,Child11,thin-edge.io-child,false",
      ],
    ]);
  });

  it("a grandchild seen before its parent waits for it, then both go parent first", () => {
    const m = c8yMapper();
    const grandchild = msg("te/device/child11//", {
      "@type": "child-device",
      "@parent": "device/child1//",
      name: "Child11",
    });
    assert.deepEqual(run(m, [], grandchild), []);
    assert.deepEqual(run(m, [], child1), [
      ["c8y/s/us", "101,test-device:device:child1,Child1,RaspberryPi,false"],
      [
        "c8y/s/us/test-device:device:child1",
        "101,test-device:device:child11,Child11,thin-edge.io-child,false",
      ],
    ]);
  });

  it("a waiting grandchild registered again waits once, with its latest registration", () => {
    const m = c8yMapper();
    const grandchild = (name: string) =>
      msg("te/device/child11//", { "@type": "child-device", "@parent": "device/child1//", name });
    assert.deepEqual(run(m, [grandchild("Old")], grandchild("New")), []);
    assert.deepEqual(run(m, [], child1), [
      ["c8y/s/us", "101,test-device:device:child1,Child1,RaspberryPi,false"],
      ["c8y/s/us/test-device:device:child1", "101,test-device:device:child11,New,thin-edge.io-child,false"],
    ]);
  });

  it("a waiting grandchild deregistered before its parent arrives does not come back with it", () => {
    const m = c8yMapper();
    const grandchild = msg("te/device/child11//", {
      "@type": "child-device",
      "@parent": "device/child1//",
      name: "Child11",
    });
    assert.deepEqual(run(m, [grandchild], msg("te/device/child11//", "")), []);
    assert.deepEqual(run(m, [], child1), [
      ["c8y/s/us", "101,test-device:device:child1,Child1,RaspberryPi,false"],
    ]);
    assert.equal(m.entities.get("device/child11//"), undefined);
  });

  it("a child's service → 102 on the child's topic", () => {
    const svc = msg("te/device/child1/service/app", { "@type": "service", name: "app" });
    assert.deepEqual(run(c8yMapper(), [child1], svc), [
      ["c8y/s/us/test-device:device:child1", "102,test-device:device:child1:service:app,service,app,up"],
    ]);
  });

  it("explicit registration outside the default scheme with @id", () => {
    const r = msg("te/factory/line1/press/2", {
      "@type": "child-device",
      "@id": "press-2",
      name: "Press 2",
      type: "press",
    });
    assert.deepEqual(run(c8yMapper(), [], r), [["c8y/s/us", "101,press-2,Press 2,press,false"]]);
  });

  it("auto-registration publishes the te/ registration (retained) before the 101", () => {
    const out = c8yMapper({ announce: true }).translate(msg("te/device/child2/service/app/m/", { a: 1 }));
    assert.deepEqual(pairs(out).slice(0, 4), [
      ["te/device/child2//", '{"@type":"child-device","@parent":"device/main//","name":"child2"}'],
      ["te/device/child2/service/app", '{"@type":"service","@parent":"device/child2//","name":"app"}'],
      ["c8y/s/us", "101,test-device:device:child2,child2,thin-edge.io-child,false"],
      ["c8y/s/us/test-device:device:child2", "102,test-device:device:child2:service:app,service,app,up"],
    ]);
    assert.equal(out[0]!.retain, true);
  });

  it("the announced registration coming back produces nothing more", () => {
    const m = c8yMapper({ announce: true });
    const out = m.translate(msg("te/device/child2///m/", { a: 1 }));
    const back = out.find((o) => o.topic === "te/device/child2//")!;
    assert.deepEqual(m.translate(msg(back.topic, String(back.payload), true)), []);
  });

  it("deregistration (empty payload) forgets the entity; new data registers it again", () => {
    const m = c8yMapper();
    run(m, [child1], msg("te/device/child1//", ""));
    const out = run(m, [], msg("te/device/child1///m/", { a: 1 }));
    assert.equal(out[0]![1], "101,test-device:device:child1,child1,thin-edge.io-child,false");
  });

  const bad: [string, string | object, RegExp][] = [
    ["an unknown @type", { "@type": "gadget" }, /'@type' must be one of/],
    ["a non-string name", { "@type": "child-device", name: 7 }, /'name' must be a string/],
    ["malformed JSON", "{", /invalid JSON/],
  ];
  for (const [name, payload, re] of bad)
    it(`${name} → te/errors`, () => {
      const out = run(c8yMapper(), [], msg("te/device/x//", payload));
      assert.equal(out[0]![0], "te/errors");
      assert.match(out[0]![1], re);
    });
});

describe("c8y health → service status", () => {
  const health = (s: string) => msg("te/device/main/service/collectd/status/health", { status: s, pid: 1 });
  it("down updates the service status with 102", () => {
    assert.deepEqual(run(c8yMapper(), [collectd], health("down")), [
      ["c8y/s/us", "102,test-device:device:main:service:collectd,systemd,collectd,down"],
    ]);
  });
  it("an unchanged status sends nothing", () => {
    const m = c8yMapper();
    run(m, [collectd], health("down"));
    assert.deepEqual(run(m, [], health("down")), []);
    assert.equal(run(m, [], health("up")).length, 1);
  });
  it("health of an unknown service registers it once with that status", () => {
    assert.deepEqual(
      run(c8yMapper(), [], msg("te/device/main/service/nodered/status/health", { status: "down" })),
      [["c8y/s/us", "102,test-device:device:main:service:nodered,service,nodered,down"]],
    );
  });
  it("a device's own health has no Cumulocity counterpart", () => {
    assert.deepEqual(run(c8yMapper(), [], msg("te/device/main///status/health", { status: "up" })), []);
  });
  const healthRows: [string, string, string][] = [
    ['{"status":""} → unknown', '{"status":""}', "unknown"],
    ["no status → unknown", '{"pid":1}', "unknown"],
    ["a non-string status → unknown", '{"status":1}', "unknown"],
    ["mosquitto bridge's plain 1 → up", "1", "up"],
    ["mosquitto bridge's plain 0 → down", "0", "down"],
    ["anything else → unknown", "up?", "unknown"],
  ];
  for (const [name, payload, status] of healthRows)
    it(`health ${name} (thin-edge)`, () => {
      const m = c8yMapper();
      // From a status no row has, so every row is a change.
      run(m, [collectd], msg("te/device/main/service/collectd/status/health", '{"status":"starting"}'));
      const out = run(m, [], msg("te/device/main/service/collectd/status/health", payload));
      assert.equal(out.length, 1);
      assert.match(out[0]![1], new RegExp(`^102,.*,${status}$`));
    });
});

describe("c8y twin → inventory update", () => {
  const rows: [string, string, string, [string, string][], ReturnType<typeof msg>[]?][] = [
    [
      "a string fragment (thin-edge docs)",
      "te/device/main///twin/foo",
      '"bar"',
      [["c8y/inventory/managedObjects/update/test-device", '{"foo":"bar"}']],
    ],
    [
      "an object fragment",
      "te/device/main///twin/hw",
      '{"rev":2}',
      [["c8y/inventory/managedObjects/update/test-device", '{"hw":{"rev":2}}']],
    ],
    [
      "an empty payload clears with null",
      "te/device/main///twin/foo",
      "",
      [["c8y/inventory/managedObjects/update/test-device", '{"foo":null}']],
    ],
    [
      "a child's twin updates the child",
      "te/device/child1///twin/foo",
      "1",
      [["c8y/inventory/managedObjects/update/test-device:device:child1", '{"foo":1}']],
      [child1],
    ],
    [
      "bad JSON → te/errors",
      "te/device/main///twin/foo",
      "bar",
      [
        [
          "te/errors",
          "te/device/main///twin/foo: invalid JSON: Unexpected token 'b', \"bar\" is not valid JSON",
        ],
      ],
    ],
  ];
  for (const [name, topic, payload, out, setup] of rows)
    it(name, () => {
      const got = run(c8yMapper(), setup ?? [], msg(topic, payload));
      if (out[0]![0] === "te/errors")
        assert.match(got[0]![1], /^te\/device\/main\/\/\/twin\/foo: invalid JSON/);
      else assert.deepEqual(got, out);
    });
});
