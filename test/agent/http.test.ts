import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type AgentEnv, agentEnv } from "../helpers/agent-env.ts";
import { type Res, raw } from "../helpers/http.ts";
import { waitFor } from "../helpers/ports.ts";

const isBun = typeof process.versions.bun === "string";

/** Every file under dir, recursively. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? (d as unknown as { path: string }).path, d.name))
    .sort();
}

describe("file transfer service", () => {
  let env: AgentEnv;
  let port: number;
  before(async () => {
    env = await agentEnv("embedded", { "agent.file_transfer.max_bytes": 100 });
    await env.startAgent();
    port = env.agent!.http.port;
  });
  after(() => env.close());

  it("PUT, GET, HEAD, overwrite, DELETE", async () => {
    assert.equal((await raw(port, "PUT", "/te/v1/files/a/b/c.txt", "hello")).status, 201);
    assert.deepEqual(await raw(port, "GET", "/te/v1/files/a/b/c.txt"), { status: 200, body: "hello" });
    assert.equal((await raw(port, "HEAD", "/te/v1/files/a/b/c.txt")).status, 200);
    assert.equal((await raw(port, "PUT", "/te/v1/files/a/b/c.txt", "world")).status, 201);
    assert.equal((await raw(port, "GET", "/te/v1/files/a/b/c.txt")).body, "world");
    assert.equal((await raw(port, "DELETE", "/te/v1/files/a/b/c.txt")).status, 202);
    assert.equal((await raw(port, "GET", "/te/v1/files/a/b/c.txt")).status, 404);
    assert.equal((await raw(port, "DELETE", "/te/v1/files/a/b/c.txt")).status, 404);
  });

  it("stored files are not world-readable (config snapshots and logs pass through here)", async () => {
    assert.equal((await raw(port, "PUT", "/te/v1/files/snap/ledge.toml", "password = 'x'")).status, 201);
    const ft = join(env.config.dataDir, "file-transfer");
    assert.equal(statSync(join(ft, "snap/ledge.toml")).mode & 0o007, 0);
    assert.equal(statSync(join(ft, "snap")).mode & 0o007, 0);
  });

  it("a GET the client abandons closes the file", async () => {
    const ft = join(env.config.dataDir, "file-transfer");
    mkdirSync(ft, { recursive: true });
    const file = join(ft, "big.bin");
    writeFileSync(file, Buffer.alloc(32 * 1024 * 1024));
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/te/v1/files/big.bin" }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", reject);
      req.end();
    });
    const open = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(join("/proc/self/fd", fd)) === file;
        } catch {
          return false;
        }
      }).length;
    await waitFor("the file to be closed", () => open() === 0 || undefined, 3000);
  });

  it("percent-encoded names are decoded", async () => {
    assert.equal((await raw(port, "PUT", "/te/v1/files/with%20space.txt", "x")).status, 201);
    assert.equal((await raw(port, "GET", "/te/v1/files/with%20space.txt")).body, "x");
  });

  const attacks = [
    "/te/v1/files/../escape.txt",
    "/te/v1/files/a/../../escape.txt",
    "/te/v1/files/%2e%2e/escape.txt",
    "/te/v1/files/%2E%2E%2Fescape.txt",
    "/te/v1/files/a%2f..%2f..%2fescape.txt",
    "/te/v1/files//tmp/escape.txt",
    "/te/v1/files/%2ftmp%2fescape.txt",
    "/te/v1/files/a\\..\\..\\escape.txt",
    "/te/v1/files/./escape.txt",
  ];
  for (const path of attacks)
    it(`PUT ${path} → 400 and nothing written`, async () => {
      const before = tree(env.dir);
      const r = await raw(port, "PUT", path, "pwned");
      // Bun.serve resolves dot segments and `\` as a browser would before ledge sees the path:
      // what it leaves is an ordinary path, which cannot leave the root either
      const resolved = new URL(path, "http://x").pathname;
      if (isBun && resolved !== path) {
        const ft = join(env.config.dataDir, "file-transfer");
        assert.ok(r.status === 404 || (r.status === 201 && resolved.startsWith("/te/v1/files/")), r.body);
        const outside = (files: string[]) => files.filter((f) => !f.startsWith(`${ft}/`));
        assert.deepEqual(outside(tree(env.dir)), outside(before));
        return;
      }
      assert.equal(r.status, 400, r.body);
      assert.match(JSON.parse(r.body).error, /./);
      assert.deepEqual(tree(env.dir), before);
      assert.equal((await raw(port, "GET", path)).status, 400);
      assert.equal((await raw(port, "DELETE", path)).status, 400);
    });

  it("a file over the size limit (declared length) → 413, nothing written", async () => {
    const r = await raw(port, "PUT", "/te/v1/files/big", Buffer.alloc(101));
    assert.equal(r.status, 413);
    assert.equal((await raw(port, "GET", "/te/v1/files/big")).status, 404);
  });

  it("a chunked upload over the limit → 413, no file and no temp file left", async () => {
    const before = tree(env.dir);
    const r = await raw(port, "PUT", "/te/v1/files/big2", Buffer.alloc(500), {
      "transfer-encoding": "chunked",
    });
    assert.equal(r.status, 413);
    assert.deepEqual(tree(env.dir), before);
  });

  it("exactly the limit is accepted", async () => {
    assert.equal((await raw(port, "PUT", "/te/v1/files/fits", Buffer.alloc(100))).status, 201);
  });

  it("conflicts, methods and unknown endpoints", async () => {
    await raw(port, "PUT", "/te/v1/files/dir/f", "x");
    assert.equal((await raw(port, "PUT", "/te/v1/files/dir", "x")).status, 409);
    assert.equal((await raw(port, "PUT", "/te/v1/files/dir/f/g", "x")).status, 409);
    assert.equal((await raw(port, "POST", "/te/v1/files/dir/f", "x")).status, 405);
    assert.equal((await raw(port, "GET", "/nope")).status, 404);
  });
});

describe("entity store HTTP API", () => {
  let env: AgentEnv;
  let port: number;
  before(async () => {
    env = await agentEnv("embedded");
    await env.client.publishAsync("te/device/main//", JSON.stringify({ "@type": "device", type: "ledge" }), {
      retain: true,
    });
    await env.startAgent();
    port = env.agent!.http.port;
  });
  after(() => env.close());
  const json = (r: Res) => JSON.parse(r.body);

  it("lists registered entities", async () => {
    const r = await waitFor("main listed", async () => {
      const r = await raw(port, "GET", "/te/v1/entities");
      return json(r).length ? r : undefined;
    });
    assert.deepEqual(json(r), [{ "@topic-id": "device/main//", "@type": "device", type: "ledge" }]);
  });

  it("POST registers through the bus (retained registration), GET one returns it", async () => {
    const body = JSON.stringify({
      "@topic-id": "device/child01//",
      "@type": "child-device",
      name: "child01",
    });
    const r = await raw(port, "POST", "/te/v1/entities", body, { "content-type": "application/json" });
    assert.equal(r.status, 201, r.body);
    assert.deepEqual(json(r), { "@topic-id": "device/child01//" });
    const reg = await waitFor("registration seen", () => env.seen.get("te/device/child01//")?.toString());
    assert.deepEqual(JSON.parse(reg), {
      "@type": "child-device",
      name: "child01",
    });
    const one = await raw(port, "GET", "/te/v1/entities/device/child01//");
    assert.equal(one.status, 200);
    assert.equal(json(one).name, "child01");
  });

  it("POST body with a UTF-8 character split between two TCP segments keeps it", async () => {
    const body = Buffer.from(
      JSON.stringify({ "@topic-id": "device/gerät//", "@type": "child-device", name: "Gerät" }),
    );
    const cut = body.indexOf(Buffer.from("ä")) + 1;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method: "POST", path: "/te/v1/entities" }, (res) =>
        resolve(res.resume().statusCode ?? 0),
      );
      req.on("error", reject);
      req.flushHeaders();
      req.write(body.subarray(0, cut));
      setTimeout(() => req.end(body.subarray(cut)), 100);
    });
    assert.equal(status, 201);
    const one = await raw(port, "GET", `/te/v1/entities/device/${encodeURIComponent("gerät")}//`);
    assert.equal(json(one).name, "Gerät");
  });

  it("POST of a child's service, filters by parent", async () => {
    const body = JSON.stringify({
      "@topic-id": "device/child01/service/app",
      "@type": "service",
      "@parent": "device/child01//",
    });
    assert.equal((await raw(port, "POST", "/te/v1/entities", body)).status, 201);
    const r = await raw(port, "GET", "/te/v1/entities?parent=device/child01//");
    assert.deepEqual(
      json(r).map((e: Record<string, unknown>) => e["@topic-id"]),
      ["device/child01/service/app"],
    );
  });

  const bad: [string, string, number][] = [
    ["not JSON", "{", 400],
    ["no topic id", JSON.stringify({ "@type": "child-device" }), 400],
    ["bad topic id", JSON.stringify({ "@topic-id": "device/x", "@type": "child-device" }), 400],
    ["bad type", JSON.stringify({ "@topic-id": "device/x//", "@type": "thing" }), 400],
    [
      "unknown parent",
      JSON.stringify({ "@topic-id": "device/x//", "@type": "child-device", "@parent": "device/nope//" }),
      400,
    ],
    ["already registered", JSON.stringify({ "@topic-id": "device/child01//", "@type": "child-device" }), 409],
  ];
  for (const [name, body, status] of bad)
    it(`POST ${name} → ${status}`, async () =>
      assert.equal((await raw(port, "POST", "/te/v1/entities", body)).status, status));

  it("GET of an unknown entity → 404", async () =>
    assert.equal((await raw(port, "GET", "/te/v1/entities/device/ghost//")).status, 404));

  it("DELETE deregisters the entity and its descendants", async () => {
    const r = await raw(port, "DELETE", "/te/v1/entities/device/child01//");
    assert.equal(r.status, 200);
    assert.deepEqual(
      json(r).map((e: Record<string, unknown>) => e["@topic-id"]),
      ["device/child01//", "device/child01/service/app"],
    );
    assert.equal((await raw(port, "GET", "/te/v1/entities/device/child01//")).status, 404);
    assert.equal((await raw(port, "GET", "/te/v1/entities/device/child01/service/app")).status, 404);
    await waitFor(
      "deregistration seen",
      () => env.seen.get("te/device/child01//")?.length === 0 || undefined,
    );
  });
});
