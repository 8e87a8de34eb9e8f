/**
 * `npm run release`: per built target, `ledge-<version>-<target>.tar.xz` (binary + service files),
 * `ledge_<version>_<arch>.deb`, plus `install.sh` and `SHA256SUMS`, in dist/release/.
 *   npm run release [-- --out DIR] [--version V] [--fast] [--targets linux-x64,linux-arm64]
 * `--fast` (the tests) compresses tarballs at xz level 0 and leaves the .deb uncompressed; a
 * release uses `xz -9e`. Builds nothing itself:
 * run `npm run build` first (missing binaries are an error, not skipped).
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_TARGETS, outputPath, type Target, targetByName } from "../targets/index.ts";
import { buildDeb } from "./release/deb.ts";
import { buildTarball } from "./release/tarball.ts";

const ROOT = join(import.meta.dirname, "..");

async function sha256(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

export async function release(o: {
  out: string;
  version: string;
  fast: boolean;
  targets: Target[];
}): Promise<string[]> {
  rmSync(o.out, { recursive: true, force: true });
  mkdirSync(o.out, { recursive: true });
  const files: string[] = [];
  for (const target of o.targets) {
    const binary = join(ROOT, outputPath(target));
    if (!existsSync(binary)) throw new Error(`${binary} is missing: run npm run build first`);
    files.push(buildTarball({ target, binary, version: o.version, out: o.out, fast: o.fast }));
    files.push(buildDeb({ target, binary, version: o.version, out: o.out, fast: o.fast }));
  }
  const installer = join(o.out, "install.sh");
  writeFileSync(
    installer,
    readFileSync(join(ROOT, "scripts/release/install.sh"), "utf8").replace("@VERSION@", o.version),
  );
  chmodSync(installer, 0o755);
  files.push(installer);
  const sums = await Promise.all(files.map(async (f) => `${await sha256(f)}  ${basename(f)}\n`));
  writeFileSync(join(o.out, "SHA256SUMS"), sums.join(""));
  return [...files, join(o.out, "SHA256SUMS")];
}

if (import.meta.main ?? process.argv[1] === import.meta.filename) {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: join(ROOT, "dist", "release") },
      version: { type: "string" },
      fast: { type: "boolean", default: false },
      targets: { type: "string" },
    },
  });
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const targets = values.targets
    ? values.targets.split(",").map((n) => {
        const t = targetByName(n);
        if (!t) throw new Error(`unknown target '${n}'`);
        return t;
      })
    : [...DEFAULT_TARGETS];
  const files = await release({
    out: values.out,
    version: values.version ?? pkg.version,
    fast: values.fast,
    targets,
  });
  for (const f of files) process.stdout.write(`${f}\n`);
}
