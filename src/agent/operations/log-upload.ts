import { createReadStream } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { commandField } from "../../api/commands.ts";
import { lazy } from "../../foundation/builtin.ts";
import { globRegExp, LineFilter, type LogFilter, parseDate } from "../log-filter.ts";
import { streamLines, tailStart } from "../log-stream.ts";
import { uploadStream } from "../transfer.ts";
import { findDeclared, type TypesSource } from "./config.ts";
import type { Operation } from "./operation.ts";

const DEFAULT_LINES = 1000;

/** The files of a log type: its path, or every match of a `*`/`?` glob in the last segment. */
async function files(path: string): Promise<{ path: string; mtime: number }[]> {
  const name = basename(path);
  const paths = /[*?]/.test(name)
    ? (await readdir(dirname(path)).catch(() => [] as string[]))
        .filter((f) => globRegExp(name).test(f))
        .map((f) => join(dirname(path), f))
    : [path];
  const out: { path: string; mtime: number }[] = [];
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined);
    if (s?.isFile()) out.push({ path: p, mtime: s.mtimeMs });
  }
  // Oldest first, so rotated files precede the live one.
  return out.sort((a, b) => a.mtime - b.mtime);
}

const JOURNAL = "journal:";

/** journalctl argv for a `journal:<unit>` log type, narrowed to the requested range. */
export function journalArgv(unit: string, from?: number, to?: number): string[] {
  const argv = ["journalctl", "--no-pager", "-q", "-o", "short-iso", "-u", unit];
  if (from !== undefined) argv.push(`--since=@${Math.floor(from / 1000)}`);
  if (to !== undefined) argv.push(`--until=@${Math.ceil(to / 1000)}`);
  return argv;
}

/** The lines of a log type in batches, read anew on each call: its files oldest first, or journalctl's output. */
type LineSource = () => AsyncIterable<string[]>;

function lineSource(
  path: string,
  found: string[],
  from: number | undefined,
  to: number | undefined,
  signal: AbortSignal,
): LineSource {
  if (path.startsWith(JOURNAL))
    return async function* () {
      const argv = journalArgv(path.slice(JOURNAL.length), from, to);
      const child = lazy.childProcess().spawn(argv[0]!, argv.slice(1), {
        stdio: ["ignore", "pipe", "pipe"],
        signal,
      });
      let stderr = "";
      child.stderr.on("data", (d) => {
        if (stderr.length < 4096) stderr += d;
      });
      const exit = new Promise<number | null>((resolve, reject) => {
        child.once("error", (e) => reject(new Error(`cannot run journalctl: ${e.message}`)));
        child.once("close", resolve);
      });
      yield* streamLines(child.stdout);
      const code = await exit;
      if (code !== 0) throw new Error(`journalctl failed: ${stderr.trim() || `exit code ${code}`}`);
    };
  return async function* () {
    for (const f of found) yield* streamLines(createReadStream(f, { signal }));
  };
}

/**
 * With a time range or a search text: two passes over the source, the first counting the
 * matching lines (before the upload starts: a long silent request would be timed out), the second
 * sending the last `lines` of them, so nothing but the current chunk is held in memory whatever the
 * log's size.
 */
async function countMatching(source: LineSource, f: LogFilter): Promise<number> {
  let total = 0;
  const counter = new LineFilter(f);
  for await (const batch of source()) for (const l of batch) if (counter.keep(l)) total++;
  return total;
}

async function* lastMatching(
  source: LineSource,
  f: LogFilter,
  total: number,
  lines: number,
): AsyncGenerator<string> {
  let skip = total - lines;
  // stop at the last match counted: no silent read to the end with the request open
  let room = Math.min(lines, total);
  if (room <= 0) return;
  const sender = new LineFilter(f);
  for await (const batch of source()) {
    let out = "";
    for (const l of batch) {
      if (!sender.keep(l) || skip-- > 0) continue;
      out += `${l}\n`;
      // a live log grows between the passes: never more than asked for
      if (--room <= 0) break;
    }
    if (out) yield out;
    if (room <= 0) return;
  }
}

/** Without filters: the last `lines` lines, found from the end of the newest file backwards. */
async function* tail(files: string[], lines: number): AsyncGenerator<string | Uint8Array> {
  const ranges: { path: string; start: number; end: number }[] = [];
  let needed = lines;
  for (const path of [...files].reverse()) {
    if (needed <= 0) break;
    const fh = await open(path, "r");
    try {
      const { size } = await fh.stat();
      const t = await tailStart(fh, size, needed);
      if (t.offset < size) ranges.unshift({ path, start: t.offset, end: size });
      needed -= t.lines;
    } finally {
      await fh.close();
    }
  }
  for (const r of ranges) {
    let last = 0x0a;
    for await (const chunk of createReadStream(r.path, { start: r.start, end: r.end - 1 })) {
      const b = chunk as Buffer;
      if (b.length) last = b[b.length - 1]!;
      yield b;
    }
    // files are joined line by line: one that does not end in "\n" gets one
    if (last !== 0x0a) yield "\n";
  }
}

/**
 * `log_upload`: the type's file(s) modified since `dateFrom`, their lines filtered by time range,
 * `searchText` and the last `lines` lines, PUT as text to `tedgeUrl`. A `journal:<unit>` path
 * reads the systemd journal of that unit instead of files.
 */
export function logUploadOperation(types: TypesSource, clock: () => number): Operation {
  return {
    op: "log_upload",
    resume: "rerun",
    capability: () => ({ types: types().map((t) => t.type) }),
    async run(payload, ctx) {
      const t = findDeclared(types, payload, "log");
      const url = commandField(payload, "log_upload", "tedgeUrl");
      if (!url) throw new Error("the command has no 'tedgeUrl' to upload the log to");
      const from = parseDate(payload.dateFrom, "dateFrom");
      const to = parseDate(payload.dateTo, "dateTo");
      const lines =
        typeof payload.lines === "number" && payload.lines > 0 ? Math.floor(payload.lines) : DEFAULT_LINES;
      const search = commandField(payload, "log_upload", "searchText");
      const journal = t.path.startsWith(JOURNAL);
      const found = journal ? [] : (await files(t.path)).filter((f) => from === undefined || f.mtime >= from);
      if (!journal && !found.length) throw new Error(`no log file ${t.path} modified in the requested range`);
      const paths = found.map((f) => f.path);
      const year = new Date(to ?? clock()).getUTCFullYear();
      let body: AsyncIterable<string | Uint8Array>;
      if (journal || from !== undefined || to !== undefined || search) {
        const source = lineSource(t.path, paths, from, to, ctx.signal);
        const filter = { from, to, search, year };
        body = lastMatching(source, filter, await countMatching(source, filter), lines);
      } else body = tail(paths, lines);
      await uploadStream(url, body, ctx.signal);
      return undefined;
    },
  };
}
