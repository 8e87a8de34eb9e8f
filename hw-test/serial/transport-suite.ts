/**
 * The serial transport contract, one suite for every implementation: run by the Node test runner
 * for `serialport`, by `run-transport-suite.ts` under Bun for the termios/bun:ffi transport, and
 * against a real port when LEDGE_TEST_SERIAL_PORT names one. Plain async checks with node:assert so
 * the same code runs on both runtimes.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SerialOptions, SerialTransport } from "../../src/drivers/common/serial/transport.ts";
import type { PtyPair } from "./pty-pair.ts";

export interface Check {
  name: string;
  run(): Promise<void>;
}

export type Opener = (o: SerialOptions) => Promise<SerialTransport>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

function collector(t: SerialTransport) {
  const chunks: Buffer[] = [];
  let size = 0;
  t.onData((c) => {
    chunks.push(Buffer.from(c));
    size += c.length;
  });
  return {
    get size() {
      return size;
    },
    bytes: () => Buffer.concat(chunks),
    async take(n: number, ms = 5000): Promise<Buffer> {
      await until(`${n} bytes (have ${size})`, () => size >= n, ms);
      return Buffer.concat(chunks);
    },
  };
}

/** Every byte value, so CR/LF translation, XON/XOFF, signals or 0x00 handling would show. */
export function allBytes(): Buffer {
  return Buffer.from(Array.from({ length: 256 }, (_, i) => i));
}

/** `stty -F` reads back what the port is set to (the test may shell out; the transport must not). */
export function sttySettings(path: string): string {
  return execFileSync("stty", ["-F", path, "-a"], { encoding: "utf8" });
}

async function closeAll(...ts: (SerialTransport | undefined)[]): Promise<void> {
  for (const t of ts) await t?.close().catch(() => {});
}

/** Checks on an emulated line: a socat pty pair, both ends opened with the transport under test. */
export function ptyChecks(open: Opener, kind: "node" | "bun", pair: PtyPair): Check[] {
  const opts = (path: string, baudRate = 115200): SerialOptions => ({ path, baudRate });
  return [
    {
      name: `opens with the ${kind} implementation`,
      async run() {
        const t = await open(opts(pair.a));
        try {
          assert.equal(t.kind, kind);
          assert.equal(t.isOpen, true);
          assert.equal(t.path, pair.a);
        } finally {
          await t.close();
        }
      },
    },
    {
      name: "bytes a→b arrive unchanged, all 256 values, no echo back",
      async run() {
        const a = await open(opts(pair.a));
        const b = await open(opts(pair.b));
        try {
          const ca = collector(a);
          const cb = collector(b);
          const data = Buffer.concat([allBytes(), allBytes().reverse()]);
          await a.write(data);
          assert.deepEqual(await cb.take(data.length), data);
          await sleep(50);
          assert.equal(ca.size, 0, "the writing side must not read its own bytes (echo)");
        } finally {
          await closeAll(a, b);
        }
      },
    },
    {
      name: "bytes b→a: 0x00, 0x0a, 0x0d, 0xff, 0x03, 0x11, 0x13 pass untouched",
      async run() {
        const a = await open(opts(pair.a));
        const b = await open(opts(pair.b));
        try {
          const ca = collector(a);
          const data = Buffer.from([0x00, 0x0a, 0x0d, 0xff, 0x03, 0x11, 0x13, 0x0d, 0x0a, 0x00]);
          await b.write(data);
          assert.deepEqual(await ca.take(data.length), data);
        } finally {
          await closeAll(a, b);
        }
      },
    },
    {
      name: "a 64 KiB write arrives complete and in order",
      async run() {
        const a = await open(opts(pair.a));
        const b = await open(opts(pair.b));
        try {
          const cb = collector(b);
          const data = Buffer.alloc(65536);
          for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
          await a.write(data);
          assert.ok((await cb.take(data.length, 10_000)).equals(data), "payload differs");
        } finally {
          await closeAll(a, b);
        }
      },
    },
    {
      name: "baud rate is applied and the line is raw (stty reads it back)",
      async run() {
        for (const baud of [9600, 19200, 115200]) {
          const a = await open(opts(pair.a, baud));
          try {
            const s = sttySettings(pair.a);
            assert.match(s, new RegExp(`speed ${baud} baud`));
            for (const flag of ["-icanon", "-echo", "-opost", "-isig", "-icrnl", "-ixon"])
              assert.ok(s.includes(flag), `expected ${flag} in: ${s}`);
          } finally {
            await a.close();
          }
        }
      },
    },
    {
      name: "a port already open is refused (exclusive lock), and free again after close",
      async run() {
        const a = await open(opts(pair.a));
        try {
          await assert.rejects(open(opts(pair.a)), /lock/i);
        } finally {
          await a.close();
        }
        const again = await open(opts(pair.a));
        await again.close();
      },
    },
    {
      name: "close() resolves once, emits close without error, stops data and refuses writes",
      async run() {
        const a = await open(opts(pair.a));
        const b = await open(opts(pair.b));
        let again: SerialTransport | undefined;
        try {
          const ca = collector(a);
          const events: (Error | undefined)[] = [];
          a.on("close", (e) => events.push(e));
          await a.close();
          await a.close();
          assert.equal(a.isOpen, false);
          assert.equal(events.length, 1);
          assert.equal(events[0], undefined);
          await assert.rejects(a.write(Buffer.from("x")));
          await b.write(Buffer.from("after close"));
          await sleep(50);
          assert.equal(ca.size, 0);
          // and the same path opens again right away
          again = await open(opts(pair.a));
          const cg = collector(again);
          await b.write(Buffer.from("hello"));
          // Bytes written while nobody read may arrive first, in their own chunk (slow under qemu).
          await until("hello on the reopened port", () => cg.bytes().toString().endsWith("hello"), 5000);
        } finally {
          await closeAll(a, b, again);
        }
      },
    },
    {
      name: "the peer disappearing closes the port with an error; it reopens when the peer is back",
      async run() {
        const a = await open(opts(pair.a));
        try {
          const closed: (Error | undefined)[] = [];
          a.on("close", (e) => closed.push(e));
          await pair.stop();
          await until("close event after unplug", () => closed.length > 0, 5000);
          assert.ok(closed[0] instanceof Error, "close after unplug carries an Error");
          assert.equal(a.isOpen, false);
          await assert.rejects(a.write(Buffer.from("x")));
          await assert.rejects(open(opts(pair.a)), /cannot open serial port/);
        } finally {
          await closeAll(a);
          await pair.start();
        }
        const a2 = await open(opts(pair.a));
        const b2 = await open(opts(pair.b));
        try {
          const c = collector(b2);
          await a2.write(Buffer.from([1, 2, 3]));
          assert.deepEqual([...(await c.take(3))], [1, 2, 3]);
        } finally {
          await closeAll(a2, b2);
        }
      },
    },
    ...commonChecks(open),
  ];
}

