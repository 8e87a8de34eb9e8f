/**
 * Shell completions generated from the commander tree, so every command a module registers is
 * completed without being listed twice. Each script carries the tree as a table keyed by command
 * path (`/mqtt/pub`), and one small function that finds the path of the words typed so far.
 */
import type { Command } from "commander";

export type Shell = "bash" | "zsh" | "fish";
export const SHELLS: readonly Shell[] = ["bash", "zsh", "fish"];

export interface Word {
  word: string;
  doc: string;
}

export interface Node {
  /** `""` for the program, `/mqtt/pub` for `ledge mqtt pub`. */
  path: string;
  /** Subcommands, options and argument values offered at this path. */
  words: Word[];
  /** Options that take a value: the next word is that value, not a command. */
  valued: string[];
}

const oneLine = (s: string) => s.split("\n")[0]?.trim() ?? "";

/** The completion table of a program: one node per command, with argument values from `values`. */
export function completionTree(program: Command, values: Record<string, readonly string[]> = {}): Node[] {
  const nodes: Node[] = [];
  const walk = (cmd: Command, path: string) => {
    const words: Word[] = cmd.commands.map((c) => ({ word: c.name(), doc: oneLine(c.description()) }));
    const valued: string[] = [];
    for (const o of cmd.options) {
      for (const flag of [o.long, o.short]) {
        if (!flag) continue;
        words.push({ word: flag, doc: oneLine(o.description) });
        if (o.required || o.optional) valued.push(flag);
      }
    }
    // commander adds --help itself, outside `options`
    words.push({ word: "--help", doc: "display help for command" });
    for (const v of values[path] ?? []) words.push({ word: v, doc: "" });
    nodes.push({ path, words, valued });
    for (const c of cmd.commands) walk(c, `${path}/${c.name()}`);
  };
  walk(program, "");
  return nodes;
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const paths = (nodes: Node[]) => nodes.filter((n) => n.path).map((n) => n.path);
const allValued = (nodes: Node[]) => [...new Set(nodes.flatMap((n) => n.valued))];

export function bashScript(name: string, nodes: Node[]): string {
  const cases = nodes
    .map((n) => `    ${sq(n.path)}) words=${sq(n.words.map((w) => w.word).join(" "))} ;;`)
    .join("\n");
  return `# bash completion for ${name}: eval "$(${name} completions bash)" or save to /etc/bash_completion.d/${name}
_${name}_path() {
  local path="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      ${allValued(nodes).join("|") || "--none"}) ((i++)); continue ;;
      -*) continue ;;
    esac
    case "$path/$w" in
      ${paths(nodes).join("|")}) path="$path/$w" ;;
    esac
  done
  printf '%s' "$path"
}
_${name}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" words
  case "$prev" in
    ${allValued(nodes).join("|") || "--none"}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  case "$(_${name}_path)" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _${name} ${name}
`;
}

export function zshScript(name: string, nodes: Node[]): string {
  const esc = (w: Word) => sq(`${w.word.replace(/:/g, "\\:")}${w.doc ? `:${w.doc}` : ""}`);
  const cases = nodes
    .map((n) => `    (${sq(n.path)}) candidates=(${n.words.map(esc).join(" ")}) ;;`)
    .join("\n");
  return `#compdef ${name}
# zsh completion for ${name}: save as _${name} in a directory of $fpath, or: source <(${name} completions zsh)
_${name}_path() {
  local path="" w skip=0
  for w in "\${(@)words[2,CURRENT-1]}"; do
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      (${allValued(nodes).join("|") || "--none"}) skip=1; continue ;;
      (-*) continue ;;
    esac
    case "$path/$w" in
      (${paths(nodes).join("|")}) path="$path/$w" ;;
    esac
  done
  print -r -- "$path"
}
_${name}_candidates() {
  case "$1" in
${cases}
  esac
}
_${name}() {
  local -a candidates
  case "\${words[CURRENT-1]}" in
    (${allValued(nodes).join("|") || "--none"}) _files; return ;;
  esac
  _${name}_candidates "$(_${name}_path)"
  _describe -t commands ${name} candidates
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then _${name} "$@"; else compdef _${name} ${name}; fi
`;
}

export function fishScript(name: string, nodes: Node[]): string {
  const lines = nodes.flatMap((n) =>
    n.words.map((w) => {
      const arg = w.word.startsWith("--")
        ? `-l ${sq(w.word.slice(2))}`
        : w.word.startsWith("-")
          ? `-s ${sq(w.word.slice(1))}`
          : `-f -a ${sq(w.word)}`;
      return `complete -c ${name} -n ${sq(`test (__${name}_path) = ${sq(n.path)}`)} ${arg}${w.doc ? ` -d ${sq(w.doc)}` : ""}`;
    }),
  );
  return `# fish completion for ${name}: ${name} completions fish > ~/.config/fish/completions/${name}.fish
function __${name}_path
  set -l path ""
  set -l skip 0
  for w in (commandline -opc)[2..-1]
    if test $skip = 1; set skip 0; continue; end
    switch $w
      case ${allValued(nodes).map(sq).join(" ") || "--none"}
        set skip 1; continue
      case '-*'
        continue
    end
    if contains -- "$path/$w" ${paths(nodes).map(sq).join(" ")}
      set path "$path/$w"
    end
  end
  echo $path
end
${lines.join("\n")}
`;
}

export function completionScript(shell: Shell, name: string, nodes: Node[]): string {
  return shell === "bash"
    ? bashScript(name, nodes)
    : shell === "zsh"
      ? zshScript(name, nodes)
      : fishScript(name, nodes);
}
