/** `ledge serial check|ports|read` from the CLI (source, or LEDGE_TEST_BIN), against a pty pair. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPtyPair, type PtyPair } from "../../hw-test/serial/pty-pair.ts";
import { listPorts } from "../../src/cli/commands/serial.ts";
import { ledge, ledgeSpawn } from "../helpers/cli.ts";

describe("ledge serial", () => {
  let dir: string;
  let pair: PtyPair;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "ledge-serial-cli-"));
    pair = await createPtyPair(mkdtempSync(join(dir, "pty-")));
    writeFileSync(
      join(dir, "serial.toml"),
      `[[device]]\nname = "gps"\nport = "${pair.a}"\nbaud = 4800\nparser = "nmea"\nmeasurement = "gps"\n`,
    );
  });
  after(async () => {
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("check lists the devices of a valid serial.toml", () => {
    const r = ledge(["--config-dir", dir, "serial", "check"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^gps\\t${pair.a}\\t4800 8N1\\tnmea\\tte/device/gps///m/gps$`, "m"));
    assert.match(r.stdout, /1 device\(s\), valid/);
  });

  it("check prints file:line: reason and fails for an invalid file", () => {
    const bad = mkdtempSync(join(dir, "bad-"));
    writeFileSync(join(bad, "serial.toml"), `[[device]]\nname = "x"\nport = "/dev/x"\nparser = "csv"\n`);
    const r = ledge(["--config-dir", bad, "serial", "check"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /serial\.toml:4: device #1 'x': 'parser' must be one of regex, kv, json, nmea, vedirect, sds011, frame, not 'csv'/,
    );
  });

  it("read shows each line and what it would publish", async () => {
    const child = ledgeSpawn([
      "--config-dir",
      dir,
      "serial",
      "read",
      "gps",
      "--count",
      "2",
      "--timeout",
      "20",
    ]);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    let err = "";
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const closed = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
    // write until the reader has the port open (it opens after the CLI started up)
    const { openSerial } = await import("../../src/drivers/common/serial/open.ts");
    const w = await openSerial({ path: pair.b, baudRate: 4800 });
    const lines = "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n$GPGGA,1*00\r\n";
    const timer = setInterval(() => void w.write(Buffer.from(lines)).catch(() => {}), 300);
    const code = await closed;
    clearInterval(timer);
    await w.close();
    assert.equal(code, 0, err);
    assert.match(
      out,
      /→ \{"position":\{"latitude":48\.1173,"longitude":11\.5166667,"altitude":545\.4\},"satellites":8\}/,
    );
    assert.match(out, /bad line: checksum mismatch/);
  });

  it("read refuses an unknown device", () => {
    const r = ledge(["--config-dir", dir, "serial", "read", "nope"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no device 'nope'/);
  });

  it("read refuses a --count or --timeout that is not a positive number", () => {
    for (const [flag, value] of [
      ["--count", "abc"],
      ["--count", "0"],
      ["--timeout", "-1"],
    ] as const) {
      const r = ledge(["--config-dir", dir, "serial", "read", "gps", flag, value]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`${flag} must be a positive number, got '${value}'`));
    }
  });

  it("ports finds by-id links and tty devices", () => {
    const dev = mkdtempSync(join(dir, "dev-"));
    mkdirSync(join(dev, "serial", "by-id"), { recursive: true });
    writeFileSync(join(dev, "ttyUSB0"), "");
    writeFileSync(join(dev, "tty1"), "");
    symlinkSync("../../ttyUSB0", join(dev, "serial", "by-id", "usb-FTDI_FT232R-if00-port0"));
    assert.deepEqual(listPorts(dev), [
      { path: join(dev, "serial/by-id/usb-FTDI_FT232R-if00-port0"), target: join(dev, "ttyUSB0") },
      { path: join(dev, "ttyUSB0") },
    ]);
  });
});
