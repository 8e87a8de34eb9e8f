/**
 * The local Cumulocity proxy in front of the test's HTTPS stand-in, as the c8y mapper builds it,
 * with tokens from `issue` (what JWT over MQTT brings): in the test's process under Node, and in
 * c8y-proxy-server.ts under Bun.
 */
import { readFileSync } from "node:fs";
import type { HttpLimits } from "../../src/foundation/http/exchange.ts";
import { TenantHttp } from "../../src/mappers/c8y/http/client.ts";
import { C8yProxy } from "../../src/mappers/c8y/http/proxy.ts";

export interface ProxySetup {
  tenantPort: number;
  /** The device's PEM files. */
  cert?: string;
  key?: string;
  ca?: string;
  limits?: HttpLimits;
}

export function proxyFor(
  o: ProxySetup,
  issue: () => Promise<string>,
  onError = (_e: unknown) => {},
): C8yProxy {
  let token: string | undefined;
  const http = new TenantHttp({
    endpoint: { host: "127.0.0.1", port: o.tenantPort },
    credentials: {
      async authorization() {
        token ??= await issue();
        return `Bearer ${token}`;
      },
      invalidate() {
        token = undefined;
      },
    },
    cert: o.cert ? readFileSync(o.cert) : undefined,
    key: o.key ? readFileSync(o.key) : undefined,
    ca: o.ca ? [readFileSync(o.ca)] : undefined,
  });
  return new C8yProxy(http, onError, o.limits);
}
