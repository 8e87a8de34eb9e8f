// @peculiar/x509's dependency injection (tsyringe) needs the Reflect metadata API loaded first.
import "reflect-metadata";
import { createPrivateKey, createPublicKey, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

/**
 * Device certificates with @peculiar/x509 on WebCrypto (the same code on Node and Bun): EC P-256
 * keys, SHA-256 signatures, no hand-written ASN.1.
 */
const crypto = webcrypto as unknown as Crypto;
const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface Pems {
  cert: string;
  key: string;
}

/** Rejects ids that cannot be an MQTT client id or an X.500 common name as is. */
export function deviceIdError(id: string): string | undefined {
  if (!id) return "the device id is empty";
  if (id.length > 64) return "the device id is longer than 64 characters (the CN limit)";
  if (!/^[A-Za-z0-9_.:@-]+$/.test(id))
    return `the device id '${id}' may only contain letters, digits and _ . : @ -`;
  return undefined;
}

/** deviceIdError keeps `,` `=` `+` out of the id, so it needs no escaping here. */
const cnName = (id: string) => `CN=${id}, O=ledge, OU=Device`;

/**
 * A self-signed device certificate (CN = device id). It is its own CA (basicConstraints CA,
 * keyCertSign), which is how clouds like Cumulocity trust an uploaded self-signed certificate.
 */
export async function createSelfSigned(deviceId: string, days = 365, now = new Date()): Promise<Pems> {
  const keys = (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
  const notBefore = new Date(now.getTime() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: cnName(deviceId),
      notBefore,
      notAfter: new Date(now.getTime() + days * 86_400_000),
      keys,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

/** A PKCS#10 request for CN = device id, signed by `keyPem` (a fresh key when none is given). */
export async function createCsr(
  deviceId: string,
  keyPemText?: string,
): Promise<{ csr: string; key: string }> {
  const keys = keyPemText
    ? await importKeyPair(keyPemText)
    : ((await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: cnName(deviceId),
      keys,
      signingAlgorithm: EC,
      extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
    },
    crypto,
  );
  return { csr: csr.toString("pem"), key: keyPemText ?? (await keyPem(keys.privateKey)) };
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return `${x509.PemConverter.encode(der, "PRIVATE KEY")}\n`;
}

/** Any PEM EC P-256 key (PKCS#8 or SEC1 "EC PRIVATE KEY") as a WebCrypto pair. */
async function importKeyPair(pem: string): Promise<CryptoKeyPair> {
  const priv = createPrivateKey(pem);
  if (priv.asymmetricKeyType !== "ec" || priv.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    throw new Error("the device key is not an EC P-256 key");
  const pkcs8 = priv.export({ type: "pkcs8", format: "der" });
  const spki = createPublicKey(priv).export({ type: "spki", format: "der" });
  return {
    privateKey: await crypto.subtle.importKey("pkcs8", pkcs8, EC, true, ["sign"]),
    publicKey: await crypto.subtle.importKey("spki", spki, EC, true, ["verify"]),
  };
}

function randomSerial(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[0] = b[0]! & 0x7f; // positive
  return Buffer.from(b).toString("hex");
}

export interface CertInfo {
  subject: string;
  issuer: string;
  cn: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  selfSigned: boolean;
  sha1: string;
  sha256: string;
}

const hex = (b: ArrayBuffer) =>
  Buffer.from(b)
    .toString("hex")
    .toUpperCase()
    .replace(/(..)(?!$)/g, "$1:");

/** Parses the first certificate of a PEM file; throws a clear error for anything else. */
export async function inspectCert(pem: string): Promise<CertInfo> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(pem);
  } catch (e) {
    throw new Error(`not a PEM X.509 certificate (${(e as Error).message})`);
  }
  const cn = cert.subjectName.getField("CN")[0] ?? "";
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    cn,
    serial: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    selfSigned: cert.subject === cert.issuer,
    sha1: hex(await cert.getThumbprint("SHA-1", crypto)),
    sha256: hex(await cert.getThumbprint("SHA-256", crypto)),
  };
}

/** True when `keyPem` is the private half of the certificate's public key. */
export function keyMatchesCert(certPem: string, keyPemText: string): boolean {
  const cert = new x509.X509Certificate(certPem);
  const fromCert = Buffer.from(cert.publicKey.rawData);
  const fromKey = createPublicKey(createPrivateKey(keyPemText)).export({ type: "spki", format: "der" });
  return fromCert.equals(fromKey);
}

/** Validity problems at `now`, or undefined. */
export function validityError(info: CertInfo, now: Date): string | undefined {
  if (now < info.notBefore) return `the certificate is not valid before ${info.notBefore.toISOString()}`;
  if (now > info.notAfter) return `the certificate expired on ${info.notAfter.toISOString()}`;
  return undefined;
}
