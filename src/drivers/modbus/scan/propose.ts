/**
 * A proposed modbus.toml for what a scan found, pure: one `[[device]]` per unit with its transport
 * settings, the SunSpec common model's texts as twin points, the register that answered the probe
 * as a first point, and comments naming what was identified. The caller validates it with the
 * same parser the driver uses before showing it.
 */
import type { FoundUnit, ScanResult } from "./scan.ts";
import { settingsOf } from "./scan.ts";

const q = (s: string) => JSON.stringify(s);

/** A child device name from what identified the unit, else `unit<id>`. */
export function deviceName(u: FoundUnit): string {
  const label = u.sunspec?.common.model?.value || u.identification?.product || "unit";
  const base =
    label
      .toLowerCase()
      .replace(/[^a-z0-9_.:-]+/g, "-")
      .replace(/^-+|-+$/g, "") || "unit";
  return `${base}-${u.unitId}`;
}

function transportLines(u: FoundUnit): string[] {
  const t = u.transport;
  if (t.kind === "tcp") return ['transport = "tcp"', `host = ${q(t.host)}`, `port = ${t.port}`];
  return [
    'transport = "rtu"',
    `serial_port = ${q(t.path)}`,
    `baud = ${t.baudRate}`,
    `parity = ${q(t.parity)}`,
    `data_bits = ${t.dataBits}`,
    `stop_bits = ${t.stopBits}`,
  ];
}

function unitToml(u: FoundUnit, names: Set<string>): string {
  let name = deviceName(u);
  for (let i = 2; names.has(name); i++) name = `${deviceName(u)}-${i}`;
  names.add(name);
  const out: string[] = [`# unit ${u.unitId} at ${settingsOf(u.transport)}`];
  const id = u.identification;
  if (id && (id.vendor || id.product || id.revision))
    out.push(
      `# identification (function 43/14): ${[id.vendor, id.product, id.revision].filter(Boolean).join(", ")}`,
    );
  if (u.sunspec)
    out.push(
      `# SunSpec at ${u.sunspec.base}: models ${u.sunspec.models.map((m) => `${m.id}@${m.address}`).join(", ") || "none"}`,
    );
  out.push(
    "[[device]]",
    `name = ${q(name)}`,
    `type = ${q(u.sunspec ? "sunspec" : "modbus-device")}`,
    ...transportLines(u),
  );
  out.push(`unit_id = ${u.unitId}`, "");
  for (const [field, f] of Object.entries(u.sunspec?.common ?? {}))
    out.push(
      "[[device.point]]",
      `name = ${q(field)}`,
      'table = "holding"',
      `address = ${f.address}`,
      'type = "string"',
      `length = ${f.length}`,
      `twin = ${q(`sunspec_${field}`)}`,
      "",
    );
  out.push(
    "[[device.point]]",
    `name = ${q(`${u.answered.table}_${u.answered.address}`)}`,
    `table = ${q(u.answered.table)}`,
    `address = ${u.answered.address}`,
    "# describe the other points from the device's register map",
    "",
  );
  return out.join("\n");
}

/**
 * The settings each serial line is proposed at: the one most units answered at (the first found
 * on a tie). One line runs at one setting, so units found at another are proposed commented out,
 * with what to change.
 */
function lineSettings(found: readonly FoundUnit[]): Map<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const u of found) {
    if (u.transport.kind !== "rtu") continue;
    const m = counts.get(u.transport.path) ?? new Map<string, number>();
    counts.set(u.transport.path, m);
    const s = settingsOf(u.transport);
    m.set(s, (m.get(s) ?? 0) + 1);
  }
  const out = new Map<string, string>();
  for (const [path, m] of counts) {
    let best = "";
    for (const [s, n] of m) if (!best || n > (m.get(best) ?? 0)) best = s;
    out.set(path, best);
  }
  return out;
}

export function proposeToml(r: ScanResult): string {
  const names = new Set<string>();
  const chosen = lineSettings(r.found);
  const parts = [
    "# proposed by `ledge modbus scan`: check names, points and scaling against the register map",
    "",
  ];
  for (const u of r.found) {
    const t = u.transport;
    const line = t.kind === "rtu" ? chosen.get(t.path) : undefined;
    const text = unitToml(u, names);
    if (t.kind !== "rtu" || line === settingsOf(t)) parts.push(text);
    else
      parts.push(
        `# unit ${u.unitId} answers at ${settingsOf(t)}, but ${t.path} is proposed at ${line} (one setting per line):`,
        "# set the unit to that and uncomment, or give it a line of its own",
        ...text.split("\n").map((l) => (l === "" || l.startsWith("#") ? l : `# ${l}`)),
      );
  }
  return `${parts.join("\n").trimEnd()}\n`;
}
