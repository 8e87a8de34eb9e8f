import { bad, type LineParser, nothing, type ParseResult, toNumber, type Values } from "./types.ts";

const KNOT_MS = 1852 / 3600;
const DAY_MS = 86_400_000;

export interface NmeaOptions {
  /** Reject sentences without `*hh` (default true: a serial line flips bits). */
  requireChecksum?: boolean;
  /** Stamp readings with the receiver's fix time (GGA/RMC) instead of leaving the read time. */
  deviceTime?: boolean;
}

/** XOR of the characters between `$` and `*`, as two upper-case hex digits. */
export function nmeaChecksum(body: string): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i);
  return x.toString(16).toUpperCase().padStart(2, "0");
}

/** `4807.038`,`N` → 48.1173; `ddmm.mmmm` for latitude (degDigits 2), `dddmm.mmmm` for longitude (3). */
export function nmeaCoordinate(text: string, hemi: string, degDigits: 2 | 3): number | string {
  if (!new RegExp(`^\\d{${degDigits}}\\d{2}(\\.\\d+)?$`).test(text)) return `bad coordinate '${text}'`;
  const deg = Number(text.slice(0, degDigits));
  const min = Number(text.slice(degDigits));
  if (min >= 60 || deg > (degDigits === 2 ? 90 : 180)) return `coordinate '${text}' out of range`;
  const pos = degDigits === 2 ? "N" : "E";
  const neg = degDigits === 2 ? "S" : "W";
  if (hemi !== pos && hemi !== neg) return `bad hemisphere '${hemi}'`;
  const v = deg + min / 60;
  return Math.round((hemi === neg ? -v : v) * 1e7) / 1e7;
}

/** `hhmmss(.sss)` → ms since midnight UTC; undefined when empty or malformed. */
export function nmeaTimeOfDay(text: string): number | undefined {
  const m = /^(\d{2})(\d{2})(\d{2}(?:\.\d+)?)$/.exec(text);
  if (!m) return undefined;
  const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (h > 23 || min > 59 || s >= 61) return undefined;
  return Math.round(((h * 60 + min) * 60 + s) * 1000);
}

