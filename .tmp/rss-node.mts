// Ad hoc: peak RSS (VmHWM) of the Bun mapper process uploading a big file, vs file size.
import { spawn } from "node:child_process";
import { createReadStream, mkdtempSync, readFileSync, statSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { C8yStandIn } from "/work/wt/c8y/test/helpers/c8y-standin.ts";
import { freePort, waitFor } from "/work/wt/c8y/test/helpers/ports.ts";
import { clientCert, createPki } from "/work/wt/c8y/test/helpers/tls-pki.ts";
const MB = Number(process.argv[2] ?? 256);
const ROOT = "/work/wt/c8y";
const dir = mkdtempSync(join(tmpdir(), "rss-"));
const file = join(dir, "big.log");
const fd = openSync(file, "w");
const chunk = Buffer.alloc(1 << 20, "x\n");
for (let i = 0; i < MB; i++) writeSync(fd, chunk);
closeSync(fd);
const pki = createPki();
const device = clientCert(pki, "test-device");
// A stand-in that counts the body instead of keeping it: patch handle? Use a plain HTTPS server check via tenant but it buffers. Fine: tenant runs in this process, not the measured one.
const tenant = new C8yStandIn(pki, "test-device");
await tenant.start();
tenant.addDevice("test-device");
const fts = createServer((req, res) => {
  if (req.method !== "GET") { res.writeHead(204); res.end(); return; }
  res.writeHead(200, { "Content-Length": statSync(file).size });
  createReadStream(file).pipe(res);
});
await new Promise<void>((r) => fts.listen(0, "127.0.0.1", r));
const values = { "device.cert_path": device.cert, "device.key_path": device.key, "bridge.root_cert_path": pki.caCert,
  "c8y.http": `127.0.0.1:${tenant.port}`, "c8y.proxy.bind.port": await freePort(), "c8y.availability.enable": false, "data.path": dir };
const proc = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test/helpers/mappers-bun-server.ts"), JSON.stringify(values)], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<number>((resolve) => { let out = ""; proc.stdout!.on("data", (d) => { out += d; const m = /ready (\d+)/.exec(out); if (m) resolve(Number(m[1])); }); });
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))![1]) / 1024;
const c = await mqtt.connectAsync({ host: "127.0.0.1", port });
const seen: { topic: string; payload: string }[] = [];
c.on("message", (topic, p) => { seen.push({ topic, payload: p.toString() }); if (topic === "c8y/s/uat") c.publish("c8y/s/dat", `71,${tenant.issueToken()}`); });
await c.subscribeAsync(["c8y/#", "te/+/+/+/+/cmd/+/+"], { qos: 1 });
await c.publishAsync("te/device/main///cmd/log_upload", '{"types":["app"]}', { qos: 1, retain: true });
await waitFor("114", () => seen.find((s) => s.payload.startsWith("114")));
const before = hwm();
await c.publishAsync("c8y/devicecontrol/notifications", JSON.stringify({ id: "77", c8y_LogfileRequest: { logFile: "app" } }), { qos: 1 });
const cmd = await waitFor("cmd", () => seen.find((s) => s.topic.endsWith("/c8y-mapper-77") && s.payload));
const url = `http://127.0.0.1:${(fts.address() as AddressInfo).port}/f/app-c8y-mapper-77`;
const t0 = Date.now();
await c.publishAsync(cmd.topic, JSON.stringify({ ...JSON.parse(cmd.payload), status: "successful", tedgeUrl: url }), { qos: 1, retain: true });
const done = await waitFor("506", () => seen.find((s) => /^50[56],77/.test(s.payload)), 300_000);
const id = /events\/(\d+)/.exec(done.payload)?.[1];
console.log(JSON.stringify({ fileMiB: MB, peakRssBeforeMiB: before.toFixed(1), peakRssAfterMiB: hwm().toFixed(1), seconds: (Date.now() - t0) / 1000, result: done.payload.slice(0, 60), received: tenant.binaries.get(id!)?.content.length }));
proc.kill("SIGKILL"); fts.close(); await c.endAsync(true); await tenant.stop(); pki.cleanup(); process.exit(0);
