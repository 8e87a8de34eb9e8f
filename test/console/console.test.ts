/**
 * The web console in a real browser (headless Chromium): it loads, shows the entity tree and a
 * live measurement updating, an alarm appearing and clearing, and commands; screenshots of each
 * page go to dist/screenshots/ (README, "Web console").
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import type { Browser, Page } from "playwright-core";
import { type Running, run } from "../../src/app/run.ts";
import { loadConfig } from "../../src/config/store.ts";
import { log } from "../helpers/agent-env.ts";
import { browserMissing, launch, SCREENSHOTS } from "../helpers/browser.ts";
import { freePort, waitFor } from "../helpers/ports.ts";

describe("web console in Chromium", { skip: browserMissing() || undefined }, () => {
  let running: Running;
  let client: MqttClient;
  let browser: Browser;
  let page: Page;
  let base: string;
  const dir = mkdtempSync(join(tmpdir(), "ledge-console-"));

  before(async () => {
    const mqttPort = await freePort();
    const httpPort = await freePort();
    const config = loadConfig(dir, {}).with({
      "data.path": join(dir, "data"),
      "device.id": "console-test",
      "mqtt.bind.port": mqttPort,
      "http.bind.port": httpPort,
      "run.components": ["api", "agent"],
      "agent.monitor.interval_s": 0,
      "console.enable": true,
    });
    running = await run(config, [], log);
    client = await mqtt.connectAsync({ host: "127.0.0.1", port: mqttPort });
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    base = `http://127.0.0.1:${httpPort}/console/`;
  });

  after(async () => {
    await browser?.close();
    await client?.endAsync();
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads and shows the entity tree with ledge's services and their health", async () => {
    await page.goto(base);
    await page.waitForSelector('[data-entity="device/main//"]');
    await page.waitForSelector('[data-entity="device/main/service/ledge-agent"] .dot.up');
    await client.publishAsync("te/device/pump1//", '{"@type":"child-device","name":"pump1"}', {
      retain: true,
      qos: 1,
    });
    await page.waitForSelector('[data-entity="device/pump1//"]');
  });

  it("shows a live measurement updating", async () => {
    await page.goto(`${base}#entities/${encodeURIComponent("device/pump1//")}`);
    const series = '[data-series="device/pump1//|flow|rate"] .value';
    const seen = new Set<string>();
    for (let i = 1; i <= 30 && seen.size < 3; i++) {
      await client.publishAsync("te/device/pump1///m/flow", JSON.stringify({ rate: i * 1.5 }));
      const text = await page
        .waitForSelector(series, { timeout: 2000 })
        .then((e) => e.textContent())
        .catch(() => undefined);
      if (text) seen.add(text);
    }
    assert.ok(seen.size >= 3, `the value changed live: ${[...seen].join(", ")}`);
    await page.waitForSelector('[data-series="device/pump1//|flow|rate"] canvas');
    await page.screenshot({ path: join(SCREENSHOTS, "console-entities.png") });
  });

  it("shows an alarm appearing and clearing", async () => {
    await page.goto(`${base}#alarms`);
    const row = '[data-alarm="device/pump1//|pressure_high"]';
    await client.publishAsync(
      "te/device/pump1///a/pressure_high",
      '{"text":"Pressure high","severity":"major"}',
      {
        retain: true,
        qos: 1,
      },
    );
    await page.waitForSelector(row);
    assert.match((await page.textContent(row)) ?? "", /major.*Pressure high/);
    await page.screenshot({ path: join(SCREENSHOTS, "console-alarms.png") });
    await client.publishAsync("te/device/pump1///a/pressure_high", "", { retain: true, qos: 1 });
    await page.waitForSelector(row, { state: "detached" });
  });

  it("lists commands with their status history", async () => {
    await page.goto(`${base}#commands`);
    await client.publishAsync("te/device/main///cmd/software_list/ui-1", '{"status":"init"}', {
      retain: true,
      qos: 1,
    });
    await waitFor(
      "command shown",
      async () => ((await page.textContent("main")) ?? "").includes("ui-1") || undefined,
    );
    await waitFor(
      "command finished",
      async () => ((await page.textContent("main")) ?? "").includes("successful") || undefined,
    );
    await page.screenshot({ path: join(SCREENSHOTS, "console-commands.png") });
  });
});

describe("web console beyond loopback", { skip: browserMissing() || undefined }, () => {
  const TOKEN = "correct-horse-battery-staple";
  async function start(token: string) {
    const dir = mkdtempSync(join(tmpdir(), "ledge-console-lan-"));
    const httpPort = await freePort();
    const config = loadConfig(dir, {}).with({
      "data.path": join(dir, "data"),
      "mqtt.bind.port": await freePort(),
      "http.bind.address": "0.0.0.0",
      "http.bind.port": httpPort,
      "run.components": ["api", "agent"],
      "agent.monitor.interval_s": 0,
      "console.enable": true,
      "console.token": token,
    });
    const running = await run(config, [], log);
    return {
      base: `http://127.0.0.1:${httpPort}/console/`,
      async stop() {
        await running.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  it("refuses to serve without a token, saying why", async () => {
    const c = await start("");
    try {
      const r = await fetch(c.base);
      assert.equal(r.status, 503);
      assert.match(((await r.json()) as { error: string }).error, /console\.token must be set/);
    } finally {
      await c.stop();
    }
  });

  it("asks for the token, and refuses writes without token, CSRF header or from another origin", async () => {
    const c = await start(TOKEN);
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.goto(c.base);
      assert.match(page.url(), /\/console\/login$/);
      await page.fill('input[name="token"]', TOKEN);
      await page.click("button");
      await page.waitForSelector('[data-entity="device/main//"]');
      await page.screenshot({ path: join(SCREENSHOTS, "console-login-ok.png") });

      const read = (headers: Record<string, string> = {}) => fetch(`${c.base}api/snapshot`, { headers });
      assert.equal((await read()).status, 401);
      assert.equal((await read({ authorization: "Bearer wrong-token-of-length" })).status, 401);
      assert.equal((await read({ authorization: `Bearer ${TOKEN}` })).status, 200);

      const html = await (await fetch(c.base, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      const csrf = /name="ledge-csrf" content="([^"]+)"/.exec(html)?.[1] ?? "";
      assert.ok(csrf.length > 10);
      const write = (headers: Record<string, string>) =>
        fetch(`${c.base}api/modbus/read`, { method: "POST", headers, body: '{"device":"plc"}' });
      assert.equal((await write({ "x-ledge-csrf": csrf })).status, 401, "no token");
      assert.equal((await write({ authorization: `Bearer ${TOKEN}` })).status, 403, "no CSRF header");
      assert.equal(
        (
          await write({
            authorization: `Bearer ${TOKEN}`,
            "x-ledge-csrf": csrf,
            origin: "http://evil.example",
          })
        ).status,
        403,
        "cross-origin",
      );
      // positive control: the same write with everything in place reaches the handler
      const ok = await write({ authorization: `Bearer ${TOKEN}`, "x-ledge-csrf": csrf });
      assert.notEqual(ok.status, 401);
      assert.notEqual(ok.status, 403);
    } finally {
      await browser.close();
      await c.stop();
    }
  });
});
