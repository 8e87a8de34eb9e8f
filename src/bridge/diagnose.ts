/** What went wrong reaching a cloud, in words a user can act on. */
export type FailureKind = "dns" | "unreachable" | "timeout" | "tls" | "rejected" | "refused" | "other";

export interface Failure {
  kind: FailureKind;
  message: string;
}

const SERVER_CERT_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** MQTT 3.1.1 CONNACK return codes 1..5, and their MQTT 5 equivalents that matter here. */
const CONNACK: Record<number, string> = {
  1: "unacceptable protocol version",
  2: "client identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorized",
  133: "client identifier not valid",
  134: "bad user name or password",
  135: "not authorized",
  136: "server unavailable",
  138: "banned",
};

/**
 * Classifies a socket, TLS or MQTT error. TLS 1.3 servers check the client certificate after the
 * handshake, so a rejected device certificate shows up as an alert on the first read, or as a
 * reset right after the handshake.
 */
export function classify(e: unknown, where: string, handshakeDone = false, tls = true): Failure {
  const err = e as { code?: string | number; reasonCode?: number; message?: string };
  const code = typeof err?.code === "string" ? err.code : "";
  // a CONNACK refusal: ledge's client names it reasonCode, others code
  const connack = typeof err?.reasonCode === "number" ? err.reasonCode : err?.code;
  const msg = err?.message ?? String(e);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME")
    return { kind: "dns", message: `cannot resolve ${where}: the host name is unknown (DNS ${code})` };
  if (code === "ECONNREFUSED")
    return { kind: "unreachable", message: `${where} refused the connection: nothing listens on that port` };
  if (["EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN"].includes(code))
    return { kind: "unreachable", message: `${where} is unreachable (${code}): check the network` };
  if (code === "ETIMEDOUT" || /timed? ?out|^no CONNACK/i.test(msg))
    return { kind: "timeout", message: `${where} did not answer in time: check the URL and firewall` };
  if (SERVER_CERT_CODES.has(code))
    return {
      kind: "tls",
      message: `TLS failure: the certificate of ${where} is not trusted (${code}: ${msg}); check bridge.root_cert_path and the URL`,
    };
  if (
    // Node names the alert in the code; Bun says EPROTO and names it in the message
    /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_REQUIRED|ACCESS_DENIED|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|UNSUPPORTED_CERTIFICATE|DECRYPT_ERROR)/.test(
      `${code} ${msg}`,
    ) ||
    /alert (unknown ca|bad certificate|certificate unknown|certificate required|access denied|certificate revoked|certificate expired)/i.test(
      msg,
    )
  )
    return {
      kind: "rejected",
      message: `${where} rejected the device certificate (${code || msg}): upload/register the certificate in the cloud or check device.cert_path`,
    };
  if (typeof connack === "number" && CONNACK[connack])
    return {
      kind: "refused",
      message: `${where} refused the MQTT connection: ${CONNACK[connack]} (code ${connack})`,
    };
  if (/connection refused: not authori[sz]ed/i.test(msg) || /Not authorized/i.test(msg))
    return {
      kind: "refused",
      message: `${where} refused the MQTT connection: not authorized (check the device id and certificate)`,
    };
  if (!tls && (code === "ECONNRESET" || code === "EPIPE" || /socket hang up|closed/i.test(msg)))
    return { kind: "other", message: `${where} closed the connection (${code || msg})` };
  if (code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || /ssl|tls|handshake/i.test(msg))
    return { kind: "tls", message: `TLS failure with ${where}: ${code ? `${code}: ` : ""}${msg}` };
  if ((code === "ECONNRESET" || code === "EPIPE" || /socket hang up|closed/i.test(msg)) && handshakeDone)
    return {
      kind: "rejected",
      message: `${where} closed the connection right after the TLS handshake: the device certificate was most likely rejected`,
    };
  if (code === "ECONNRESET" || code === "EPIPE")
    return { kind: "tls", message: `${where} reset the connection during the TLS handshake (${code})` };
  return { kind: "other", message: `cannot connect to ${where}: ${code ? `${code}: ` : ""}${msg}` };
}
