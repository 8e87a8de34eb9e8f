/**
 * Node built-in modules loaded on first use. Under Bun every built-in is JavaScript compiled when it
 * is first imported, and some are large: a static import of node:zlib costs 6.5 MiB of RSS, node:http
 * 5.5, node:net 3.3, node:crypto 3.2 (bench/RESULTS.md, footprint). A module that needs one only on
 * some path takes it through here, so a process that never takes that path never pays for it.
 */
import { createRequire } from "node:module";

const load = createRequire(import.meta.url);

/** A getter for built-in `name`, which loads it at its first call. */
export function lazyBuiltin<T>(name: `node:${string}`): () => T {
  let mod: T | undefined;
  return () => {
    mod ??= load(name) as T;
    return mod;
  };
}

/** The built-ins ledge takes on demand, one getter each (shared: a module is loaded once anyway). */
export const lazy = {
  childProcess: lazyBuiltin<typeof import("node:child_process")>("node:child_process"),
  crypto: lazyBuiltin<typeof import("node:crypto")>("node:crypto"),
  http: lazyBuiltin<typeof import("node:http")>("node:http"),
  https: lazyBuiltin<typeof import("node:https")>("node:https"),
  net: lazyBuiltin<typeof import("node:net")>("node:net"),
  stream: lazyBuiltin<typeof import("node:stream")>("node:stream"),
  streamPromises: lazyBuiltin<typeof import("node:stream/promises")>("node:stream/promises"),
  tls: lazyBuiltin<typeof import("node:tls")>("node:tls"),
  url: lazyBuiltin<typeof import("node:url")>("node:url"),
};
