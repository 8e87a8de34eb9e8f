/**
 * Where a value sits in a TOML source, for error messages: smol-toml reports lines only for syntax
 * errors, so validation errors find their line by walking the table headers (`[defaults]`,
 * `[[device]]`, `[[device.point]]`) and `key =` lines. Good enough for the flat files this driver
 * reads; an unknown position falls back to the nearest table header.
 */
export type TomlPath = readonly (string | number)[];

interface Section {
  /** Normalised path of the table, e.g. ["device", 1, "point", 0]. */
  path: (string | number)[];
  line: number;
  keys: Map<string, number>;
}

export class TomlLines {
  private readonly sections: Section[] = [];

  constructor(text: string) {
    const counters = new Map<string, number>();
    let current: Section = { path: [], line: 1, keys: new Map() };
    this.sections.push(current);
    const lines = text.split(/\r?\n/);
    lines.forEach((raw, i) => {
      const line = raw.trim();
      const arr = /^\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]/.exec(line);
      const tbl = arr ? undefined : /^\[\s*([A-Za-z0-9_.-]+)\s*\]/.exec(line);
      if (arr || tbl) {
        const names = (arr ?? tbl)![1]!.split(".");
        const path: (string | number)[] = [];
        names.forEach((n, j) => {
          path.push(n);
          const key = path.join("\u0000");
          const isLast = j === names.length - 1;
          if (isLast && arr) {
            const k = (counters.get(key) ?? -1) + 1;
            counters.set(key, k);
            path.push(k);
          } else if (counters.has(key)) {
            path.push(counters.get(key)!);
          }
        });
        current = { path, line: i + 1, keys: new Map() };
        this.sections.push(current);
        return;
      }
      const kv = /^([A-Za-z0-9_-]+|"[^"]*")\s*=/.exec(line);
      if (kv) current.keys.set(kv[1]!.replace(/^"|"$/g, ""), i + 1);
    });
  }

  /** The line of `path` (a key inside a table, or a table), 1-based. */
  lineOf(path: TomlPath): number {
    for (let n = path.length; n >= 0; n--) {
      const head = path.slice(0, n);
      const sec = this.sections.find(
        (s) => s.path.length === head.length && s.path.every((p, i) => p === head[i]),
      );
      if (!sec) continue;
      const key = path[n];
      if (typeof key === "string" && sec.keys.has(key)) return sec.keys.get(key)!;
      return sec.line;
    }
    return 1;
  }
}
