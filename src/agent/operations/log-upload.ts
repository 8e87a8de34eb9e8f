import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { commandField } from "../../api/commands.ts";
import { filterLines, globRegExp, parseDate } from "../log-filter.ts";
import { failureOf, runCommand } from "../process.ts";
import { upload } from "../transfer.ts";
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

async function readLines(
  path: string,
  from: number | undefined,
  to: number | undefined,
  signal: AbortSignal,
): Promise<string[]> {
  if (path.startsWith(JOURNAL)) {
    const argv = journalArgv(path.slice(JOURNAL.length), from, to);
    const r = await runCommand(argv, { signal });
    if (r.code !== 0) throw new Error(`journalctl failed: ${failureOf(argv, r)}`);
    return r.stdout.split("\n").filter((l) => l !== "");
  }
  const found = (await files(path)).filter((f) => from === undefined || f.mtime >= from);
  if (!found.length) throw new Error(`no log file ${path} modified in the requested range`);
  const all: string[] = [];
  for (const f of found) {
    const ls = (await readFile(f.path, "utf8")).split("\n");
    if (ls.at(-1) === "") ls.pop();
    all.push(...ls);
  }
  return all;
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
      const all = await readLines(t.path, from, to, ctx.signal);
      const year = new Date(to ?? clock()).getUTCFullYear();
      const kept = filterLines(all, {
        from,
        to,
        search: commandField(payload, "log_upload", "searchText"),
        lines,
        year,
      });
      await upload(url, kept.length ? `${kept.join("\n")}\n` : "", ctx.signal);
      return undefined;
    },
  };
}
