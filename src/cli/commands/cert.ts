import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import { removeFiles, writeCertFile, writeKeyFile } from "../../cert/files.ts";
import type { CertInfo } from "../../cert/x509.ts";
import { ConfigFile } from "../../config/store.ts";
import { configDirOf, configOf, UsageError } from "../context.ts";

const out = (s: string) => process.stdout.write(`${s}\n`);

/** @peculiar/x509 is loaded only by the commands that need it, not at every ledge start-up. */
const x509 = () => import("../../cert/x509.ts");

async function checkId(id: string): Promise<string> {
  const why = (await x509()).deviceIdError(id);
  if (why) throw new UsageError(why);
  return id;
}

export function registerCert(program: Command): void {
  const cert = program.command("cert").description("the device certificate used for mutual TLS to the cloud");

  cert
    .command("create")
    .description("create an EC P-256 key and a self-signed certificate with CN = device id")
    .requiredOption("--device-id <id>", "device id (the certificate CN and the MQTT client id)")
    .option("--days <n>", "validity in days", "365")
    .option("-f, --force", "replace an existing certificate and key", false)
    .action(async (opts: { deviceId: string; days: string; force: boolean }, cmd: Command) => {
      const id = await checkId(opts.deviceId);
      const { createSelfSigned, inspectCert } = await x509();
      const days = Number(opts.days);
      if (!Number.isInteger(days) || days < 1 || days > 36500)
        throw new UsageError(`--days must be a whole number of days from 1 to 36500, got '${opts.days}'`);
      const config = configOf(cmd);
      const certPath = config.path("device.cert_path");
      const keyPath = config.path("device.key_path");
      if (existsSync(certPath) && !opts.force) {
        const cn = await inspectCert(readFileSync(certPath, "utf8")).then(
          (i) => ` (CN=${i.cn})`,
          () => "",
        );
        throw new UsageError(
          `a certificate already exists at ${certPath}${cn}; use --force to replace it, or 'ledge cert remove'`,
        );
      }
      const pems = await createSelfSigned(id, days);
      writeKeyFile(keyPath, pems.key);
      writeCertFile(certPath, pems.cert);
      const info = await inspectCert(pems.cert);
      out(`certificate: ${certPath}\nprivate key: ${keyPath} (mode 0600)\nsubject:     ${info.subject}`);
      out(`valid until: ${info.notAfter.toISOString()}\nthumbprint:  ${info.sha1} (SHA-1)`);
      const current = config.get("device.id");
      if (!current) {
        new ConfigFile(configDirOf(cmd)).set("device.id", id);
        out(`device.id set to ${id}`);
      } else if (current !== id) {
        process.stderr.write(`ledge: warning: device.id is '${current}' but the certificate CN is '${id}'\n`);
      }
      out("next: upload the certificate to your cloud, then 'ledge connect <cloud>'");
    });

  cert
    .command("create-csr")
    .description(
      "create a certificate signing request (CSR) for a CA to sign; reuses the device key if there is one",
    )
    .option("--device-id <id>", "device id (default: device.id, else the current certificate's CN)")
    .option("-o, --output <path>", "where to write the CSR (default: device.csr_path)")
    .action(async (opts: { deviceId?: string; output?: string }, cmd: Command) => {
      const { createCsr, inspectCert } = await x509();
      const config = configOf(cmd);
      const certPath = config.path("device.cert_path");
      const keyPath = config.path("device.key_path");
      let id = opts.deviceId ?? config.get("device.id");
      if (!id && existsSync(certPath)) id = (await inspectCert(readFileSync(certPath, "utf8"))).cn;
      if (!id) throw new UsageError("no device id: pass --device-id or set device.id");
      await checkId(id);
      const existingKey = existsSync(keyPath) ? readFileSync(keyPath, "utf8") : undefined;
      let res: { csr: string; key: string };
      try {
        res = await createCsr(id, existingKey);
      } catch (e) {
        throw new UsageError(`cannot use the key ${keyPath}: ${(e as Error).message}`);
      }
      if (!existingKey) writeKeyFile(keyPath, res.key);
      const csrPath = opts.output ?? config.path("device.csr_path");
      writeCertFile(csrPath, res.csr);
      out(`request:     ${csrPath} (CN=${id})`);
      out(`private key: ${keyPath}${existingKey ? " (existing)" : " (new, mode 0600)"}`);
      out(`next: have your CA sign it and save the certificate as ${certPath}`);
    });

  cert
    .command("show")
    .description("print the device certificate: subject, issuer, validity, thumbprints")
    .action(async (_opts, cmd: Command) => {
      const config = configOf(cmd);
      const certPath = config.path("device.cert_path");
      if (!existsSync(certPath))
        throw new UsageError(
          `no certificate at ${certPath}: create one with 'ledge cert create --device-id ID'`,
        );
      const { inspectCert, keyMatchesCert, validityError } = await x509();
      let info: CertInfo;
      try {
        info = await inspectCert(readFileSync(certPath, "utf8"));
      } catch (e) {
        throw new UsageError(`${certPath}: ${(e as Error).message}`);
      }
      const status = validityError(info, new Date()) ?? "valid";
      out(`file:        ${certPath}`);
      out(`subject:     ${info.subject}`);
      out(`issuer:      ${info.issuer}${info.selfSigned ? " (self-signed)" : ""}`);
      out(`serial:      ${info.serial}`);
      out(`valid from:  ${info.notBefore.toISOString()}`);
      out(`valid until: ${info.notAfter.toISOString()}`);
      out(`status:      ${status}`);
      out(`SHA-1:       ${info.sha1}`);
      out(`SHA-256:     ${info.sha256}`);
      const keyPath = config.path("device.key_path");
      if (existsSync(keyPath)) {
        let match: string;
        try {
          match = keyMatchesCert(readFileSync(certPath, "utf8"), readFileSync(keyPath, "utf8"))
            ? "matches"
            : "DOES NOT MATCH the certificate";
        } catch (e) {
          match = `unreadable (${(e as Error).message})`;
        }
        out(`key:         ${keyPath} ${match}`);
      } else out(`key:         ${keyPath} missing`);
    });

  cert
    .command("remove")
    .description("delete the device certificate and private key")
    .action((_opts, cmd: Command) => {
      const config = configOf(cmd);
      const gone = removeFiles([config.path("device.cert_path"), config.path("device.key_path")]);
      out(gone.length ? gone.map((p) => `removed ${p}`).join("\n") : "no certificate or key to remove");
    });
}
