import { bad, type LineParser, nothing, type ParseResult, toNumber, type Values } from "./types.ts";

const KNOT_MS = 1852 / 3600;

export interface NmeaOptions {
  /** Reject sentences without `*hh` (default true: a serial line flips bits). */
  requireChecksum?: boolean;
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

function position(f: string[], at: number): { latitude: number; longitude: number } | string | undefined {
  const [lat, ns, lon, ew] = [f[at] ?? "", f[at + 1] ?? "", f[at + 2] ?? "", f[at + 3] ?? ""];
  if (lat === "" && lon === "") return undefined; // no fix
  const latitude = nmeaCoordinate(lat, ns, 2);
  if (typeof latitude === "string") return latitude;
  const longitude = nmeaCoordinate(lon, ew, 3);
  if (typeof longitude === "string") return longitude;
  return { latitude, longitude };
}

function gga(f: string[]): ParseResult {
  const quality = toNumber(f[6] ?? "");
  if (quality === undefined) return bad("GGA without fix quality");
  if (quality === 0) return nothing;
  const pos = position(f, 2);
  if (typeof pos === "string") return bad(pos);
  if (!pos) return nothing;
  const group: Record<string, number> = { ...pos };
  const alt = toNumber(f[9] ?? "");
  if (alt !== undefined) group.altitude = alt;
  const values: Values = { position: group };
  const sats = toNumber(f[7] ?? "");
  if (sats !== undefined) values.satellites = sats;
  return { ok: true, values };
}

function rmc(f: string[]): ParseResult {
  if (f[2] === "V") return nothing; // receiver warning: no valid fix
  if (f[2] !== "A") return bad(`RMC status '${f[2] ?? ""}' is neither A nor V`);
  const pos = position(f, 3);
  if (typeof pos === "string") return bad(pos);
  if (!pos) return nothing;
  const values: Values = { position: { ...pos } };
  const knots = toNumber(f[7] ?? "");
  if (knots !== undefined) values.speed = Math.round(knots * KNOT_MS * 1000) / 1000;
  const course = toNumber(f[8] ?? "");
  if (course !== undefined) values.course = course;
  return { ok: true, values };
}

/**
 * NMEA 0183: GGA → `position` {latitude, longitude, altitude} and `satellites`; RMC → `position`
 * {latitude, longitude}, `speed` (m/s) and `course` (degrees). Any talker (GP, GN, GL, ...). Other
 * sentences are valid but carry nothing; a wrong or missing checksum is bad.
 */
export function nmeaParser(o: NmeaOptions = {}): LineParser {
  const requireChecksum = o.requireChecksum ?? true;
  return (raw) => {
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
    if (!/^[A-Z]{5}$/.test(id)) return bad(`bad sentence id '${id.slice(0, 10)}'`);
    switch (id.slice(2)) {
      case "GGA":
        return gga(f);
      case "RMC":
        return rmc(f);
      default:
        return nothing;
    }
  };
}
