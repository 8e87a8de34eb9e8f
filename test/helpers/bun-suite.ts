/**
 * Runs a node:test file under Bun (`bun test` runs node:test files), so the code under test picks
 * Bun's sockets (selectNet) as in the x64/arm64 binaries, while the same file under Node uses
 * node:net/node:tls.
 */
import { BUN, ROOT, runCommand } from "./targets-bin.ts";

export interface BunRun {
  passed: string[];
  failed: string[];
  code: number | null;
  /** The end of the output, for assertion messages. */
  tail: string;
}

export async function underBun(file: string, timeoutMs = 180_000): Promise<BunRun> {
  const r = await runCommand(BUN, ["test", file], { cwd: ROOT, timeoutMs });
  const names = (status: string) =>
    [...r.output.matchAll(new RegExp(`^\\(${status}\\) (.*?)(?: \\[[\\d.]+ms\\])?$`, "gm"))].map(
      (m) => m[1] as string,
    );
  return { passed: names("pass"), failed: names("fail"), code: r.code, tail: r.output.slice(-3000) };
}
