/**
 * Commissioning in the web console (headless Chromium, a pymodbus unit over TCP): modbus.toml is
 * shown, a bad edit is refused with its line (the old file stays), a good one is applied through a
 * real config_update command, and a register range is read once from the unit.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { type Running, run } from "../../src/app/run.ts";
import { loadConfig } from "../../src/config/store.ts";
import { log } from "../helpers/agent-env.ts";
import { browserMissing, launch, SCREENSHOTS } from "../helpers/browser.ts";
import { SLAVE_REGS, type Slave, slaveAvailable, startSlave } from "../helpers/modbus-slave.ts";
import { deviceToml, pointToml } from "../helpers/modbus-toml.ts";
import { freePort, waitFor } from "../helpers/ports.ts";

const skip = browserMissing() || slaveAvailable() || undefined;

describe("web console commissioning", { skip }, () => {
  let slave: Slave;
  let running: Running;
  let browser: Browser;
  let page: Page;
  const dir = mkdtempSync(join(tmpdir(), "ledge-console-modbus-"));
  const file = join(dir, "modbus.toml");
  const device = (interval: number) =>
    deviceToml({
      name: "plc1",
      transport: "tcp",
      host: "127.0.0.1",
      port: slave.tcpPort!,
      unit_id: 1,
      poll_interval_s: interval,
    }) + pointToml({ name: "t", table: "holding", address: 1, type: "int16" });

  before(async () => {
    slave = await startSlave({ tcp: true, units: [1] });
    writeFileSync(file, device(1));
    const httpPort = await freePort();
    const config = loadConfig(dir, {}).with({
      "data.path": join(dir, "data"),
      "mqtt.bind.port": await freePort(),
      "http.bind.port": httpPort,
      "run.components": ["api", "agent", "modbus"],
      "agent.monitor.interval_s": 0,
      "console.enable": true,
    });
    running = await run(config, [], log);
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`http://127.0.0.1:${httpPort}/console/#commissioning`);
  });

  after(async () => {
    await browser?.close();
    await running?.stop();
    await slave?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows modbus.toml and refuses a bad edit with its line, keeping the old file", async () => {
    // polled from here: the page's CSP (no eval) refuses waitForFunction's string predicates
    await waitFor(
      "modbus.toml shown",
      async () => (await page.inputValue("textarea")).includes("plc1") || undefined,
    );
    const good = readFileSync(file, "utf8");
    const bad = good.replace('type = "int16"', 'type = "int17"');
    const line = bad.split("\n").findIndex((l) => l.includes("int17")) + 1;
    await page.fill("textarea", bad);
    await page.click('button:text-is("Check")');
    await page.waitForSelector('[data-result="bad"]');
    assert.match((await page.textContent('[data-result="bad"]')) ?? "", new RegExp(`line ${line}: .*int17`));
    assert.equal(await page.getAttribute(`.gutter li:nth-child(${line})`, "class"), "bad");
    await page.screenshot({ path: join(SCREENSHOTS, "console-commissioning.png") });
    await page.click('button:text-is("Apply")');
    await page.waitForSelector('[data-result="bad"]');
    assert.equal(readFileSync(file, "utf8"), good, "the old file stays");
  });

  it("applies a good edit through config_update", async () => {
    const next = device(2);
    await page.fill("textarea", next);
    await page.click('button:text-is("Apply")');
    await page.waitForSelector('[data-result="ok"]', { timeout: 30_000 });
    assert.match((await page.textContent('[data-result="ok"]')) ?? "", /applied/);
    assert.equal(readFileSync(file, "utf8"), next);
  });

  it("reads a register range once from the unit", async () => {
    await page.fill('input[placeholder^="child device"]', "plc1");
    await page.fill('input[type="number"] >> nth=0', "1");
    await page.fill('input[type="number"] >> nth=1', "1");
    await page.click('button:text-is("Read")');
    await page.waitForSelector("[data-registers]", { timeout: 30_000 });
    assert.equal((await page.textContent("[data-registers]"))?.trim(), String(SLAVE_REGS.int16At1 & 0xffff));
  });
});
