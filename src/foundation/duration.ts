/** thin-edge durations as flow files write them: `"500ms"`, `"30s"`, `"5m"`, `"1h"`, or seconds as a number. */
const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(v: unknown, where: string): number {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v * 1000;
  const m = typeof v === "string" ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(v) : null;
  if (!m) throw new Error(`${where}: '${String(v)}' is not a duration (e.g. "500ms", "30s", "5m", "1h")`);
  return Number(m[1]) * (UNIT[m[2] ?? "s"] ?? 1000);
}
