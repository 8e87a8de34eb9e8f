import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { EntityStore } from "../../src/api/entity-store.ts";

describe("entity store deregistration", () => {
  const dir = mkdtempSync(join(tmpdir(), "ledge-entities-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("removes descendants depth first", () => {
    const s = new EntityStore(join(dir, "tree"));
    s.register("device/a//", { "@type": "child-device" });
    s.register("device/a/service/x", { "@type": "service", "@parent": "device/a//" });
    s.register("device/b//", { "@type": "child-device", "@parent": "device/a//" });
    s.register("device/b/service/y", { "@type": "service", "@parent": "device/b//" });
    assert.deepEqual(s.deregister("device/a//"), [
      "device/a//",
      "device/a/service/x",
      "device/b//",
      "device/b/service/y",
    ]);
    assert.deepEqual(s.list(), []);
  });

  // Registrations come from the bus: nothing stops two entities from naming each other as parent.
  const cycles: [string, [string, string][], string, string[]][] = [
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
  ];
  for (const [name, regs, gone, removed] of cycles)
    it(`a parent cycle (${name}) is removed once, without overflowing the stack`, () => {
      const s = new EntityStore(join(dir, name.replaceAll(" ", "-")));
      for (const [id, parent] of regs) s.register(id, { "@type": "child-device", "@parent": parent });
      assert.deepEqual(s.deregister(gone), removed);
      assert.deepEqual(s.list(), []);
    });
});
