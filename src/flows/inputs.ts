/**
 * The non-MQTT inputs of a flow (TEDGE-FACTS §10.2), each line one message:
 * - `input.file`: without `interval` the file is followed like `tail -F` (from its end, across
 *   truncation and replacement); with `interval` it is read whole every interval.
 * - `input.process`: without `interval` a long-running command whose stdout lines are messages
 *   (restarted a second after it exits); with `interval` the command is run every interval.
 * Each returns a function that stops it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import type { InputSpec } from "./config.ts";

export type LineSink = (topic: string, line: string) => void;
type Stop = () => void;

const FOLLOW_POLL_MS = 200;

export function startInput(spec: InputSpec, sink: LineSink, onError: (e: string) => void): Stop {
  if (spec.kind === "file")
    return spec.intervalMs
      ? rereadFile(spec.path, spec.topic, spec.intervalMs, sink, onError)
      : followFile(spec.path, spec.topic, sink);
  if (spec.kind === "process")
    return spec.intervalMs ? runEvery(spec, spec.intervalMs, sink, onError) : runForever(spec, sink, onError);
  return () => {};
}

const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .filter((l) => l.length > 0);

function rereadFile(
  path: string,
  topic: string,
  every: number,
  sink: LineSink,
  onError: (e: string) => void,
): Stop {
  const read = () => {
    try {
      for (const l of lines(readFileSync(path, "utf8"))) sink(topic, l);
    } catch (e) {
      onError(`input.file ${path}: ${(e as Error).message}`);
    }
  };
  read();
  const t = setInterval(read, every);
  return () => clearInterval(t);
}

function followFile(path: string, topic: string, sink: LineSink): Stop {
  let ino = -1;
  let pos = 0;
  let partial = "";
  const size = () => {
    try {
      const s = statSync(path);
      return { ino: s.ino, size: s.size };
    } catch {
      return undefined;
    }
  };
  const first = size();
  if (first) ({ ino, size: pos } = first);
  const poll = () => {
    const s = size();
    if (!s) return;
    if (s.ino !== ino || s.size < pos) {
      // replaced or truncated: start over, as tail -F does
      ino = s.ino;
      pos = 0;
      partial = "";
    }
    if (s.size === pos) return;
    const fd = openSync(path, "r");
    try {
      const buf = Buffer.alloc(s.size - pos);
      const n = readSync(fd, buf, 0, buf.length, pos);
      pos += n;
      const text = partial + buf.subarray(0, n).toString("utf8");
      const cut = text.lastIndexOf("\n");
      partial = cut < 0 ? text : text.slice(cut + 1);
      if (cut >= 0) for (const l of lines(text.slice(0, cut))) sink(topic, l);
    } finally {
      closeSync(fd);
    }
  };
  const t = setInterval(poll, FOLLOW_POLL_MS);
  return () => clearInterval(t);
}

function spawnLines(
  spec: Extract<InputSpec, { kind: "process" }>,
  sink: LineSink,
  onError: (e: string) => void,
): ChildProcess {
  const child = spawn("sh", ["-c", spec.command], { cwd: spec.cwd, stdio: ["ignore", "pipe", "pipe"] });
  let partial = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    const text = partial + d;
    const cut = text.lastIndexOf("\n");
    partial = cut < 0 ? text : text.slice(cut + 1);
    if (cut >= 0) for (const l of lines(text.slice(0, cut))) sink(spec.topic, l);
  });
  child.stdout?.on("end", () => {
    if (partial) sink(spec.topic, partial);
    partial = "";
  });
  child.on("error", (e) => onError(`input.process '${spec.command}': ${e.message}`));
  return child;
}

function runEvery(
  spec: Extract<InputSpec, { kind: "process" }>,
  every: number,
  sink: LineSink,
  onError: (e: string) => void,
): Stop {
  let child: ChildProcess | undefined;
  const run = () => {
    if (child) return; // the previous run is still going
    child = spawnLines(spec, sink, onError);
    child.on("close", () => {
      child = undefined;
    });
  };
  run();
  const t = setInterval(run, every);
  return () => {
    clearInterval(t);
    child?.kill();
  };
}

function runForever(
  spec: Extract<InputSpec, { kind: "process" }>,
  sink: LineSink,
  onError: (e: string) => void,
): Stop {
  let stopped = false;
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    child = spawnLines(spec, sink, onError);
    child.on("close", (code) => {
      if (stopped) return;
      onError(`input.process '${spec.command}' exited (${code}); restarting in 1 s`);
      timer = setTimeout(run, 1000);
    });
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
    child?.kill();
  };
}
