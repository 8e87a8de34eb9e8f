/**
 * Fuzz suite over ledge's local entry points, against a real `ledge run` (broker, api, agent):
 * te/ topics and payloads, entity HTTP bodies, file paths, config values and files, CLI arguments.
 * Bounded and seeded (see seeded.ts): each failure names the seed that reproduces it. After every
 * phase the process must be up, answer a health check, process a valid message correctly, and its
 * RSS must be back within a bound of where it started.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { ConfigError } from "../../src/config/parse-value.ts";
import { schema } from "../../src/config/schema.ts";
import { ConfigFile, loadConfig } from "../../src/config/store.ts";
import { ledge, ledgeSpawn, tempConfig } from "../helpers/cli.ts";
import { waitFor } from "../helpers/ports.ts";
import { json, payload, Rng, SCALE, SEED, teTopic, text } from "./seeded.ts";

const MiB = 1024 * 1024;
/** RSS may stay this far above the baseline after a phase (V8 keeps some heap it grew). */
const RSS_SLACK = 96 * MiB;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1]) * 1024;
}

function http(
  port: number,
  method: string,
  path: string,
  body?: string | Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, method, path, timeout: 10_000 }, (res) => {
      let text = "";
      res.on("data", (d) => {
        text += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    // a path node:http itself refuses (control characters) never reaches ledge
    req.on("error", (e) => resolve({ status: -1, body: e.message }));
    req.end(body);
  });
}

/** A URL path for any string: lone surrogates go out as the invalid UTF-8 bytes they would be. */
function uri(s: string): string {
  const marked = s.replace(/[\ud800-\udfff]/g, (c) => (c < "\udc00" ? "\u0001" : "\u0002"));
  return encodeURI(marked).replace(/%01|%02/g, (m) => (m === "%01" ? "%ED%A0%80" : "%ED%B0%80"));
}

/** Runs a phase; a failure carries the seed that reproduces it. */
async function seeded(phase: string, f: (r: Rng) => Promise<void>): Promise<void> {
  try {
    await f(new Rng(SEED + phase.length * 7919));
  } catch (e) {
    (e as Error).message =
      `[fuzz ${phase}] ${(e as Error).message}\nreproduce: LEDGE_FUZZ_SEED=${SEED} node --import tsx --test test/fuzz/entry-points.test.ts`;
    throw e;
  }
}

