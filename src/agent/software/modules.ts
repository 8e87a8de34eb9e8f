/** Pure parts of software management: plugin output and `updateList` validation. */
import type { CommandPayloads, SoftwareModule } from "../../api/commands.ts";

export interface Module {
  name: string;
  version?: string;
}

export interface SoftwareList {
  type: string;
  modules: Module[];
}

/** The te/ payload's types (src/api/commands.ts), which the c8y mapper's builder produces too. */
export type UpdateModule = SoftwareModule;
export type UpdateGroup = CommandPayloads["software_update"]["updateList"][number];

/** `list` output: one `name\tversion` line per module (version optional), blank lines skipped. */
export function parseListOutput(stdout: string): Module[] {
  const out: Module[] = [];
  for (const raw of stdout.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (!line.trim()) continue;
    const tab = line.indexOf("\t");
    const name = (tab < 0 ? line : line.slice(0, tab)).trim();
    const version = tab < 0 ? "" : line.slice(tab + 1).trim();
    if (!name) continue;
    out.push(version ? { name, version } : { name });
  }
  return out;
}

/** Checks an `updateList`; returns the groups or an error the requester can act on. */
export function parseUpdateList(
  v: unknown,
): { ok: true; groups: UpdateGroup[] } | { ok: false; error: string } {
  if (!Array.isArray(v)) return { ok: false, error: "updateList must be a list" };
  const groups: UpdateGroup[] = [];
  for (const [i, g] of v.entries()) {
    if (!g || typeof g !== "object") return { ok: false, error: `updateList[${i}] must be an object` };
    const { type, modules } = g as Record<string, unknown>;
    if (typeof type !== "string" || !type)
      return { ok: false, error: `updateList[${i}].type must be a string` };
    if (!Array.isArray(modules)) return { ok: false, error: `updateList[${i}].modules must be a list` };
    const mods: UpdateModule[] = [];
    for (const [j, m] of modules.entries()) {
      const r = (m ?? {}) as Record<string, unknown>;
      const where = `updateList[${i}].modules[${j}]`;
      if (typeof r.name !== "string") return { ok: false, error: `${where}.name must be a string` };
      if (!r.name.trim()) return { ok: false, error: `${where}.name must not be empty` };
      // the name is a plugin argument: one starting with '-' would be taken as an option (apt-get -o ...)
      if (r.name.startsWith("-")) return { ok: false, error: `${where}.name must not start with '-'` };
      if (r.action !== "install" && r.action !== "remove")
        return { ok: false, error: `${where}.action must be install or remove` };
      const mod: UpdateModule = { name: r.name, action: r.action };
      if (typeof r.version === "string" && r.version) mod.version = r.version;
      if (typeof r.url === "string" && r.url) mod.url = r.url;
      mods.push(mod);
    }
    groups.push({ type, modules: mods });
  }
  return { ok: true, groups };
}

/** The argv (after the plugin path) for one module action, as the sm-plugin protocol wants it. */
export function moduleArgs(m: UpdateModule, file?: string): string[] {
  const args = [m.action, m.name];
  if (m.version) args.push("--module-version", m.version);
  if (file && m.action === "install") args.push("--file", file);
  return args;
}
