import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";

/** A throwaway PKI made with the openssl CLI: a CA, a server cert for 127.0.0.1, client certs. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  cleanup(): void;
}

const openssl = (args: string[], cwd: string) =>
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

export function createCa(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  openssl(
    [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  return { cert, key };
}

/** A leaf signed by `ca`; `ext` is an openssl extension line (SAN, EKU). */
export function issue(
  dir: string,
  ca: { cert: string; key: string },
  name: string,
  cn: string,
  ext: string,
): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, `${ext}\n`);
  openssl(["req", ...EC, "-keyout", key, "-out", csr, "-subj", `/CN=${cn}`], dir);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca.cert,
      "-CAkey",
      ca.key,
      "-CAcreateserial",
      "-out",
      cert,
      "-days",
      "2",
      "-extfile",
      extFile,
    ],
    dir,
  );
  return { cert, key };
}

export function clientCert(pki: Pki, cn: string, name = `client-${cn}`) {
  return issue(pki.dir, { cert: pki.caCert, key: pki.caKey }, name, cn, "extendedKeyUsage=clientAuth");
}

export function createPki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "ledge-pki-"));
  // mosquitto started as root drops to the `mosquitto` user and must still read these.
  chmodSync(dir, 0o755);
  const ca = createCa(dir, "cloud-ca");
  const server = issue(
    dir,
    ca,
    "server",
    "localhost",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
  );
  return {
    dir,
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: server.cert,
    serverKey: server.key,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * mosquitto config for a cloud stand-in: a TLS listener that requires a client certificate
 * trusted by `clientCas` (PEM files, concatenated), plus a plain listener for the test's observer.
 */
export async function cloudBrokerConfig(
  pki: Pki,
  clientCas: string[],
): Promise<{ lines: string[]; tlsPort: number; plainPort: number }> {
  const tlsPort = await freePort();
  const plainPort = await freePort();
  const bundle = join(pki.dir, `client-cas-${tlsPort}.pem`);
  writeFileSync(bundle, clientCas.map((f) => readFileSync(f, "utf8")).join("\n"));
  for (const f of readdirSync(pki.dir)) chmodSync(join(pki.dir, f), 0o644);
  return {
    tlsPort,
    plainPort,
    lines: [
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${bundle}`,
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
      "require_certificate true",
      "use_identity_as_username true",
      `listener ${plainPort} 127.0.0.1`,
      "allow_anonymous true",
    ],
  };
}