/** Checks that need no second end. */
export function commonChecks(open: Opener): Check[] {
  return [
    {
      name: "a missing device is refused with the path in the error",
      async run() {
        await assert.rejects(open({ path: "/dev/ledge-no-such-tty", baudRate: 9600 }), /ledge-no-such-tty/);
      },
    },
    {
      name: "a regular file is refused (not a terminal)",
      async run() {
        const dir = mkdtempSync(join(tmpdir(), "ledge-notty-"));
        const f = join(dir, "file");
        writeFileSync(f, "x");
        try {
          await assert.rejects(open({ path: f, baudRate: 9600 }));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    },
  ];
}

/** Checks on a real port (LEDGE_TEST_SERIAL_PORT); with loopback (TX wired to RX) bytes come back. */
export function realPortChecks(open: Opener, port: string, loopback: boolean): Check[] {
  const checks: Check[] = [
    {
      name: `real port ${port}: 9600 8N1 and 19200 7E2 are applied`,
      async run() {
        let t = await open({ path: port, baudRate: 9600 });
        try {
          const s = sttySettings(port);
          assert.match(s, /speed 9600 baud/);
          assert.match(s, /\bcs8\b/);
          assert.match(s, /-parenb/);
          assert.match(s, /-cstopb/);
        } finally {
          await t.close();
        }
        t = await open({ path: port, baudRate: 19200, dataBits: 7, parity: "even", stopBits: 2 });
        try {
          const s = sttySettings(port);
          assert.match(s, /speed 19200 baud/);
          assert.match(s, /\bcs7\b/);
          assert.match(s, /(^|\s)parenb/);
          assert.match(s, /-parodd/);
          assert.match(s, /(^|\s)cstopb/);
        } finally {
          await t.close();
        }
      },
    },
    {
      name: `real port ${port}: open, close, reopen`,
      async run() {
        for (let i = 0; i < 3; i++) {
          const t = await open({ path: port, baudRate: 9600 });
          assert.equal(t.isOpen, true);
          await t.close();
          assert.equal(t.isOpen, false);
        }
      },
    },
  ];
  if (loopback)
    checks.push({
      name: `real port ${port}: loopback returns all 256 byte values at 9600 and 115200`,
      async run() {
        for (const baudRate of [9600, 115200]) {
          const t = await open({ path: port, baudRate });
          try {
            const c = collector(t);
            await t.write(allBytes());
            assert.deepEqual(await c.take(256, 5000), allBytes());
          } finally {
            await t.close();
          }
        }
      },
    });
  return checks;
}