/** `ddmmyy` → ms of that day's midnight UTC (years 80..99 are 19xx, as NMEA 0183 receivers count). */
export function nmeaDate(text: string): number | undefined {
  const m = /^(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (d < 1 || d > 31 || mo < 1 || mo > 12) return undefined;
  return Date.UTC(y >= 80 ? 1900 + y : 2000 + y, mo - 1, d);
}

function position(f: string[], at: number): { latitude: number; longitude: number } | string | undefined {
  const [lat, ns, lon, ew] = [f[at] ?? "", f[at + 1] ?? "", f[at + 2] ?? "", f[at + 3] ?? ""];
  if (lat === "" && lon === "") return undefined; // no fix
  const latitude = nmeaCoordinate(lat, ns, 2);
  if (typeof latitude === "string") return latitude;
  const longitude = nmeaCoordinate(lon, ew, 3);
  if (typeof longitude === "string") return longitude;
  return { latitude, longitude };
}

/** What GGA/RMC reported: values and the fix's time of day (and date, RMC only). */
interface Fix {
  values: Values;
  timeOfDay?: number;
  date?: number;
}

function gga(f: string[]): Fix | string | undefined {
  const quality = toNumber(f[6] ?? "");
  if (quality === undefined) return "GGA without fix quality";
  if (quality === 0) return undefined;
  const pos = position(f, 2);
  if (typeof pos === "string" || !pos) return pos;
  const group: Record<string, number> = { ...pos };
  const alt = toNumber(f[9] ?? "");
  if (alt !== undefined) group.altitude = alt;
  const values: Values = { position: group };
  const sats = toNumber(f[7] ?? "");
  if (sats !== undefined) values.satellites = sats;
  return { values, timeOfDay: nmeaTimeOfDay(f[1] ?? "") };
}

function rmc(f: string[]): Fix | string | undefined {
  // status V is the receiver's warning (no valid fix); some receivers leave it empty until they
  // have one: neither publishes, neither is a fault of the line
  if (f[2] === "V" || f[2] === "") return undefined;
  if (f[2] !== "A") return `RMC status '${f[2] ?? ""}' is neither A nor V`;
  const pos = position(f, 3);
  if (typeof pos === "string" || !pos) return pos;
  const values: Values = { position: { ...pos } };
  const knots = toNumber(f[7] ?? "");
  if (knots !== undefined) values.speed = Math.round(knots * KNOT_MS * 1000) / 1000;
  const course = toNumber(f[8] ?? "");
  if (course !== undefined) values.course = course;
  return { values, timeOfDay: nmeaTimeOfDay(f[1] ?? ""), date: nmeaDate(f[9] ?? "") };
}

/**
 * A sentence address: a two-letter talker and a three-letter type (`GPGGA`), or a proprietary
 * `P` + manufacturer + anything (`PMTK010`, `PSRF100`, `PFST`, `PKWDWPL`); NMEA 0183 allows letters
 * and digits.
 */
const ADDRESS = /^(?:[A-Z][A-Z0-9][A-Z0-9]{3}|P[A-Z0-9]{1,15})$/;

/**
 * NMEA 0183: GGA → `position` {latitude, longitude, altitude} and `satellites`; RMC → `position`
 * {latitude, longitude}, `speed` (m/s) and `course` (degrees). Any talker (GP, GN, GL, ...) and any
 * other valid sentence (GSV, proprietary `$P...`) is accepted and publishes nothing; a wrong or
 * missing checksum is bad. With `deviceTime`, readings carry the fix time: RMC has date and time,
 * GGA only the time (dated by `nearestDay`).
 */
export function nmeaParser(o: NmeaOptions = {}): LineParser {
  const requireChecksum = o.requireChecksum ?? true;
  /** The last RMC's full fix time: the day a GGA (time only) belongs to is found from it. */
  let lastRmc: number | undefined;
  return (raw, now = Date.now()) => {
    const line = raw.trim();
    if (!line.startsWith("$")) return bad("not an NMEA sentence (no leading '$')");
    const star = line.lastIndexOf("*");
    let body: string;
    if (star >= 0) {
      body = line.slice(1, star);
      const given = line.slice(star + 1).toUpperCase();
      if (!/^[0-9A-F]{2}$/.test(given)) return bad(`malformed checksum '${line.slice(star + 1)}'`);
      const want = nmeaChecksum(body);
      if (given !== want) return bad(`checksum mismatch: got ${given}, computed ${want}`);
    } else {
      if (requireChecksum) return bad("checksum missing");
      body = line.slice(1);
    }
    const f = body.split(",");
    const id = f[0] ?? "";
    if (!ADDRESS.test(id)) return bad(`bad sentence address '${id.slice(0, 16)}'`);
    if (id.startsWith("P")) return nothing;
    const kind = id.slice(2);
    const fix = kind === "GGA" ? gga(f) : kind === "RMC" ? rmc(f) : undefined;
    if (typeof fix === "string") return bad(fix);
    if (!fix) return nothing;
    const result: ParseResult = { ok: true, values: fix.values };
    if (fix.timeOfDay === undefined) return result;
    const time =
      fix.date !== undefined ? fix.date + fix.timeOfDay : nearestDay(fix.timeOfDay, lastRmc ?? now);
    if (fix.date !== undefined) lastRmc = time;
    if (o.deviceTime) result.time = time;
    return result;
  };
}

/**
 * A time of day (a GGA fix has no date) placed on the day that puts it nearest to `ref`: the last
 * RMC's fix time, else the read time. A fix just before midnight read just after is dated the day
 * before; one just after midnight following an RMC just before, the day after.
 */
export function nearestDay(timeOfDay: number, ref: number): number {
  let best = Math.floor(ref / DAY_MS) * DAY_MS + timeOfDay;
  for (const c of [best - DAY_MS, best + DAY_MS]) if (Math.abs(c - ref) < Math.abs(best - ref)) best = c;
  return best;
}
