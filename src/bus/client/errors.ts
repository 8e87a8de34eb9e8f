import { reasonName } from "../mqtt/index.ts";

/**
 * A broker's refusal, with its MQTT 5 reason code (≥ 0x80) or 3.1.1 CONNACK return code: a PUBACK,
 * PUBREC, SUBACK entry or CONNACK that said no. Callers branch on `reasonCode`.
 */
export class ReasonCodeError extends Error {
  constructor(
    readonly reasonCode: number,
    what: string,
    readonly reasonString?: string,
  ) {
    super(`${what}: ${reasonName(reasonCode)}${reasonString ? ` (${reasonString})` : ""}`);
    this.name = "ReasonCodeError";
  }
}

/** The 3.1.1 CONNACK return codes ([MQTT-3.2.2.3]) in words. */
const CONNACK_V4 = [
  "accepted",
  "unacceptable protocol version",
  "identifier rejected",
  "server unavailable",
  "bad user name or password",
  "not authorized",
];

export function connackError(version: 4 | 5, code: number, reasonString?: string): Error {
  if (version === 5) return new ReasonCodeError(code, "connection refused", reasonString);
  return Object.assign(new Error(`connection refused: ${CONNACK_V4[code] ?? `return code ${code}`}`), {
    reasonCode: code,
  });
}
