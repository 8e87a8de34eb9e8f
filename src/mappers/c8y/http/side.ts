/**
 * The c8y mapper's HTTP side, run when a Cumulocity host is configured: JWT over MQTT, HTTPS to
 * the tenant with the device certificate, the uploads of finished log and config requests, and
 * the local proxy. `upload` reports each outcome through `emit` (506 with the URL, or 505).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../../../component/component.ts";
import type { Config } from "../../../config/store.ts";
import type { OutMessage } from "../../common/types.ts";
import { failed, successful, type UploadRequest } from "../command-status.ts";
import { parseTenant, type TenantEndpoint, TenantHttp } from "./client.ts";
import { basicAuth, basicFromConfig } from "./credentials.ts";
import { JwtOverMqtt } from "./jwt.ts";
import { C8yProxy } from "./proxy.ts";
import type { ProxyUrls } from "./proxy-url.ts";
import { uploadToEvent } from "./upload.ts";

/** `c8y.http`, else the host of `c8y.url` on 443; undefined when neither is set. */
export function tenantEndpoint(config: Config): TenantEndpoint | undefined {
  const http = config.get("c8y.http");
  if (http) return parseTenant(http);
  const mqtt = config.get("c8y.url");
  if (!mqtt) return undefined;
  return { host: parseTenant(mqtt.replace(/^mqtts?:\/\//, "")).host, port: 443 };
}

export function proxyUrls(config: Config): ProxyUrls {
  const host = config.get("c8y.proxy.client.host");
  return {
    base: `http://${host.includes(":") ? `[${host}]` : host}:${config.get("c8y.proxy.client.port")}`,
    tenantHosts: [config.get("c8y.http"), config.get("c8y.url").replace(/^\w+:\/\//, "")].filter(Boolean),
  };
}

/** A PEM file, or every .pem/.crt in a directory; "" means the runtime's built-in roots. */
function readCa(path: string): Buffer[] | undefined {
  if (!path) return undefined;
  if (!statSync(path).isDirectory()) return [readFileSync(path)];
  return readdirSync(path)
    .filter((f) => /\.(pem|crt|cer)$/i.test(f))
    .map((f) => readFileSync(join(path, f)));
}

function readPem(path: string, required: boolean): Buffer | undefined {
  return required || existsSync(path) ? readFileSync(path) : undefined;
}

export class HttpSide {
  readonly http: TenantHttp;
  /** Absent for a basic-auth device (no s/uat). */
  private readonly jwt?: JwtOverMqtt;
  private readonly proxy: C8yProxy;
  private readonly running = new Set<Promise<void>>();
  /** The proxy's port once listening (the configured one, or the one the OS chose for 0). */
  proxyPort?: number;

  constructor(
    private readonly ctx: Context,
    endpoint: TenantEndpoint,
    private readonly emit: (out: OutMessage[]) => void,
  ) {
    const { config } = ctx;
    const basic = basicFromConfig(config);
    if (!basic) this.jwt = new JwtOverMqtt({ bus: ctx.bus, now: ctx.clock });
    this.http = new TenantHttp({
      endpoint,
      credentials: this.jwt ?? basicAuth(basic!),
      // A basic-auth device may have no certificate; a certificate device must.
      cert: readPem(config.path("device.cert_path"), !basic),
      key: readPem(config.path("device.key_path"), !basic),
      ca: readCa(config.get("bridge.root_cert_path")),
    });
    this.proxy = new C8yProxy(this.http, (e) => ctx.log.warn("proxy request failed", { error: e }));
  }

  async start(): Promise<void> {
    await this.jwt?.start();
    const { config } = this.ctx;
    const [host, port] = [config.get("c8y.proxy.bind.address"), config.get("c8y.proxy.bind.port")];
    // Without its proxy the mapper still maps and uploads: a taken port costs the proxy only.
    try {
      this.proxyPort = await this.proxy.listen(host, port);
    } catch (e) {
      this.ctx.log.error(`the Cumulocity proxy cannot listen on ${host}:${port}: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    await this.proxy.close();
    await Promise.allSettled([...this.running]);
    await this.jwt?.stop();
  }

  upload(req: UploadRequest): void {
    const clear: OutMessage = { topic: req.cmdTopic, payload: "", retain: true, qos: 1 };
    const job = {
      op: req.op,
      xid: req.entity.externalId,
      type: req.type,
      tedgeUrl: req.tedgeUrl,
      time: new Date(this.ctx.clock()).toISOString(),
    };
    const p = uploadToEvent(this.http, job, join(this.ctx.config.dataDir, "c8y", "uploads")).then(
      (url) => this.emit([successful(req.ref, url), clear]),
      (e: unknown) => {
        this.ctx.log.warn("upload to Cumulocity failed", { op: req.op, type: req.type, error: e });
        this.emit([failed(req.ref, `Upload failed with ${(e as Error).message}`), clear]);
      },
    );
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }
}
