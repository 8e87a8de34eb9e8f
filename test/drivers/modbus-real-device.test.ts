/**
 * The modbus component against a real Modbus device, when environment variables name one (skipped
 * otherwise; see hw-test/README.md):
 *   LEDGE_TEST_MODBUS_TCP=host:port   or   LEDGE_TEST_MODBUS_RTU=/dev/ttyUSB0 (+ LEDGE_TEST_MODBUS_BAUD,
 *   LEDGE_TEST_MODBUS_PARITY), LEDGE_TEST_MODBUS_UNIT (1), LEDGE_TEST_MODBUS_POINT (table:address:type,
 *   default holding:0:uint16), LEDGE_TEST_MODBUS_WRITE (table:address:type:value, optional: a register
 *   that may be written).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startHarness } from "../helpers/modbus-harness.ts";

const env = process.env;
const tcp = env.LEDGE_TEST_MODBUS_TCP;
const rtu = env.LEDGE_TEST_MODBUS_RTU;
const skip = tcp || rtu ? false : "no real device named (LEDGE_TEST_MODBUS_TCP or LEDGE_TEST_MODBUS_RTU)";

function transport(): string {
  if (tcp) {
    const [host, port] = tcp.split(":");
    return `transport = "tcp"\nhost = "${host}"\nport = ${port ?? 502}`;
  }
  return `transport = "rtu"\nserial_port = "${rtu}"\nbaud = ${env.LEDGE_TEST_MODBUS_BAUD ?? 9600}\nparity = "${env.LEDGE_TEST_MODBUS_PARITY ?? "none"}"`;
}

describe("modbus against a real device", { skip }, () => {
  test("registers, reads the named point and reports the device up", { timeout: 30_000 }, async () => {
    const [table, address, type] = (env.LEDGE_TEST_MODBUS_POINT ?? "holding:0:uint16").split(":");
    const h = await startHarness(`[[device]]
name = "real"
${transport()}
unit_id = ${env.LEDGE_TEST_MODBUS_UNIT ?? 1}
poll_interval_s = 1
timeout_ms = 1000
[[device.point]]
name = "value"
table = "${table}"
address = ${address}
type = "${type ?? "uint16"}"
`);
    try {
      const m = h.json(await h.waitFor("a reading", (x) => x.topic === "te/device/real///m/modbus", 10_000));
      assert.equal(typeof m.value, "number");
      const health = await h.waitFor("health", (x) => x.topic === "te/device/real///status/health", 10_000);
      assert.equal(h.json(health).status, "up");
      const w = env.LEDGE_TEST_MODBUS_WRITE;
      if (w) {
        const [wt, wa, wtype, wv] = w.split(":");
        const topic = "te/device/real///cmd/modbus_write/hw-1";
        await h.publish(
          topic,
          JSON.stringify({ status: "init", table: wt, address: Number(wa), type: wtype, value: Number(wv) }),
        );
        const done = await h.waitFor(
          "write outcome",
          (x) => x.topic === topic && ["successful", "failed"].includes(String(h.json(x).status)),
          10_000,
        );
        assert.equal(h.json(done).status, "successful", String(h.json(done).reason));
        await h.publish(topic, "");
      }
    } finally {
      await h.stop();
    }
  });
});
