import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { autoRegistrations, EntityTree, externalIdOf, parentOf } from "../../src/api/entity-tree.ts";
import type { Registration } from "../../src/api/payloads.ts";
import { EntityCache } from "../../src/mappers/common/entities.ts";

type Reg = [topicId: string, registration: Registration];

/**
 * One table for the entity tree that the api store, the mappers' cache and the agent's HTTP view
 * share: each row names the thin-edge rule it pins.
 */
describe("entity tree (thin-edge entity store rules)", () => {
  const parents: [string, string, Registration, string | undefined][] = [
    [
      "a child device without @parent belongs to the main device",
      "device/c//",
      { "@type": "child-device" },
      "device/main//",
    ],
    [
      "a service without @parent belongs to the device of its topic",
      "device/c/service/s",
      { "@type": "service" },
      "device/c//",
    ],
    [
      "a service outside the default scheme belongs to the main device",
      "plant/a/b/c",
      { "@type": "service" },
      "device/main//",
    ],
    [
      "a child device on a service-shaped topic still belongs to the main device",
      "device/c/service/s",
      { "@type": "child-device" },
      "device/main//",
    ],
    [
      "@parent wins over the topic",
      "device/c/service/s",
      { "@type": "service", "@parent": "device/x//" },
      "device/x//",
    ],
    ["the main device has no parent", "device/main//", { "@type": "device" }, undefined],
  ];
  for (const [rule, topicId, reg, parent] of parents)
    it(rule, () => {
      assert.equal(parentOf(topicId, reg), parent);
      const t = new EntityTree();
      const r = t.apply(topicId, reg);
      assert.ok(r.ok);
      assert.equal(t.get(topicId)?.registration["@parent"], parent);
    });

  const refused: [string, string, Registration, RegExp][] = [
    [
      "'@type' device is only valid for the main device",
      "device/c//",
      { "@type": "device" },
      /only valid for device\/main\/\//,
    ],
    [
      "the main device cannot be re-registered as a child",
      "device/main//",
      { "@type": "child-device" },
      /must be device/,
    ],
  ];
  for (const [rule, topicId, reg, error] of refused)
    it(rule, () => {
      const r = new EntityTree().apply(topicId, reg);
      assert.ok(!r.ok);
      assert.match(r.error, error);
    });

  it("apply reports new, changed and unchanged registrations", () => {
    const t = new EntityTree();
    const first = t.apply("device/c//", { "@type": "child-device", name: "c" });
    assert.ok(first.ok && first.value && first.value.previous === undefined);
    const same = t.apply("device/c//", { "@type": "child-device", name: "c" });
    assert.ok(same.ok && same.value === undefined, "identical re-registration: no change");
    const renamed = t.apply("device/c//", { "@type": "child-device", name: "d" });
    assert.ok(renamed.ok && renamed.value?.previous?.registration.name === "c");
  });

  it("auto stays true only while every registration was an auto-registration", () => {
    const t = new EntityTree();
    t.apply("device/c//", { "@type": "child-device", name: "c" }, true);
    assert.equal(t.get("device/c//")?.auto, true);
    t.apply("device/c//", { "@type": "child-device", name: "c" }, false);
    assert.equal(t.get("device/c//")?.auto, false);
    t.apply("device/c//", { "@type": "child-device", name: "c" }, true);
    assert.equal(t.get("device/c//")?.auto, false);
  });

  const autos: [string, string, string[], Reg[] | undefined][] = [
    [
      "data from a new child's service registers the child first, then the service",
      "device/c/service/s",
      ["device/main//"],
      [
        ["device/c//", { "@type": "child-device", "@parent": "device/main//", name: "c" }],
        ["device/c/service/s", { "@type": "service", "@parent": "device/c//", name: "s" }],
      ],
    ],
    ["a known entity needs nothing", "device/c//", ["device/main//", "device/c//"], []],
    [
      "outside the default scheme: explicit registration is needed",
      "plant/a/b/c",
      ["device/main//"],
      undefined,
    ],
    [
      "a main-device service",
      "device/main/service/x",
      ["device/main//"],
      [["device/main/service/x", { "@type": "service", "@parent": "device/main//", name: "x" }]],
    ],
  ];
  for (const [rule, topicId, known, expected] of autos)
    it(`auto-registration: ${rule}`, () => {
      assert.deepEqual(
        autoRegistrations(topicId, (id) => known.includes(id)),
        expected?.map(([topicId, registration]) => ({ topicId, registration })),
      );
    });

  const xids: [string, string, Registration, string][] = [
    ["the main device is the device id", "device/main//", { "@type": "device" }, "dev"],
    ["a child is <main>:device:<child>", "device/c//", { "@type": "child-device" }, "dev:device:c"],
    [
      "a service keeps all its segments",
      "device/c/service/s",
      { "@type": "service" },
      "dev:device:c:service:s",
    ],
    ["@id wins", "device/c//", { "@type": "child-device", "@id": "given" }, "given"],
  ];
  for (const [rule, topicId, reg, xid] of xids)
    it(`external id: ${rule}`, () => {
      const t = new EntityTree();
      t.apply(topicId, reg);
      assert.equal(externalIdOf("dev", t.get(topicId)!), xid);
    });

  const subtrees: [string, [string, string][], string, string[]][] = [
    [
      "parents first, each descendant once",
      [
        ["device/a//", "device/main//"],
        ["device/a/service/x", "device/a//"],
        ["device/b//", "device/a//"],
        ["device/b/service/y", "device/b//"],
        ["device/z//", "device/main//"],
      ],
      "device/a//",
      ["device/a//", "device/a/service/x", "device/b//", "device/b/service/y"],
    ],
    ["its own parent", [["device/a//", "device/a//"]], "device/a//", ["device/a//"]],
    [
      "two entities parent of each other",
      [
        ["device/a//", "device/b//"],
        ["device/b//", "device/a//"],
      ],
      "device/a//",
      ["device/a//", "device/b//"],
    ],
    ["an unknown entity has no subtree", [], "device/nope//", []],
  ];
  for (const [rule, regs, root, expected] of subtrees)
    it(`subtree: ${rule}`, () => {
      const t = new EntityTree();
      for (const [id, parent] of regs) t.apply(id, { "@type": "child-device", "@parent": parent });
      assert.deepEqual(t.subtree(root), expected);
      assert.deepEqual(
        t.deleteSubtree(root).map((e) => e.topicId),
        expected,
      );
      for (const id of expected) assert.equal(t.get(id), undefined);
    });

  it("a re-registration under another parent moves the entity", () => {
    const t = new EntityTree();
    t.apply("device/a//", { "@type": "child-device" });
    t.apply("device/b//", { "@type": "child-device" });
    t.apply("device/c//", { "@type": "child-device", "@parent": "device/a//" });
    t.apply("device/c//", { "@type": "child-device", "@parent": "device/b//" });
    assert.deepEqual(t.children("device/a//"), []);
    assert.deepEqual(t.children("device/b//"), ["device/c//"]);
  });

  it("the three users agree: the mappers' cache gives the same parents and ids as the tree", () => {
    const cache = new EntityCache("dev");
    const t = new EntityTree();
    const regs: Reg[] = [
      ["device/c//", { "@type": "child-device", name: "c" }],
      ["device/c/service/s", { "@type": "service" }],
      ["plant/a/b/c", { "@type": "service", "@id": "custom" }],
    ];
    for (const [id, reg] of regs) {
      assert.ok(cache.register(id, reg).ok);
      t.apply(id, reg);
      const e = cache.get(id)!;
      assert.equal(e.parent, t.get(id)?.registration["@parent"]);
      assert.equal(e.externalId, externalIdOf("dev", t.get(id)!));
    }
    assert.deepEqual(
      cache.childrenOf("device/main//").map((e) => e.topicId),
      t.children("device/main//"),
    );
  });
});
