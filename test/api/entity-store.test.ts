import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
  // parent cycles: the entity tree's table suite (entity-tree.test.ts)
});

/** Bytes this process has written with write(2) so far (Linux). */
function bytesWritten(): number {
  return Number(/wchar: (\d+)/.exec(readFileSync("/proc/self/io", "utf8"))?.[1]);
}

describe("entity store persistence (append-only journal)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ledge-journal-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const child = (i: number) => `device/child${i}//`;

  it("a registration flood writes each entity about once, not the whole store per registration", () => {
    const s = new EntityStore(join(dir, "flood"));
    s.load();
    const n = 3000;
    const before = bytesWritten();
    for (let i = 0; i < n; i++) {
      s.register(child(i), { "@type": "child-device", name: `child${i}` });
      if (i % 100 === 99) s.flush(); // batches, as the timer would cut them
    }
    s.close();
    const perEntity = (bytesWritten() - before) / n;
    // one journal line is ~110 bytes; compactions at most double that. Whole-file rewrites: ~170 kB.
    assert.ok(perEntity < 600, `${perEntity.toFixed(0)} bytes written per registration`);
    const again = new EntityStore(join(dir, "flood"));
    again.load();
    assert.equal(again.size, n);
    assert.equal(again.get(child(n - 1))?.registration.name, `child${n - 1}`);
    again.close();
  });

  it("changes are written in batches, at most every flushMs", async () => {
    const s = new EntityStore(join(dir, "batch"), { flushMs: 30 });
    s.load();
    s.register(child(1), { "@type": "child-device" });
    const journal = join(dir, "batch", "entities.json.journal");
    assert.equal(readFileSync(journal, "utf8"), "", "nothing written synchronously");
    await new Promise((r) => setTimeout(r, 200));
    assert.match(readFileSync(journal, "utf8"), /device\/child1/);
    s.close();
  });

  it("survives a crash: journal replayed over the snapshot, a torn last line skipped", () => {
    const d = join(dir, "crash");
    const s = new EntityStore(d);
    s.load();
    s.register(child(1), { "@type": "child-device" });
    s.register(child(2), { "@type": "child-device" });
    s.register(child(3), { "@type": "child-device", "@parent": child(2) });
    s.flush();
    s.deregister(child(2));
    s.flush();
    // no close(): the process died; and it died in the middle of the next append
    appendFileSync(join(d, "entities.json.journal"), '{"put":{"topicId":"device/to');
    const r = new EntityStore(d);
    const loaded = r.load();
    assert.match(loaded.error ?? "", /skipped 1 unreadable/);
    assert.deepEqual(
      r.list().map((e) => e.topicId),
      [child(1)],
    );
    // loading compacted: the next start reads the snapshot alone
    assert.equal(readFileSync(join(d, "entities.json.journal"), "utf8"), "");
    assert.deepEqual(
      JSON.parse(readFileSync(join(d, "entities.json"), "utf8")).map((e: { topicId: string }) => e.topicId),
      [child(1)],
    );
    r.close();
  });

  it("reads the whole-file store of earlier versions", () => {
    const d = join(dir, "old");
    mkdirSync(d);
    writeFileSync(
      join(d, "entities.json"),
      JSON.stringify([{ topicId: child(7), registration: { "@type": "child-device" }, auto: false }]),
    );
    const s = new EntityStore(d);
    assert.equal(s.load().error, undefined);
    assert.ok(s.get(child(7)));
    s.close();
  });
});
