/**
 * Namespaced, levelled, one-line structured logs on stderr (`ts level ns msg {fields}`).
 * Hand-written on purpose: pino/winston pull in worker threads and tens of modules, which costs
 * memory on a 256 MiB gateway; this is the whole of what ledge needs.
 */
export type Level = "error" | "warn" | "info" | "debug" | "trace";
const RANK: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  trace(msg: string, fields?: Record<string, unknown>): void;
  child(namespace: string): Logger;
  enabled(level: Level): boolean;
}

export interface LogOptions {
  level: Level;
  /**
   * `namespace=level` overrides, relative to the root namespace (`bus` is `ledge:bus`; the full
   * `ledge:bus` works too); a namespace covers its children (`c8y-mapper` covers `c8y-mapper:http`).
   */
  levels?: string[];
  write?: (line: string) => void;
}

export function createLogger(opts: LogOptions, namespace = "ledge"): Logger {
  const overrides = (opts.levels ?? []).map((spec) => {
    const [ns, lvl] = spec.split("=");
    if (!ns || !lvl || !(lvl in RANK))
      throw new Error(`bad log level override '${spec}' (want namespace=level)`);
    const full = ns === namespace || ns.startsWith(`${namespace}:`) ? ns : `${namespace}:${ns}`;
    return [full, RANK[lvl as Level]] as const;
  });
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const make = (ns: string): Logger => {
    const own = overrides
      .filter(([o]) => ns === o || ns.startsWith(`${o}:`))
      .sort((a, b) => b[0].length - a[0].length)[0];
    const max = own ? own[1] : RANK[opts.level];
    const log = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
      if (RANK[level] > max) return;
      const extra = fields && Object.keys(fields).length ? ` ${safeJson(fields)}` : "";
      write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${ns} ${msg}${extra}\n`);
    };
    return {
      error: log("error"),
      warn: log("warn"),
      info: log("info"),
      debug: log("debug"),
      trace: log("trace"),
      child: (sub) => make(`${ns}:${sub}`),
      enabled: (level) => RANK[level] <= max,
    };
  };
  return make(namespace);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) =>
      x instanceof Error ? x.message : typeof x === "bigint" ? String(x) : x,
    );
  } catch {
    return "[unserialisable]";
  }
}
