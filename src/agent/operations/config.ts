import { stat } from "node:fs/promises";
import { commandField } from "../../api/commands.ts";
import type { DeclaredType } from "../declared-types.ts";
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

/**
 * `config_update`: downloads `tedgeUrl` (else `remoteUrl`) and replaces the type's file
 * atomically, keeping the old file's permissions; `successful` carries its `path`.
 */
export function configUpdateOperation(types: TypesSource): Operation {
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
      // thin-edge's mappers stage the file at tedgeUrl; a requester that did not is served from remoteUrl.
      let last: unknown;
      for (const url of sources) {
        try {
          await download(url, t.path, ctx.signal, mode);
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
