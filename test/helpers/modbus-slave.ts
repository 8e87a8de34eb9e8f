/**
 * Starts the pymodbus slave of hw-test/modbus/slave.py (Debian python3-pymodbus, run with
 * /usr/bin/python3) on a loopback TCP port and/or one end of a socat pty pair, and drives its
 * fault injection over stdin. Known register contents are mirrored in `SLAVE_REGS`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "./ports.ts";

export const PYTHON = "/usr/bin/python3";
export const SLAVE_PY = join(dirname(fileURLToPath(import.meta.url)), "../../hw-test/modbus/slave.py");

/** What the slave serves for unit `u` (zero-based addresses). */
export const SLAVE_REGS = {
  uint16At0: (u: number) => 1000 + u,
  int16At1: -2,
  int32At2: -100000,
  float32At4: 21.5,
  float32CdabAt6: 21.5,
  float64At8: Math.PI,
  uint32At12: 3000000000,
  int32CdabAt14: -100000,
  float32BadcAt16: -7.25,
  float32DcbaAt18: -7.25,
  scaledAt20: 2315,
  int64At22: -5000000000,
  uint64At26: 2 ** 40 + 7,
  stringAt30: "LEDGE-SN-0042",
  bitsAt38: 0b1010_0000_0000_1000,
  unitAt100: (u: number) => u,
  at200: 4242,
  holdingSize: 300,
  input: (u: number, i: number) => i * 10 + u,
  coil: (i: number) => i % 3 === 0,
  discrete: (i: number) => i % 2 === 1,
};

export type Fault = "none" | "crc" | "silent" | "garbage" | "noise";

export interface Slave {
  tcpPort?: number;
  /** The pty ledge opens, when RTU was asked for. */
  rtuPath?: string;
  command(line: string): Promise<string>;
  fault(kind: Fault, units?: number[]): Promise<void>;
  stats(): Promise<{ requests: number; by_unit: Record<string, number>; by_fc: Record<string, number> }>;
  stop(): Promise<void>;
}

export interface SlaveOptions {
  tcp?: boolean;
  rtu?: boolean;
  units?: number[];
  /** A fixed TCP port (restarting a slave on the same port). */
  tcpPort?: number;
  /** Where the pty links go (restarting a slave on the same paths); kept on stop. */
  ptyDir?: string;
  /** Real serial ports instead of a pty pair: ledge opens `ledge`, the slave serves on `slave`. */
  realRtu?: RealRtu;
  /** Units with a SunSpec map, at their base address (40000, 50000 or 0). */
  sunspec?: Record<number, number>;
  /** Units answering function 43/14 (device identification); the others answer exception 1. */
  ident?: number[];
  /** The line settings each unit is set to (it stays silent at others; see `line` in slave.py). */
  line?: Record<number, { baud: number; parity: string }>;
}

export interface RealRtu {
  ledge: string;
  slave: string;
  baud: number;
}

/**
 * Two real adapters wired together (RS-485: A–A, B–B, GND) named by LEDGE_TEST_MODBUS_RTU_PORT (ledge's
 * side) and LEDGE_TEST_MODBUS_RTU_PEER (the slave's side), at LEDGE_TEST_MODBUS_BAUD (38400).
 */
export function realRtuFromEnv(env: NodeJS.ProcessEnv = process.env): RealRtu | undefined {
  const ledge = env.LEDGE_TEST_MODBUS_RTU_PORT;
  const slave = env.LEDGE_TEST_MODBUS_RTU_PEER;
  if (!ledge || !slave) return undefined;
  return { ledge, slave, baud: Number(env.LEDGE_TEST_MODBUS_BAUD ?? 38400) };
}

export function slaveAvailable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} missing`;
  if (!existsSync("/usr/bin/socat")) return "socat missing";
  return undefined;
}

export interface PtyPair {
  a: string;
  b: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** A socat pty pair: two linked pseudo-terminals, `a` and `b`, as symlinks in a temp dir. */
export async function startPtyPair(dir?: string): Promise<PtyPair> {
  const d = dir ?? mkdtempSync(join(tmpdir(), "ledge-pty-"));
  const a = join(d, "ttyA");
  const b = join(d, "ttyB");
  const proc = spawn("socat", [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: "ignore",
  });
  await waitFor("socat ptys", () => existsSync(a) && existsSync(b), 5000, 10);
  return {
    a,
    b,
    proc,
    stop: () => killAndWait(proc),
  };
}

export async function startSlave(opts: SlaveOptions = {}): Promise<Slave> {
  const tcpPort = opts.tcp ? (opts.tcpPort ?? (await freePort())) : undefined;
  const pty = opts.rtu && !opts.realRtu ? await startPtyPair(opts.ptyDir) : undefined;
  const args = [SLAVE_PY, "--quiet", "--units", (opts.units ?? [1]).join(",")];
  if (tcpPort) args.push("--tcp", String(tcpPort));
  if (pty) args.push("--rtu", pty.b);
  if (opts.rtu && opts.realRtu) args.push("--rtu", opts.realRtu.slave, "--baud", String(opts.realRtu.baud));
  if (opts.sunspec)
    args.push(
      "--sunspec",
      Object.entries(opts.sunspec)
        .map(([u, b]) => `${u}:${b}`)
        .join(","),
    );
  if (opts.ident) args.push("--ident", opts.ident.join(","));
  if (opts.line)
    args.push(
      "--line",
      Object.entries(opts.line)
        .map(([u, l]) => `${u}:${l.baud}:${l.parity}`)
        .join(","),
    );
  const proc = spawn(PYTHON, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (d) => {
    stderr += d;
  });
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  createInterface({ input: proc.stdout! }).on("line", (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  const next = (ms = 5000) =>
    new Promise<string>((resolve, reject) => {
      const l = lines.shift();
      if (l !== undefined) return resolve(l);
      const t = setTimeout(() => reject(new Error(`slave did not answer: ${stderr}`)), ms);
      waiters.push((line) => {
        clearTimeout(t);
        resolve(line);
      });
    });
  const ready = await next(10_000);
  if (!ready.startsWith("ready")) throw new Error(`slave failed: ${ready} ${stderr}`);
  let chain: Promise<unknown> = Promise.resolve();
  const command = (line: string): Promise<string> => {
    const p = chain.then(async () => {
      proc.stdin!.write(`${line}\n`);
      const r = await next();
      if (!r.startsWith("ok")) throw new Error(`slave: ${line}: ${r}`);
      return r.slice(2).trim();
    });
    chain = p.catch(() => {});
    return p;
  };
  return {
    tcpPort,
    rtuPath: opts.rtu && opts.realRtu ? opts.realRtu.ledge : pty?.a,
    command,
    fault: async (kind, units) => {
      await command(`fault ${kind}${units ? ` ${units.join(",")}` : ""}`);
    },
    stats: async () => JSON.parse(await command("stats")),
    stop: async () => {
      proc.stdin!.end();
      await killAndWait(proc);
      if (pty) {
        await pty.stop();
        if (!opts.ptyDir) rmSync(dirname(pty.a), { recursive: true, force: true });
      }
    },
  };
}

export function killAndWait(proc: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
    proc.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill(signal);
  });
}
