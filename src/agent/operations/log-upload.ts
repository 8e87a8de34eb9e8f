import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { filterLines, globRegExp, parseDate } from "../log-filter.ts";
import { upload } from "../transfer.ts";
import type { TypesSource } from "./config.ts";
import { type Operation, str } from "./operation.ts";

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

/**
 * `log_upload`: the type's file(s) modified since `dateFrom`, their lines filtered by time range,
 * `searchText` and the last `lines` lines, PUT as text to `tedgeUrl`.
 */
export function logUploadOperation(types: TypesSource, clock: () => number): Operation {
  return {
    op: "log_upload",
    resume: "rerun",
    capability: () => ({ types: types().map((t) => t.type) }),
    async run(payload, ctx) {
      const type = str(payload, "type");
      if (!type) throw new Error("the command has no 'type'");
      const t = types().find((d) => d.type === type);
      if (!t)
        throw new Error(
          `unknown log type '${type}' (declared: ${
            types()
              .map((d) => d.type)
              .join(", ") || "none"
          })`,
        );
      const url = str(payload, "tedgeUrl");
      if (!url) throw new Error("the command has no 'tedgeUrl' to upload the log to");
      const from = parseDate(payload.dateFrom, "dateFrom");
      const to = parseDate(payload.dateTo, "dateTo");
      const lines =
        typeof payload.lines === "number" && payload.lines > 0 ? Math.floor(payload.lines) : DEFAULT_LINES;
      const found = (await files(t.path)).filter((f) => from === undefined || f.mtime >= from);
      if (!found.length)
        throw new Error(`no log file of type '${type}' (${t.path}) modified in the requested range`);
      const all: string[] = [];
      for (const f of found) {
        const text = await readFile(f.path, "utf8");
        const ls = text.split("\n");
        if (ls.at(-1) === "") ls.pop();
        all.push(...ls);
      }
      const year = new Date(to ?? clock()).getUTCFullYear();
      const kept = filterLines(all, { from, to, search: str(payload, "searchText"), lines, year });
      await upload(url, kept.length ? `${kept.join("\n")}\n` : "", ctx.signal);
      return undefined;
    },
  };
}
