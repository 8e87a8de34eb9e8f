/**
 * What the web console costs: idle RSS of the x64 binary's `ledge run broker api agent` with the console
 * off, on, and on with a page open (live stream connected), the binary's pages evicted from the
 * page cache before each start (a just-built binary reads 4-5 MiB high otherwise).
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { browserMissing, launch } from "../test/helpers/browser.ts";
import { freePort, waitFor } from "../test/helpers/ports.ts";
import { binaryOf, startBinary, target, tempConfigDir } from "../test/helpers/targets-bin.ts";
import { evict, type Mem, median, memOf, sleep } from "./footprint-measure.ts";
import { recordResults, round, table } from "./lib/results.ts";

const x64 = target("linux-x64");
const bin = binaryOf(x64);
const SETTLE_MS = 5000;

async function idle(mode: "off" | "on" | "page"): Promise<Mem> {
  const port = await freePort();
  const http = await freePort();
  const cfg = tempConfigDir(port);
  appendFileSync(
    join(cfg.dir, "ledge.toml"),
    `[http.bind]\nport = ${http}\n[console]\nenable = ${mode !== "off"}\n[agent.monitor]\ninterval_s = 0\n`,
  );
  evict(bin);
  const d = startBinary(x64, ["--config-dir", cfg.dir, "run", "broker", "api", "agent"]);
  const browser = mode === "page" ? await launch() : undefined;
  try {
    await waitFor(
      "agent http",
      () =>
        fetch(`http://127.0.0.1:${http}/te/v1/entities`)
          .then((r) => r.ok || undefined)
          .catch(() => undefined),
      30_000,
    );
    if (browser) {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${http}/console/`);
      await page.waitForSelector('[data-entity="device/main//"]');
    }
    await sleep(SETTLE_MS);
    const samples: Mem[] = [];
    for (let i = 0; i < 5; i++, await sleep(500)) samples.push(memOf(d.proc.pid!));
    return {
      rss: median(samples.map((s) => s.rss)),
      anon: median(samples.map((s) => s.anon)),
      file: 0,
      hwm: 0,
    };
  } finally {
    await browser?.close();
    await d.stop();
    cfg.cleanup();
  }
}

const missing = browserMissing();
if (missing) throw new Error(missing);
const off = await idle("off");
const on = await idle("on");
const page = await idle("page");
const cost = (m: Mem) => m.rss - off.rss;
process.stdout.write(
  `console off ${round(off.rss)} MiB, on ${round(on.rss)}, with a page open ${round(page.rss)}\n`,
);
recordResults(
  "console",
  {
    "console.rss_idle_off_mib": { value: off.rss, unit: "MiB" },
    "console.rss_idle_on_mib": { value: on.rss, unit: "MiB" },
    "console.rss_idle_page_open_mib": { value: page.rss, unit: "MiB" },
    "console.rss_cost_mib": { value: cost(page), unit: "MiB" },
    "console.anon_cost_mib": { value: page.anon - off.anon, unit: "MiB" },
  },
  `## Web console (bench/console.ts)

Idle \`ledge run broker api agent\` of the x64 binary, binary pages evicted before each start, median of 5
samples after ${SETTLE_MS / 1000} s: the console off, on, and on with one page open in headless
Chromium (its live stream connected). Target: ≤ 2 MiB RSS when enabled.

${table(
  ["console", "RSS MiB", "anonymous MiB"],
  [
    ["off", round(off.rss), round(off.anon)],
    ["on, no page", round(on.rss), round(on.anon)],
    ["on, one page open", round(page.rss), round(page.anon)],
    ["cost (page open − off)", round(cost(page)), round(page.anon - off.anon)],
  ],
)}
`,
);
