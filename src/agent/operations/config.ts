import { readFile, rename, rm, stat } from "node:fs/promises";
import type { DeclaredType } from "../declared-types.ts";
import { download, uploadFile } from "../transfer.ts";
import { type Operation, str } from "./operation.ts";

/** Declared config types, re-read for every command so edits apply without a restart. */
export type TypesSource = () => DeclaredType[];

/**
 * Checks a config file's new content before config_update puts it in place (a component that
 * owns the file registers it): every problem as text (`file:line: reason` lines), or undefined.
 */
export type ConfigValidator = (text: string, file: string) => string | undefined;

/** The declared type a command names; `kind` ("config", "log") words the error. */
export function findDeclared(
  types: TypesSource,
  payload: Record<string, unknown>,
  kind: string,
): DeclaredType {
  const type = str(payload, "type");
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
      const url = str(payload, "tedgeUrl");
      if (!url) throw new Error("the command has no 'tedgeUrl' to upload the snapshot to");
      await uploadFile(url, t.path, ctx.signal).catch((e: NodeJS.ErrnoException) => {
        throw e.code === "ENOENT" ? new Error(`config file ${t.path} does not exist`) : e;
      });
      return { path: t.path };
    },
  };
}

/**
 * `config_update`: downloads `tedgeUrl` (else `remoteUrl`) and replaces the type's file
 * atomically, keeping the old file's permissions; `successful` carries its `path`.
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
      const sources = [str(payload, "tedgeUrl"), str(payload, "remoteUrl")].filter((u): u is string => !!u);
      if (!sources.length) throw new Error("the command has no 'tedgeUrl' or 'remoteUrl' to download from");
      const mode = await stat(t.path).then(
        (s) => s.mode & 0o7777,
        () => 0o644,
      );
      // a validated type is downloaded beside the file and only renamed over it when valid
      const validate = validators[t.type];
      const target = validate ? `${t.path}.candidate-${process.pid}` : t.path;
      // thin-edge's mappers stage the file at tedgeUrl; a requester that did not is served from remoteUrl.
      let last: unknown;
      for (const url of sources) {
        try {
          await download(url, target, ctx.signal, mode);
          if (validate) await adopt(target, t.path, validate);
          return { path: t.path };
        } catch (e) {
          last = e;
          if (ctx.signal.aborted) break;
        }
      }
      throw last;
    },
  };
}

/** Renames a downloaded candidate over `file` when it is valid; removes it and fails otherwise. */
async function adopt(candidate: string, file: string, validate: ConfigValidator): Promise<void> {
  const problems = validate(await readFile(candidate, "utf8"), file);
  if (problems !== undefined) {
    await rm(candidate, { force: true });
    throw new Error(`the new ${file} is invalid and was not applied:\n${problems}`);
  }
  await rename(candidate, file);
}
