/**
 * Run by Bun from test/mappers/c8y-proxy.test.ts: the local Cumulocity proxy on Bun.serve, as the
 * x64/arm64 binaries serve it, in front of the test's HTTPS stand-in (which needs Node's TLS).
 * The argument (JSON) names the tenant port, the device's PEM files and the limits. A token is
 * asked of the test as JWT over MQTT would ask the tenant: `token?` on stdout, the answer a line
 * on stdin. Prints `ready <port>` once listening.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { HttpLimits } from "../../src/foundation/http/exchange.ts";
import { TenantHttp } from "../../src/mappers/c8y/http/client.ts";
import { C8yProxy } from "../../src/mappers/c8y/http/proxy.ts";

const o = JSON.parse(process.argv[2] ?? "{}") as {
  tenantPort: number;
  cert?: string;
  key?: string;
  ca?: string;
  limits?: HttpLimits;
};
const answers: ((line: string) => void)[] = [];
createInterface({ input: process.stdin }).on("line", (line) => answers.shift()?.(line));
let token: string | undefined;
const http = new TenantHttp({
  endpoint: { host: "127.0.0.1", port: o.tenantPort },
  credentials: {
    async authorization() {
      if (!token) {
        process.stdout.write("token?\n");
        token = await new Promise<string>((resolve) => answers.push(resolve));
      }
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
const proxy = new C8yProxy(http, (e) => process.stderr.write(`proxy: ${(e as Error).message}\n`), o.limits);
process.stdout.write(`ready ${await proxy.listen("127.0.0.1", 0)}\n`);
process.on("SIGTERM", () => void proxy.close().then(() => process.exit(0)));
