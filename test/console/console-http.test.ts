/**
 * The console's HTTP side over raw HTTP, runtime-neutral (http-bun.test.ts runs it under Bun too):
 * the mount's redirect, JSON errors, and the live stream — its first event, a delta, the stream
 * limit, and the slot given back when the page goes away.
 */
import assert from "node:assert/strict";
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { after, before, describe, it } from "node:test";
import { type AgentEnv, agentEnv } from "../helpers/agent-env.ts";
import { raw } from "../helpers/http.ts";
import { waitFor } from "../helpers/ports.ts";

interface Stream {
  req: ClientRequest;
  res: IncomingMessage;
  text: () => string;
}

function openStream(port: number): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/console/api/stream" }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        text += d;
      });
      res.on("error", () => {});
      resolve({ req, res, text: () => text });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("web console over HTTP", () => {
  let env: AgentEnv;
  let port: number;
  before(async () => {
    env = await agentEnv("embedded", { "console.enable": true });
    await env.startAgent();
    port = env.agent!.http.port;
  });
  after(() => env.close());

  it("the mount without its slash → 301 to /console/", async () => {
    const r = await new Promise<IncomingMessage>((resolve, reject) =>
      request({ host: "127.0.0.1", port, path: "/console" }, resolve).on("error", reject).end(),
    );
    r.resume();
    assert.equal(r.statusCode, 301);
    assert.equal(r.headers.location, "/console/");
  });

  it("serves the page, and unknown endpoints get a JSON error", async () => {
    const page = await raw(port, "GET", "/console/");
    assert.equal(page.status, 200);
    assert.match(page.body, /ledge-csrf/);
    const r = await raw(port, "GET", "/console/api/nope");
    assert.equal(r.status, 404);
    assert.match(JSON.parse(r.body).error, /no such console endpoint/);
    assert.equal((await raw(port, "PUT", "/console/api/files/x", "x")).status, 403);
  });

  it("the live stream starts with a reset and carries deltas", async () => {
    const s = await openStream(port);
    assert.equal(s.res.statusCode, 200);
    assert.match(s.res.headers["content-type"] ?? "", /^text\/event-stream/);
    await waitFor("the reset event", () => s.text().includes("event: reset") || undefined, 3000);
    await env.client.publishAsync("te/device/main///m/env", '{"temperature":21.5}');
    await waitFor("a delta", () => s.text().includes("21.5") || undefined, 3000);
    s.req.destroy();
  });

  it("at most 16 streams; a page that goes away gives its slot back", async () => {
    // earlier streams may still be closing: wait until all 16 fit
    const streams: Stream[] = [];
    await waitFor(
      "16 streams",
      async () => {
        const s = await openStream(port);
        if (s.res.statusCode === 200) streams.push(s);
        else s.req.destroy();
        return streams.length === 16 || undefined;
      },
      5000,
    );
    const extra = await openStream(port);
    assert.equal(extra.res.statusCode, 503);
    extra.req.destroy();
    for (const s of streams) s.req.destroy();
    // positive control and cleanup: once the pages closed, a new stream is served again
    await waitFor(
      "a free stream slot",
      async () => {
        const s = await openStream(port);
        s.req.destroy();
        return s.res.statusCode === 200 || undefined;
      },
      5000,
    );
  });
});
