/**
 * `ledge completions bash|zsh|fish`: each script, loaded by the real shell, completes commands,
 * subcommands, options and config keys from the command tree (option values are skipped).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ledge } from "../helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ledge-completions-"));
function script(shell: string): string {
  const r = ledge(["completions", shell]);
  assert.equal(r.code, 0, r.stderr);
  const file = join(dir, `ledge.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}
const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean);
};
const has = (shell: string) => spawnSync("sh", ["-c", `command -v ${shell}`]).status === 0;

/** [typed words (the last one is being completed), expected candidates among the offered] */
const CASES: [string[], string[]][] = [
  [[""], ["run", "mqtt", "config", "completions", "--config-dir"]],
  [["mq"], ["mqtt"]],
  [
    ["-c", "/tmp", "mqtt", ""],
    ["pub", "sub"],
  ],
  [
    ["mqtt", "sub", "--"],
    ["--qos", "--count", "--help"],
  ],
  [
    ["config", "get", "mqtt.bind."],
    ["mqtt.bind.address", "mqtt.bind.port"],
  ],
  [
    ["run", ""],
    ["broker", "api", "c8y-mapper"],
  ],
];

describe("ledge completions", () => {
  it("bash", () => {
    const file = script("bash");
    for (const [typed, want] of CASES) {
      const words = ["ledge", ...typed].map((w) => `'${w}'`).join(" ");
      const got = run("bash", [
        "-c",
        `source ${file}; COMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _ledge; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ]);
      for (const w of want) assert.ok(got.includes(w), `${typed.join(" ")}: ${w} in ${got.join(" ")}`);
      assert.ok(
        got.every((g) => g.startsWith(typed.at(-1) ?? "")),
        `only matching words: ${got.join(" ")}`,
      );
    }
  });

  it("zsh", { skip: !has("zsh") && "zsh not installed (scripts/test-deps.sh)" }, () => {
    const file = script("zsh");
    for (const [typed, want] of CASES) {
      const words = ["ledge", ...typed].map((w) => `'${w}'`).join(" ");
      const got = run("zsh", [
        "-c",
        `autoload -U compinit && compinit -u; source ${file}; words=(${words}); CURRENT=${typed.length + 1}; _ledge_candidates "$(_ledge_path)"; print -l -- "\${candidates[@]%%:*}"`,
      ]).map((c) => c.replace(/\\:/g, ":"));
      for (const w of want) assert.ok(got.includes(w), `${typed.join(" ")}: ${w} in ${got.join(" ")}`);
    }
  });

  it("fish", { skip: !has("fish") && "fish not installed (scripts/test-deps.sh)" }, () => {
    const file = script("fish");
    for (const [typed, want] of CASES) {
      const got = run("fish", [
        "-c",
        `source ${file}; complete -C${JSON.stringify(["ledge", ...typed].join(" "))}`,
      ]).map((l) => l.split("\t")[0] ?? "");
      // fish offers options only once a `-` is typed
      const offered = (typed.at(-1) ?? "").startsWith("-") ? want : want.filter((w) => !w.startsWith("-"));
      for (const w of offered) assert.ok(got.includes(w), `${typed.join(" ")}: ${w} in ${got.join(" ")}`);
    }
  });

  it("an unknown shell is a usage error", () => {
    const r = ledge(["completions", "tcsh"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown shell 'tcsh' \(known: bash, zsh, fish\)/);
  });
});
