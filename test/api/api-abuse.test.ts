import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ApiComponent } from "../../src/api/api-component.ts";
import { ErrorLimiter } from "../../src/api/error-limiter.ts";
import { type Harness, startHarness } from "../helpers/mappers-bus.ts";
import { waitFor } from "../helpers/ports.ts";

describe("te/errors rate limit (pure)", () => {
  const limits = { burst: 3, perTopicMs: 1000, globalPerS: 10, maxTopics: 2 };

  it("a topic gets a burst, then one message per interval carrying the count held back", () => {
    const l = new ErrorLimiter(limits, 0);
    const out = Array.from({ length: 10 }, (_, i) => l.admit("te/a", `e${i}`, 0));
    assert.deepEqual(out.slice(0, 3), ["e0", "e1", "e2"]);
    assert.ok(out.slice(3).every((o) => o === undefined));
    assert.equal(l.admit("te/a", "late", 1000), "late (7 more on this topic suppressed)");
    assert.equal(l.admit("te/a", "again", 1000), undefined);
  });

  it("another topic is not held back by a noisy one", () => {
    const l = new ErrorLimiter(limits, 0);
    for (let i = 0; i < 10; i++) l.admit("te/a", "x", 0);
    assert.equal(l.admit("te/b", "other", 0), "other");
  });

  it("all topics together share a global budget; topics beyond maxTopics are counted together", () => {
    const l = new ErrorLimiter(limits, 0);
    const passed = Array.from({ length: 50 }, (_, i) => l.admit(`te/t${i}`, "x", 0)).filter(Boolean);
    assert.equal(passed.length, 10, "the global budget");
    assert.equal(l.admit("te/new", "y", 2000), "y (40 more on other topics suppressed)");
  });
});

describe("api component under abuse (embedded broker)", () => {
  let h: Harness;
  let api: ApiComponent | undefined;
  const data = mkdtempSync(join(tmpdir(), "ledge-api-abuse-"));
  const errors = () => h.seen.filter((s) => s.topic === "te/errors").map((s) => s.payload);
  before(async () => {
    h = await startHarness(
      "embedded",
      [
        (ctx) => {
          api = new ApiComponent(ctx);
          return api;
        },
      ],
      { "data.path": data },
      ["te/errors", "te/+/+/+/+", "te/+/+//", "te/+/+/+/"],
    );
  });
  after(async () => {
    await h.stop();
    rmSync(data, { recursive: true, force: true });
  });

  it("an empty retained registration of the main device is refused; the store and its children stay", async () => {
    await h.publish("te/device/kid//", { "@type": "child-device", name: "kid" }, { retain: true });
    await waitFor("kid registered", () => api!.store.get("device/kid//"));
    const from = h.seen.length;
    await h.publish("te/device/main//", "", { retain: true });
    const e = await waitFor("te/errors", () => errors().find((p) => p.includes("Refused to deregister")));
    assert.match(e, /device\/main\/\/.*cannot be deregistered/);
    // the broker's retained registration is restored
    const back = await h.expect("te/device/main//", undefined, from + 1);
    assert.equal(JSON.parse(back.payload)["@type"], "device");
    assert.ok(api!.store.get("device/main//"));
    assert.ok(api!.store.get("device/kid//"), "children are kept");
    api!.store.flush();
  });

  it("a ledge service (ledge-<component>) cannot be deregistered either, a child still can", async () => {
    await h.publish(
      "te/device/main/service/ledge-agent",
      { "@type": "service", name: "ledge-agent" },
      { retain: true },
    );
    await waitFor("service registered", () => api!.store.get("device/main/service/ledge-agent"));
    await h.publish("te/device/main/service/ledge-agent", "", { retain: true });
    await waitFor("te/errors", () =>
      errors().find((p) => p.includes("Refused to deregister device/main/service/ledge-agent")),
    );
    assert.ok(api!.store.get("device/main/service/ledge-agent"));
    await h.publish("te/device/kid//", "", { retain: true });
    await waitFor("kid deregistered", () => api!.store.get("device/kid//") === undefined || undefined);
  });

  it("a flood of bad input yields a bounded number of te/errors, with the count held back", async () => {
    const from = errors().length;
    for (let i = 0; i < 500; i++) await h.publish("te/device/main///m/flood", "{bad", { qos: 0 });
    await h.publish("te/device/main///m/flood", "{bad", { qos: 1 });
    await new Promise((r) => setTimeout(r, 1100)); // the per-topic budget refills once a second
    await h.publish("te/device/main///m/flood", "{bad", { qos: 1 });
    const e = await waitFor("summary", () =>
      errors()
        .slice(from)
        .find((p) => /more on this topic suppressed/.test(p)),
    );
    assert.match(e, /\(\d+ more on this topic suppressed\)/);
    assert.ok(errors().length - from <= 12, `${errors().length - from} error messages for 502 bad inputs`);
  });
});

describe("api component: the entity store has a size bound", () => {
  let h: Harness;
  let api: ApiComponent | undefined;
  const data = mkdtempSync(join(tmpdir(), "ledge-api-cap-"));
  before(async () => {
    h = await startHarness(
      "embedded",
      [
        (ctx) => {
          api = new ApiComponent(ctx, { maxEntities: 4 });
          return api;
        },
      ],
      { "data.path": data },
      ["te/errors"],
    );
  });
  after(async () => {
    await h.stop();
    rmSync(data, { recursive: true, force: true });
  });

  it("registrations and auto-registrations beyond it are refused on te/errors; known entities still update", async () => {
    // main device + 3 children fill it
    for (const c of ["a", "b", "c"])
      await h.publish(`te/device/${c}//`, { "@type": "child-device" }, { retain: true });
    await waitFor("three children", () => (api!.store.size === 4 ? true : undefined));
    await h.publish("te/device/d//", { "@type": "child-device" }, { retain: true });
    await h.expect("te/errors", "Refused to register device/d//: the entity store is full (4 entities)");
    await h.publish("te/device/e///m/x", { v: 1 });
    await h.expect("te/errors", "Refused to register device/e//: the entity store is full (4 entities)");
    assert.equal(api!.store.size, 4);
    await h.publish("te/device/a//", { "@type": "child-device", name: "renamed" }, { retain: true });
    await waitFor("a renamed", () =>
      api!.store.get("device/a//")?.registration.name === "renamed" ? true : undefined,
    );
  });
});