describe(`fuzz: local entry points (seed ${SEED})`, () => {
  let dir: string;
  let mqttPort: number;
  let httpPort: number;
  let proc: ChildProcess;
  let client: MqttClient;
  let baseline = 0;
  let checks = 0;
  const seen = new Map<string, string>();
  const outside = mkdtempSync(join(tmpdir(), "ledge-fuzz-outside-"));

  before(async () => {
    const c = await tempConfig({ "run.components": ["api", "agent"], "agent.monitor.interval_s": 0 });
    dir = c.dir;
    mqttPort = c.port;
    httpPort = loadConfig(dir, {}).get("http.bind.port");
    proc = ledgeSpawn(["--config-dir", dir, "run"]);
    let err = "";
    proc.stderr?.on("data", (d) => {
      if (err.length < 100_000) err += d;
    });
    await waitFor(`ledge run to start (${err})`, () => /ledge running/.test(err) || undefined, 60_000);
    client = await mqtt.connectAsync({ host: "127.0.0.1", port: mqttPort, clientId: `fuzz-${process.pid}` });
    client.on("message", (t, m) => seen.set(t, m.toString()));
    await client.subscribeAsync(["te/device/main/service/+/status/health", "te/device/+//"], { qos: 1 });
    writeFileSync(join(outside, "sentinel"), "untouched");
    await healthy("start");
    baseline = rssOf(proc.pid!);
  });
  after(async () => {
    await client?.endAsync(true);
    proc?.kill("SIGTERM");
    await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once("exit", r)));
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  /** Up, answering a health check, processing a valid message, RSS back within the bound. */
  async function healthy(phase: string): Promise<void> {
    assert.equal(proc.exitCode, null, `ledge exited after ${phase}`);
    const topic = "te/device/main/service/ledge-api/status/health";
    seen.delete(topic);
    await client.publishAsync("te/device/main/service/ledge-api/cmd/health/check", "{}", { qos: 1 });
    const h = await waitFor(`health answer after ${phase}`, () => seen.get(topic), 15_000);
    assert.equal(JSON.parse(h).status, "up");
    // a valid measurement of a new child: auto-registered by the api, listed by the agent's HTTP API
    const child = `ok${++checks}`;
    await client.publishAsync(`te/device/${child}///m/env`, '{"temp":21.5}', { qos: 1 });
    const reg = await waitFor(
      `registration of ${child} after ${phase}`,
      () => seen.get(`te/device/${child}//`),
      15_000,
    );
    assert.equal(JSON.parse(reg).name, child);
    await waitFor(
      `GET of ${child} after ${phase}`,
      async () =>
        (await http(httpPort, "GET", `/te/v1/entities/device/${child}//`)).status === 200 || undefined,
      15_000,
    );
    if (baseline) {
      const rss = await waitFor(
        `RSS within ${RSS_SLACK / MiB} MiB of ${(baseline / MiB).toFixed(0)} MiB after ${phase}`,
        () => {
          const r = rssOf(proc.pid!);
          return r <= baseline + RSS_SLACK ? r : undefined;
        },
        15_000,
        250,
      );
      assert.ok(rss > 0);
    }
    assert.equal(readFileSync(join(outside, "sentinel"), "utf8"), "untouched");
  }

  it("te/ topics and payloads", () =>
    seeded("te", async (r) => {
      for (let i = 0; i < 1500 * SCALE; i++) {
        const retain = r.chance(0.2);
        await client.publishAsync(teTopic(r), payload(r), { qos: r.chance(0.1) ? 1 : 0, retain });
      }
      // the main device and ledge's services survive empty retained registrations
      for (const t of [
        "te/device/main//",
        "te/device/main/service/ledge-api",
        "te/device/main/service/ledge-agent",
      ])
        await client.publishAsync(t, "", { qos: 1, retain: true });
      await healthy("te/ fuzz");
      await waitFor("main device registration restored", () =>
        seen.get("te/device/main//") ? true : undefined,
      );
    }));

  it("entity HTTP bodies and paths", () =>
    seeded("entities", async (r) => {
      for (let i = 0; i < 300 * SCALE; i++) {
        const k = r.int(4);
        const res =
          k === 0
            ? await http(
                httpPort,
                "POST",
                "/te/v1/entities",
                JSON.stringify({ "@topic-id": r.pick(["device/x//", text(r, 6)]), ...(json(r) as object) }),
              )
            : k === 1
              ? await http(httpPort, "POST", "/te/v1/entities", Buffer.from(payload(r)))
              : await http(
                  httpPort,
                  r.pick(["GET", "DELETE", "PUT", "PATCH"]),
                  `/te/v1/entities/${uri(text(r, 8))}`,
                );
        assert.ok(res.status < 500, `HTTP ${res.status} ${res.body}`);
      }
      await healthy("entity HTTP fuzz");
    }));

  it("file paths", () =>
    seeded("files", async (r) => {
      const root = join(dir, "data", "file-transfer");
      mkdirSync(root, { recursive: true });
      for (let i = 0; i < 300 * SCALE; i++) {
        const raw = Array.from({ length: 1 + r.int(4) }, () => text(r, 5)).join(
          r.pick(["/", "//", "%2f", "\\"]),
        );
        // half as encodeURI would send it, half with '%' left raw (so '%2e%2e' arrives as is)
        const path = `/te/v1/files/${r.chance(0.5) ? uri(raw) : uri(raw).replace(/%25/g, "%")}`;
        const res = await http(
          httpPort,
          r.pick(["PUT", "GET", "DELETE", "HEAD"]),
          path,
          r.chance(0.5) ? "fuzz" : undefined,
        );
        assert.ok(res.status < 500, `HTTP ${res.status} for ${path}: ${res.body}`);
      }
      assert.deepEqual(readdirSync(outside), ["sentinel"]);
      await healthy("file path fuzz");
    }));

  it("config values: whatever config set accepts, ledge run's loader accepts", () =>
    seeded("config-values", async (r) => {
      const scratch = mkdtempSync(join(tmpdir(), "ledge-fuzz-cfg-"));
      const keys = Object.keys(schema) as (keyof typeof schema)[];
      try {
        for (let i = 0; i < 400 * SCALE; i++) {
          const key = r.pick(keys);
          const value = r.pick([
            text(r, 6),
            String(r.int(70000) - 5),
            "true",
            "[]",
            '["api","agent"]',
            "a,b",
            "",
            "0.0.0.0",
            "::1",
          ]);
          try {
            new ConfigFile(scratch).set(key, value);
          } catch (e) {
            assert.ok(e instanceof ConfigError, `${key}=${JSON.stringify(value)}: ${(e as Error).stack}`);
            continue;
          }
          assert.doesNotThrow(
            () => loadConfig(scratch, {}),
            `${key}=${JSON.stringify(value)} was set but breaks loading`,
          );
        }
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    }));

  it("config files through config_update: installed only when ledge can load them", () =>
    seeded("config-files", async (r) => {
      const cmd = new Map<string, string>();
      const sub = "te/device/main///cmd/config_update/+";
      client.on("message", (t, m) => {
        if (t.startsWith("te/device/main///cmd/config_update/")) cmd.set(t, m.toString());
      });
      await client.subscribeAsync(sub, { qos: 1 });
      const good = readFileSync(join(dir, "ledge.toml"), "utf8");
      for (let i = 0; i < 12 * SCALE; i++) {
        const before = readFileSync(join(dir, "ledge.toml"), "utf8");
        const lines = good.split("\n");
        // mutate the working file: a line dropped, a value replaced, garbage appended
        const k = r.int(3);
        if (k === 0) lines.splice(r.int(lines.length), 1);
        else if (k === 1)
          lines.push(
            `${r.pick(["device.id", "run.components", "http.bind.address", "mqtt.topic_root", "x.y"])} = ${JSON.stringify(json(r, 1))}`,
          );
        else lines.push(text(r, 10));
        const content = lines.join("\n");
        const url = `http://127.0.0.1:${httpPort}/te/v1/files/fuzz/cfg${i}`;
        assert.equal((await http(httpPort, "PUT", `/te/v1/files/fuzz/cfg${i}`, content)).status, 201);
        const topic = `te/device/main///cmd/config_update/fz${SEED}-${i}`;
        await client.publishAsync(
          topic,
          JSON.stringify({ status: "init", type: "ledge.toml", tedgeUrl: url }),
          { qos: 1, retain: true },
        );
        const done = await waitFor(
          `config_update ${i}`,
          () => {
            const s = cmd.get(topic);
            return s && /"(successful|failed)"/.test(s) ? JSON.parse(s) : undefined;
          },
          15_000,
        );
        if (done.status === "successful")
          assert.doesNotThrow(() => loadConfig(dir, {}), `installed but not loadable:\n${content}`);
        else
          assert.equal(
            readFileSync(join(dir, "ledge.toml"), "utf8"),
            before,
            "a refused file replaced the old one",
          );
        await client.publishAsync(topic, "", { qos: 1, retain: true });
        // keep the running process's own settings for the next round
        writeFileSync(join(dir, "ledge.toml"), good);
      }
      await client.unsubscribeAsync(sub);
      assert.ok(!existsSync(join(dir, `ledge.toml.new-${proc.pid}`)));
      await healthy("config file fuzz");
    }));

  it("CLI arguments: an error message and an exit code, never a crash", () =>
    seeded("cli", async (r) => {
      const words = [
        "config",
        "get",
        "set",
        "unset",
        "list",
        "--all",
        "--doc",
        "mqtt",
        "pub",
        "cert",
        "show",
        "serial",
        "check",
        "--help",
        "-c",
        "--qos",
        "--retain",
      ];
      for (let i = 0; i < 6 * SCALE; i++) {
        const args = Array.from({ length: 1 + r.int(4) }, () =>
          r.chance(0.6) ? r.pick(words) : text(r, 5).replace(/\u0000/g, ""),
        );
        // never against the real config dir of this machine; mqtt pub talks to the fuzzed ledge
        const res = ledge(["-c", join(dir, "cli"), ...args], { LEDGE_MQTT_CLIENT_PORT: String(mqttPort) });
        assert.notEqual(res.code, null, `ledge ${JSON.stringify(args)} was killed`);
        assert.doesNotMatch(
          res.stderr,
          /\n\s+at .*\(.*:\d+:\d+\)/,
          `ledge ${JSON.stringify(args)} printed a stack trace`,
        );
      }
      await healthy("CLI fuzz");
    }));
});
