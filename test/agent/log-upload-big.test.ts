import assert from "node:assert/strict";
import { createWriteStream, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type AgentEnv, agentEnv } from "../helpers/agent-env.ts";

/** Millions of lines, written in 1 MiB blocks: `2024-05-01T10:00:00Z INFO line 0000042`. */
async function bigLog(path: string, lines: number): Promise<void> {
  const out = createWriteStream(path);
  const start = Date.UTC(2024, 4, 1, 10);
  let block = "";
  for (let i = 0; i < lines; i++) {
    const t = new Date(start + i * 1000).toISOString().replace(".000", "");
    block += `${t} ${i % 100_000 === 0 ? "ERROR" : "INFO"} line ${String(i).padStart(7, "0")}\n`;
    if (block.length > 1 << 20) {
      if (!out.write(block)) await new Promise<void>((r) => out.once("drain", () => r()));
      block = "";
    }
  }
  out.end(block);
  await new Promise<void>((r) => out.once("finish", () => r()));
}

/** Runs `f` while sampling RSS every 10 ms; returns how far RSS rose above where it started. */
async function rssGrowth(f: () => Promise<void>): Promise<number> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  try {
    await f();
  } finally {
    clearInterval(t);
  }
  return Math.max(peak, process.memoryUsage().rss) - base;
}

const LINES = 2_500_000;
const MiB = 1024 * 1024;

describe("log_upload of a log of millions of lines: streamed, bounded memory", () => {
  let env: AgentEnv;
  let files: string;
  before(async () => {
    env = await agentEnv("embedded");
    files = `http://127.0.0.1:${env.config.get("http.bind.port")}/te/v1/files`;
    await bigLog(join(env.dir, "big.log"), LINES);
    writeFileSync(
      join(env.dir, "agent.toml"),
      `[[log]]\ntype = "big"\npath = "${join(env.dir, "big.log")}"\n[[config]]\ntype = "bigconf"\npath = "${join(env.dir, "big.log")}"\n`,
    );
    await env.startAgent();
  });
  after(() => env.close());

  it("last N lines are read from the end of the file", async () => {
    const url = `${files}/main/log_upload/big-1`;
    const grew = await rssGrowth(async () => {
      await env.command("log_upload", "b1", { status: "init", type: "big", tedgeUrl: url, lines: 3 });
      await env.waitStatus("log_upload", "b1", "successful", 60_000);
    });
    const text = await (await fetch(url)).text();
    assert.deepEqual(
      text.split("\n").map((l) => l.slice(-7)),
      [...[LINES - 3, LINES - 2, LINES - 1].map((n) => String(n).padStart(7, "0")), ""],
    );
    assert.ok(grew < 48 * MiB, `RSS grew by ${(grew / MiB).toFixed(1)} MiB`);
  });

  it("search text and time range are applied while reading, in bounded memory", async () => {
    const url = `${files}/main/log_upload/big-2`;
    const grew = await rssGrowth(async () => {
      await env.command("log_upload", "b2", {
        status: "init",
        type: "big",
        tedgeUrl: url,
        searchText: "error",
        dateFrom: "2024-05-01T10:00:00Z",
        lines: 1000,
      });
      await env.waitStatus("log_upload", "b2", "successful", 120_000);
    });
    const got = (await (await fetch(url)).text()).trimEnd().split("\n");
    assert.equal(got.length, LINES / 100_000);
    assert.ok(got.every((l) => l.includes(" ERROR ")));
    assert.ok(grew < 48 * MiB, `RSS grew by ${(grew / MiB).toFixed(1)} MiB`);
  });

  it("a large line count is streamed too (all 2.5 M lines, the old code overflowed the stack)", async () => {
    const url = `${files}/main/log_upload/big-3`;
    const grew = await rssGrowth(async () => {
      await env.command("log_upload", "b3", { status: "init", type: "big", tedgeUrl: url, lines: LINES });
      await env.waitStatus("log_upload", "b3", "successful", 120_000);
    });
    const head = await fetch(url, { method: "HEAD" });
    assert.ok(Number(head.headers.get("content-length")) > 80 * MiB);
    assert.ok(grew < 48 * MiB, `RSS grew by ${(grew / MiB).toFixed(1)} MiB`);
  });

  it("config_snapshot of a large file is streamed, not read into memory", async () => {
    const url = `${files}/main/config_snapshot/big-4`;
    const grew = await rssGrowth(async () => {
      await env.command("config_snapshot", "b4", { status: "init", type: "bigconf", tedgeUrl: url });
      await env.waitStatus("config_snapshot", "b4", "successful", 120_000);
    });
    const head = await fetch(url, { method: "HEAD" });
    assert.equal(Number(head.headers.get("content-length")), statSync(join(env.dir, "big.log")).size);
    assert.ok(grew < 48 * MiB, `RSS grew by ${(grew / MiB).toFixed(1)} MiB`);
  });
});
