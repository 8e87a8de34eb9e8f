/**
 * IP address syntax, as node:net's isIP reads it (IPv6 with `::`, an IPv4 tail and a zone id). Its
 * own code because node:net under Bun costs 3.3 MiB of RSS to load (src/foundation/builtin.ts) and
 * the config schema, which every command loads, only needs this check. test/foundation/ip.test.ts
 * holds it to node:net's verdicts.
 */

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;
const ZONE = /^[0-9a-zA-Z\-.:]+$/;

export function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => OCTET.test(p));
}

export function isIPv6(s: string): boolean {
  const pct = s.indexOf("%");
  if (pct >= 0 && !ZONE.test(s.slice(pct + 1))) return false;
  const addr = pct >= 0 ? s.slice(0, pct) : s;
  const halves = addr.split("::");
  if (halves.length > 2) return false;
  const groups = halves.map((h) => (h === "" ? [] : h.split(":")));
  const tailHalf = groups[groups.length - 1] ?? [];
  const last = tailHalf[tailHalf.length - 1];
  let v4 = 0;
  if (last?.includes(".")) {
    // an IPv4 tail stands for the last two groups
    if (!isIPv4(last)) return false;
    tailHalf.pop();
    v4 = 2;
  }
  const all = groups.flat();
  const count = all.length + v4;
  if (!all.every((g) => HEXTET.test(g))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** 4, 6 or 0, like node:net's isIP. */
export function isIP(s: string): 0 | 4 | 6 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}
