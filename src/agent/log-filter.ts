/**
 * Pure log filtering for `log_upload`: time range by each line's leading timestamp (lines without
 * one, such as stack traces, follow the line before), a search text, then the last N lines.
 */
export interface LogFilter {
  /** Epoch ms, inclusive; undefined: open. */
  from?: number;
  to?: number;
  search?: string;
  /** Keep only the last N matching lines (0 or undefined: all). */
  lines?: number;
  /** Year for syslog timestamps, which carry none. */
  year: number;
}

const ISO = /^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)/;
const SYSLOG = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The epoch ms of a line's leading timestamp (ISO 8601 or syslog), or undefined. */
export function lineTime(line: string, year: number): number | undefined {
  const iso = ISO.exec(line);
  if (iso) {
    let s = iso[1]!.replace(" ", "T").replace(",", ".");
    if (!/(Z|[+-]\d{2}:?\d{2})$/.test(s)) s += "Z";
    const t = Date.parse(s);
    return Number.isNaN(t) ? undefined : t;
  }
  const sys = SYSLOG.exec(line);
  if (sys) {
    const month = MONTHS.indexOf(sys[1]!);
    if (month < 0) return undefined;
    return Date.UTC(year, month, Number(sys[2]), Number(sys[3]), Number(sys[4]), Number(sys[5]));
  }
  return undefined;
}

/**
 * The time-range and search-text part of a filter, one line at a time, so a log of any size is
 * filtered while it is read. Stateful: a line without a timestamp follows the line before it.
 */
export class LineFilter {
  private inRange = true;
  private readonly needle?: string;

  constructor(private readonly f: LogFilter) {
    this.needle = f.search?.toLowerCase();
  }

  keep(line: string): boolean {
    const t = lineTime(line, this.f.year);
    if (t !== undefined)
      this.inRange =
        (this.f.from === undefined || t >= this.f.from) && (this.f.to === undefined || t <= this.f.to);
    if (!this.inRange) return false;
    return !this.needle || line.toLowerCase().includes(this.needle);
  }
}

export function filterLines(lines: string[], f: LogFilter): string[] {
  const lf = new LineFilter(f);
  const out = lines.filter((l) => lf.keep(l));
  return f.lines && out.length > f.lines ? out.slice(out.length - f.lines) : out;
}

/** Parses `dateFrom`/`dateTo` (ISO 8601 or unix seconds); throws a clear error otherwise. */
export function parseDate(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "number" && Number.isFinite(v)) return v * 1000;
  if (typeof v === "string") {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  throw new Error(`'${name}' is not an ISO 8601 date or unix seconds: ${JSON.stringify(v)}`);
}

/** Simple filename glob (`*`, `?`) to a RegExp. */
export function globRegExp(pattern: string): RegExp {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`);
}
