import { rm } from "node:fs/promises";
import { join } from "node:path";
import { failureOf, runCommand } from "../process.ts";
import {
  moduleArgs,
  parseListOutput,
  parseUpdateList,
  type SoftwareList,
  type UpdateModule,
} from "../software/modules.ts";
import { discoverPlugins } from "../software/plugins.ts";
import { download } from "../transfer.ts";
import type { Operation, RunContext } from "./operation.ts";

export interface SoftwareOptions {
  pluginsDir: string;
  /** Where module files given by URL are downloaded before `install --file`. */
  downloadDir: string;
  /** How a plugin is run: as is, or through sudo (`sudo.enable`). */
  privileged: (argv: string[]) => string[];
}

async function plugin(
  opts: SoftwareOptions,
  path: string,
  args: string[],
  ctx: RunContext,
  what: string,
): Promise<string> {
  const argv = opts.privileged([path, ...args]);
  const r = await runCommand(argv, { signal: ctx.signal });
  if (r.code !== 0) throw new Error(`${what} failed: ${failureOf(argv, r)}`);
  return r.stdout;
}

function types(dir: string): string[] {
  return [...discoverPlugins(dir).keys()];
}

/** `software_list`: every plugin's `list`, as `currentSoftwareList`. */
export function softwareListOperation(opts: SoftwareOptions): Operation {
  return {
    op: "software_list",
    resume: "rerun",
    capability: () => ({ types: types(opts.pluginsDir) }),
    async run(_payload, ctx) {
      const currentSoftwareList: SoftwareList[] = [];
      for (const [type, path] of discoverPlugins(opts.pluginsDir)) {
        const out = await plugin(opts, path, ["list"], ctx, `${type} list`);
        currentSoftwareList.push({ type, modules: parseListOutput(out) });
      }
      return { currentSoftwareList };
    },
  };
}

/**
 * `software_update`: per software type, `prepare`, one `install`/`remove` per module (modules
 * with a `url` are downloaded first and passed as `--file`), then `finalize`. The first failure
 * stops the update and becomes the reason (the plugin's stderr); a restart mid-way fails it,
 * because a half-applied package transaction must not be replayed blindly.
 */
export function softwareUpdateOperation(opts: SoftwareOptions): Operation {
  return {
    op: "software_update",
    resume: "fail",
    capability: () => ({ types: types(opts.pluginsDir) }),
    async run(payload, ctx) {
      const parsed = parseUpdateList(payload.updateList);
      if (!parsed.ok) throw new Error(parsed.error);
      const plugins = discoverPlugins(opts.pluginsDir);
      for (const g of parsed.groups)
        if (!plugins.has(g.type))
          throw new Error(`no software plugin for type '${g.type}' in ${opts.pluginsDir}`);
      for (const g of parsed.groups) {
        const path = plugins.get(g.type)!;
        await plugin(opts, path, ["prepare"], ctx, `${g.type} prepare`);
        for (const m of g.modules) await applyModule(opts, path, g.type, m, ctx);
        await plugin(opts, path, ["finalize"], ctx, `${g.type} finalize`);
      }
      return undefined;
    },
  };
}

async function applyModule(
  opts: SoftwareOptions,
  path: string,
  type: string,
  m: UpdateModule,
  ctx: RunContext,
): Promise<void> {
  const dir = opts.downloadDir;
  let file: string | undefined;
  try {
    if (m.url && m.action === "install") {
      file = join(dir, `${type}-${m.name.replace(/[^\w.-]/g, "_")}-${process.pid}-${Date.now()}`);
      await download(m.url, file, ctx.signal);
    }
    const what = `${m.action} ${m.name}${m.version ? ` ${m.version}` : ""} (${type})`;
    ctx.log.info(what);
    await plugin(opts, path, moduleArgs(m, file), ctx, what);
  } finally {
    if (file) await rm(file, { force: true });
  }
}
