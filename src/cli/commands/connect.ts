import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import { CLOUDS, type CloudName, isCloudName } from "../../bridge/routes.ts";
import { enableKey, linkSettings } from "../../bridge/settings.ts";
import type { CertInfo } from "../../cert/x509.ts";
import { type Config, ConfigFile } from "../../config/store.ts";
import { configDirOf, configOf, UsageError } from "../context.ts";

const out = (s: string) => process.stdout.write(`${s}\n`);

function cloudArg(name: string): CloudName {
  if (!isCloudName(name)) throw new UsageError(`unknown cloud '${name}' (one of: ${CLOUDS.join(", ")})`);
  return name;
}

/** Certificate and key present, parseable, matching, in date, and CN = device.id where the cloud needs it. */
async function checkCertificate(config: Config, cloud: CloudName): Promise<void> {
  // Loaded here, not at every ledge start-up.
  const { inspectCert, keyMatchesCert, validityError } = await import("../../cert/x509.ts");
  const certPath = config.path("device.cert_path");
  const keyPath = config.path("device.key_path");
  const hint = "create one with 'ledge cert create --device-id ID'";
  if (!existsSync(certPath))
    throw new UsageError(`no device certificate at ${certPath} (device.cert_path): ${hint}`);
  if (!existsSync(keyPath)) throw new UsageError(`no private key at ${keyPath} (device.key_path): ${hint}`);
  const certPem = readFileSync(certPath, "utf8");
  let info: CertInfo;
  try {
    info = await inspectCert(certPem);
  } catch (e) {
    throw new UsageError(`${certPath}: ${(e as Error).message}`);
  }
  let matches: boolean;
  try {
    matches = keyMatchesCert(certPem, readFileSync(keyPath, "utf8"));
  } catch (e) {
    throw new UsageError(`${keyPath}: not a usable private key (${(e as Error).message})`);
  }
  if (!matches) throw new UsageError(`the private key ${keyPath} does not match the certificate ${certPath}`);
  const bad = validityError(info, new Date());
  if (bad) throw new UsageError(`${certPath}: ${bad}; renew it ('ledge cert create --force' or your CA)`);
  const id = config.get("device.id");
  if (cloud !== "mqtt" && id && info.cn !== id)
    throw new UsageError(
      `device.id is '${id}' but the certificate CN is '${info.cn}': the cloud identifies the device by the CN`,
    );
  out(`certificate ok: CN=${info.cn}, valid until ${info.notAfter.toISOString()}`);
}

/** `run.components` with `add` appended (once) and `drop` removed. */
function editComponents(config: Config, add: string[], drop: string[]): string[] {
  const list = config.get("run.components").filter((c) => !drop.includes(c));
  for (const c of add) if (!list.includes(c)) list.push(c);
  return list;
}

async function connect(cmd: Command, cloud: CloudName, testOnly: boolean): Promise<void> {
  const config = configOf(cmd);
  const usesCert = cloud !== "mqtt" || config.get("bridge.mqtt.use_cert");
  if (usesCert) await checkCertificate(config, cloud);
  let settings: ReturnType<typeof linkSettings>;
  try {
    settings = linkSettings(config, cloud);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  out(`testing the connection to ${settings.where} ...`);
  const { probe } = await import("../../bridge/probe.ts");
  const r = await probe(settings);
  if (!r.ok) throw new UsageError(r.failure.message);
  out(`connection ok (${r.ms} ms): ${r.verified.join("; ")}`);
  if (testOnly) return;
  const file = new ConfigFile(configDirOf(cmd));
  file.set(enableKey(cloud), "true");
  const components = editComponents(config, [`${cloud}-mapper`, "bridge"], []);
  file.set("run.components", JSON.stringify(components));
  out(`enabled: ${cloud}-mapper and the bridge to ${cloud} (run.components = ${components.join(", ")})`);
  out("restart ledge ('ledge run' or its service) to apply");
}

function disconnect(cmd: Command, cloud: CloudName): void {
  const config = configOf(cmd);
  const file = new ConfigFile(configDirOf(cmd));
  file.set(enableKey(cloud), "false");
  const othersOn = CLOUDS.some((c) => c !== cloud && config.get(enableKey(c)) === true);
  const components = editComponents(config, [], [`${cloud}-mapper`, ...(othersOn ? [] : ["bridge"])]);
  file.set("run.components", JSON.stringify(components));
  out(`disabled: ${cloud}-mapper and the bridge to ${cloud}; messages still queued for it stay on disk`);
  out("restart ledge to apply");
}

export function registerConnect(program: Command): void {
  program
    .command("connect")
    .description(
      "check config and certificate, test the connection, then enable the mapper and bridge for a cloud",
    )
    .argument("<cloud>", `one of: ${CLOUDS.join(", ")}`)
    .option("--test", "only check and test, change nothing", false)
    .action(async (cloud: string, opts: { test: boolean }, cmd: Command) => {
      await connect(cmd, cloudArg(cloud), opts.test);
    });
  program
    .command("disconnect")
    .description("disable the mapper and bridge for a cloud")
    .argument("<cloud>", `one of: ${CLOUDS.join(", ")}`)
    .action((cloud: string, _opts, cmd: Command) => disconnect(cmd, cloudArg(cloud)));
  program
    .command("reconnect")
    .description("disconnect, then connect again (with the connection test)")
    .argument("<cloud>", `one of: ${CLOUDS.join(", ")}`)
    .action(async (cloud: string, _opts, cmd: Command) => {
      const c = cloudArg(cloud);
      disconnect(cmd, c);
      await connect(cmd, c, false);
    });
}
