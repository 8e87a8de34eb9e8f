import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crc16 } from "../../src/drivers/common/crc16.ts";
import {
  applyFraming,
  CLOCAL,
  CREAD,
  CRTSCTS,
  CS7,
  CS8,
  CSIZE,
  CSTOPB,
  frameCflag,
  PARENB,
  PARODD,
  readCflag,
  speedConstant,
  TERMIOS_SIZE,
} from "../../src/drivers/common/serial/termios.ts";
import { serialSettings } from "../../src/drivers/common/serial/transport.ts";
import { expectedResponseLength, findResponse } from "../../src/drivers/modbus/rtu-port.ts";
import type { FrameEvent as LineEvent } from "../../src/drivers/serial/framing/frame-event.ts";
import { LineSplitter } from "../../src/drivers/serial/framing/lines.ts";

function split(chunks: (string | Buffer)[], max = 16): LineEvent[] {
  const s = new LineSplitter(max);
  const out: LineEvent[] = [];
  for (const c of chunks) s.push(typeof c === "string" ? Buffer.from(c, "latin1") : c, (e) => out.push(e));
  return out;
}

describe("line splitter", () => {
  const rows: [string, (string | Buffer)[], LineEvent[]][] = [
    ["LF ends a line", ["a\nb\n"], [{ text: "a" }, { text: "b" }]],
    ["CRLF ends a line once", ["a\r\nb\r\n"], [{ text: "a" }, { text: "b" }]],
    ["CR alone ends a line", ["a\rb\r"], [{ text: "a" }, { text: "b" }]],
    ["CRLF split across chunks", ["a\r", "\nb\n"], [{ text: "a" }, { text: "b" }]],
    ["a line split across chunks", ["ab", "c", "d\n"], [{ text: "abcd" }]],
    ["blank lines are dropped", ["\n\n  \na\n"], [{ text: "a" }]],
    ["an unfinished line waits", ["abc"], []],
    [
      "an overlong line is reported once and skipped to its end",
      ["x".repeat(10), "y".repeat(10), "zz\nok\n"],
      [{ overflow: 20 }, { text: "ok" }],
    ],
    ["an overlong line in one chunk", [`${"x".repeat(20)}\nok\n`], [{ overflow: 20 }, { text: "ok" }]],
    ["exactly max bytes is fine", [`${"x".repeat(16)}\n`], [{ text: "x".repeat(16) }]],
    [
      "NUL and 0xff stay in the line (the parser rejects it)",
      [Buffer.from([0x00, 0xff, 0x41, 0x0a])],
      [{ text: "\u0000\ufffdA" }],
    ],
  ];
  for (const [name, chunks, want] of rows) it(name, () => assert.deepEqual(split(chunks), want));
});

describe("termios framing (Linux generic layout)", () => {
  const s = (o: Partial<Parameters<typeof serialSettings>[0]>) =>
    serialSettings({ path: "/dev/x", baudRate: 9600, ...o });
  it("8N1: CS8, local line, receiver on, no parity, one stop bit, no RTS/CTS", () => {
    const c = frameCflag(CSTOPB | PARENB | PARODD | CRTSCTS | 0o15, s({}));
    assert.equal(c & CSIZE, CS8);
    assert.equal(c & (CSTOPB | PARENB | PARODD | CRTSCTS), 0);
    assert.equal(c & (CLOCAL | CREAD), CLOCAL | CREAD);
    assert.equal(c & 0o15, 0o15, "speed bits in cflag are kept");
  });
  it("7E2 and 8O1", () => {
    const e = frameCflag(0, s({ dataBits: 7, parity: "even", stopBits: 2 }));
    assert.equal(e & CSIZE, CS7);
    assert.equal(e & (PARENB | PARODD | CSTOPB), PARENB | CSTOPB);
    const o = frameCflag(0, s({ parity: "odd" }));
    assert.equal(o & (PARENB | PARODD), PARENB | PARODD);
  });
  it("speed constants match <bits/termios.h>", () => {
    assert.equal(speedConstant(9600), 0o15);
    assert.equal(speedConstant(19200), 0o16);
    assert.equal(speedConstant(38400), 0o17);
    assert.equal(speedConstant(57600), 0o10001);
    assert.equal(speedConstant(115200), 0o10002);
    assert.throws(() => speedConstant(12345));
  });
  it("applyFraming writes c_cflag at offset 8 and VMIN=1/VTIME=0 in c_cc", () => {
    const t = new Uint8Array(TERMIOS_SIZE);
    applyFraming(t, s({ dataBits: 7 }));
    assert.equal(readCflag(t) & CSIZE, CS7);
    assert.equal(t[17 + 6], 1);
    assert.equal(t[17 + 5], 0);
  });
});

function frame(bytes: number[]): Buffer {
  const b = Buffer.from(bytes);
  const c = crc16(b);
  return Buffer.concat([b, Buffer.from([c & 0xff, c >> 8])]);
}

describe("modbus RTU framing over a byte stream", () => {
  it("CRC-16/MODBUS of the textbook request 01 03 00 00 00 0a is c5cd", () => {
    assert.equal(crc16(Buffer.from([1, 3, 0, 0, 0, 10])).toString(16), "cdc5");
  });
  it("expected response lengths per function code", () => {
    assert.equal(expectedResponseLength(frame([1, 3, 0, 0, 0, 10])), 25);
    assert.equal(expectedResponseLength(frame([1, 4, 0, 0, 0, 1])), 7);
    assert.equal(expectedResponseLength(frame([1, 1, 0, 0, 0, 9])), 7);
    assert.equal(expectedResponseLength(frame([1, 6, 0, 1, 0, 5])), 8);
    assert.equal(expectedResponseLength(frame([1, 16, 0, 1, 0, 2, 4, 0, 1, 0, 2])), 8);
    assert.equal(expectedResponseLength(frame([1, 43, 14, 1, 0])), undefined);
  });
  const resp = frame([1, 3, 4, 0, 1, 0, 2]);
  const rows: [string, Buffer, { start: number; length: number; crcOk: boolean } | undefined][] = [
    ["a whole response", resp, { start: 0, length: 9, crcOk: true }],
    [
      "garbage before the response is skipped",
      Buffer.concat([Buffer.from([0xff, 0x00, 0x01]), resp]),
      { start: 3, length: 9, crcOk: true },
    ],
    ["an incomplete response is not yet found", resp.subarray(0, 7), undefined],
    ["an exception response", frame([1, 0x83, 2]), { start: 0, length: 5, crcOk: true }],
    [
      "a wrong CRC is found but marked bad",
      Buffer.concat([resp.subarray(0, 7), Buffer.from([0, 0])]),
      { start: 0, length: 9, crcOk: false },
    ],
    ["another unit's answer is ignored", frame([2, 3, 4, 0, 1, 0, 2]), undefined],
  ];
  for (const [name, buf, want] of rows) it(name, () => assert.deepEqual(findResponse(buf, 1, 3, 9), want));
});
