import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Liveness } from "../../src/bridge/liveness.ts";

type Step =
  | ["connected" | "disconnected", number]
  | ["sent" | "acked", number, number]
  | ["received", number]
  | ["check", number, boolean, string | undefined, boolean];

const cfg = { ackTimeoutMs: 20_000, keepaliveMs: 60_000, stallMs: 15_000 };

/** Each case: events in order; a `check` step asserts [reconnect reason (prefix), stalled]. */
const cases: [string, Step[]][] = [
  [
    "acknowledged publishes: alive, not stalled",
    [
      ["connected", 0],
      ["sent", 1, 1000],
      ["acked", 1, 1100],
      ["check", 30_000, false, undefined, false],
    ],
  ],
  [
    "PUBACK timeout (MQTT 3.1.1 §4.4: resend on a new connection): reconnect once the oldest waited 20 s",
    [
      ["connected", 0],
      ["sent", 1, 1000],
      ["sent", 2, 5000],
      ["acked", 2, 6000],
      ["check", 20_999, true, undefined, false],
      ["check", 21_000, true, "no PUBACK for 20 s", true],
    ],
  ],
  [
    "keepalive timeout (§3.1.2.10, 1.5 × keepalive): a silent cloud is reconnected",
    [
      ["connected", 0],
      ["received", 50_000],
      ["check", 139_999, false, undefined, false],
      ["check", 140_000, false, "nothing received for 90 s (keepalive)", false],
    ],
  ],
  [
    "connected but not progressing is reported within the stall time, and cleared by an acknowledgement",
    [
      ["connected", 0],
      ["sent", 1, 0],
      ["check", 14_999, true, undefined, false],
      ["check", 15_000, true, undefined, true],
      ["acked", 1, 16_000],
      ["check", 17_000, true, undefined, false],
    ],
  ],
  [
    "an idle link (nothing to send) is never stalled",
    [
      ["connected", 0],
      ["received", 40_000],
      ["check", 50_000, false, undefined, false],
    ],
  ],
  [
    "a cloud that accepts connections and never acknowledges stays stalled across our own reconnects",
    [
      ["connected", 0],
      ["sent", 1, 0],
      ["check", 20_000, true, "no PUBACK for 20 s", true],
      ["disconnected", 20_001],
      ["check", 20_500, true, undefined, true],
      ["connected", 21_000],
      ["sent", 2, 21_000],
      ["check", 22_000, true, undefined, true],
    ],
  ],
  [
    "an outage (connection lost by itself) starts afresh on the next connection",
    [
      ["connected", 0],
      ["sent", 1, 0],
      ["check", 16_000, true, undefined, true],
      ["disconnected", 17_000],
      ["check", 18_000, true, undefined, false],
      ["connected", 60_000],
      ["check", 61_000, true, undefined, false],
    ],
  ],
];

describe("bridge liveness (pure)", () => {
  for (const [name, steps] of cases)
    it(name, () => {
      const l = new Liveness(cfg);
      for (const [k, s] of steps.entries()) {
        switch (s[0]) {
          case "connected":
            l.connected(s[1]);
            break;
          case "disconnected":
            l.disconnected();
            break;
          case "sent":
            l.sent(s[1], s[2]);
            break;
          case "acked":
            l.acked(s[1], s[2]);
            break;
          case "received":
            l.received(s[1]);
            break;
          case "check": {
            const v = l.check(s[1], s[2]);
            assert.deepEqual([v.reconnect, v.stalled], [s[3], s[4]], `step ${k}`);
          }
        }
      }
    });
});
