/**
 * Run by Bun from test/mappers/c8y-proxy.test.ts: the local Cumulocity proxy on Bun.serve, as the
 * x64/arm64 binaries serve it, in front of the test's HTTPS stand-in (which needs Node's TLS).
 * The argument (JSON) is a `ProxySetup`. A token is asked of the test as JWT over MQTT would ask
 * the tenant: `token?` on stdout, the answer a line on stdin. Prints `ready <port>` once listening.
 */
import { createInterface } from "node:readline";
import { type ProxySetup, proxyFor } from "./c8y-proxy.ts";

const answers: ((line: string) => void)[] = [];
createInterface({ input: process.stdin }).on("line", (line) => answers.shift()?.(line));
const proxy = proxyFor(
  JSON.parse(process.argv[2] ?? "{}") as ProxySetup,
  () => {
    process.stdout.write("token?\n");
    return new Promise<string>((resolve) => answers.push(resolve));
  },
  (e) => process.stderr.write(`proxy: ${(e as Error).message}\n`),
);
process.stdout.write(`ready ${await proxy.listen("127.0.0.1", 0)}\n`);
process.on("SIGTERM", () => void proxy.close().then(() => process.exit(0)));
