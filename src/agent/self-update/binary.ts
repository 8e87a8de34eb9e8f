import { basename, resolve } from "node:path";

/** True when ledge runs as a script under an interpreter (`node dist/ledge.mjs`, `bun src/...`). */
export function isInterpreter(execPath: string): boolean {
  return /^(node|nodejs|bun|tsx)(\.exe)?$/i.test(basename(execPath));
}

/** The argv that starts this ledge again (binary, or interpreter + script). */
export function ledgeCommand(execPath = process.execPath, argv = process.argv): string[] {
  if (isInterpreter(execPath) && argv[1]) return [execPath, resolve(argv[1])];
  return [execPath];
}

/** The arguments this process was started with (after the binary / script). */
export function ledgeArgs(argv = process.argv): string[] {
  return argv.slice(2);
}
