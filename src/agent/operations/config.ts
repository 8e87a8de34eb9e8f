import { readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, extname } from "node:path";
import { parse as parseToml } from "smol-toml";
import { commandField } from "../../api/commands.ts";
import { removeStaleTemps, syncDir } from "../../foundation/files.ts";
import type { DeclaredType } from "../declared-types.ts";
import { failureOf, runCommand } from "../process.ts";
import { download, uploadFile } from "../transfer.ts";
import type { Operation } from "./operation.ts";

/** Declared config types, re-read for every command so edits apply without a restart. */
export type TypesSource = () => DeclaredType[];

/** The declared type a command names; `kind` ("config", "log") words the error. */
export function findDeclared(
  types: TypesSource,
  payload: Record<string, unknown>,
  kind: string,
): DeclaredType {
  const type = commandField(payload, "config_snapshot", "type");
  if (!type) throw new Error("the command has no 'type'");
  const declared = types();
  const t = declared.find((d) => d.type === type);
  if (!t)
    throw new Error(
      `unknown ${kind} type '${type}' (declared: ${declared.map((d) => d.type).join(", ") || "none"})`,
    );
  return t;
}

/** `config_snapshot`: uploads the type's file to `tedgeUrl`; `successful` carries its `path`. */
export function configSnapshotOperation(types: TypesSource): Operation {
  return {
    op: "config_snapshot",
    resume: "rerun",
    capability: () => ({ types: types().map((t) => t.type) }),
    async run(payload, ctx) {
      const t = findDeclared(types, payload, "config");
      const url = commandField(payload, "config_snapshot", "tedgeUrl");
      if (!url) throw new Error("the command has no 'tedgeUrl' to upload the snapshot to");
      await uploadFile(url, t.path, ctx.signal).catch((e: NodeJS.ErrnoException) => {
        throw e.code === "ENOENT" ? new Error(`config file ${t.path} does not exist`) : e;
      });
      return { path: t.path };
    },
  };
}

/** Checks a candidate config file; throws with the reason it cannot be installed. */
export type ConfigValidator = (file: string) => void | Promise<void>;

/** Checks by file format, for declared types without a validator of their own. */
const BY_EXTENSION: Record<string, ConfigValidator> = {
  ".toml": async (f) => void parseToml(await readFile(f, "utf8")),
  ".json": async (f) => void JSON.parse(await readFile(f, "utf8")),
};

/**
 * Every check that applies to a new file of type `t`: its declared `validate` command, the
 * validator of the file it replaces (ledge.toml, modbus.toml, serial.toml: parsed as ledge would
 * read them), else the syntax of its format (.toml, .json).
 */
export async function validateConfig(
  t: DeclaredType,
  file: string,
  validators: Record<string, ConfigValidator>,
  signal?: AbortSignal,
): Promise<void> {
  if (t.validate) {
    const argv = [...t.validate, file];
    const r = await runCommand(argv, { signal });
    if (r.code !== 0) throw new Error(failureOf(argv, r));
  }
  const check = validators[t.path] ?? BY_EXTENSION[extname(t.path).toLowerCase()];
  await check?.(file);
}

/**
 * `config_update`: downloads `tedgeUrl` (else `remoteUrl`) next to the type's file, checks it
 * (`validateConfig`) and only then renames it over the old file, keeping the old file's
 * permissions; a file that fails its checks fails the command and the old file stays.
 * `successful` carries its `path`.
 */
export function configUpdateOperation(
  types: TypesSource,
  validators: Record<string, ConfigValidator> = {},
): Operation {
  return {
    op: "config_update",
    resume: "rerun",
    capability: () => ({ types: types().map((t) => t.type) }),
    async run(payload, ctx) {
      const t = findDeclared(types, payload, "config");
      const field = (k: "tedgeUrl" | "remoteUrl") => commandField(payload, "config_update", k);
      const sources = [field("tedgeUrl"), field("remoteUrl")].filter((u): u is string => !!u);
      if (!sources.length) throw new Error("the command has no 'tedgeUrl' or 'remoteUrl' to download from");
      const mode = await stat(t.path).then(
        (s) => s.mode & 0o7777,
        () => 0o644,
      );
      removeStaleTemps(t.path, NEW);
      const candidate = `${t.path}${NEW}${process.pid}`;
      // thin-edge's mappers stage the file at tedgeUrl; a requester that did not is served from remoteUrl.
      let last: unknown;
      let fetched = false;
      for (const url of sources) {
        try {
          await download(url, candidate, ctx.signal, mode);
          fetched = true;
          break;
        } catch (e) {
          last = e;
          if (ctx.signal.aborted) break;
        }
      }
      if (!fetched) throw last;
      try {
        await validateConfig(t, candidate, validators, ctx.signal);
      } catch (e) {
        await rm(candidate, { force: true });
        throw new Error(`the new ${t.type} is invalid, ${t.path} is unchanged: ${(e as Error).message}`);
      }
      await rename(candidate, t.path);
      syncDir(dirname(t.path));
      return { path: t.path };
    },
  };
}

/** Infix of a downloaded config file waiting for its checks: `<file>.new-<pid>`. */
const NEW = ".new-";
