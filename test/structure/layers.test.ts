/**
 * The layer order of `src/` (README, "Layers"), checked on the import graph esbuild builds for the
 * CLI bundle: every import, static or `import()`, points down the order, siblings never import each
 * other (they meet on MQTT), and no module is part of an import cycle.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { describe, it } from "node:test";
import { importGraph } from "../../build.ts";

/** Lowest first. Folders on one rank are siblings. */
export const LAYERS: readonly (readonly string[])[] = [
  ["foundation"],
  ["config"],
  ["bus"],
  ["component"],
  ["api"],
  ["batch"],
  ["mappers", "flows", "bridge", "drivers", "agent", "cert"],
  ["app"],
  ["cli"],
];

const rank = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i] as const)));
const folderOf = (path: string) => path.split("/")[1] ?? "";

/** Every edge between two `src/` modules: [importer, imported]. */
async function sourceEdges(): Promise<[string, string][]> {
  const meta = await importGraph();
  return Object.entries(meta.inputs)
    .filter(([f]) => f.startsWith("src/"))
    .flatMap(([f, input]) =>
      input.imports.filter((i) => i.path.startsWith("src/")).map((i) => [f, i.path] as [string, string]),
    );
}

/** Strongly connected components of more than one module (or a module importing itself): Tarjan. */
export function cycles(edges: [string, string][]): string[][] {
  const next = new Map<string, string[]>();
  for (const [a, b] of edges) {
    next.set(a, [...(next.get(a) ?? []), b]);
    if (!next.has(b)) next.set(b, []);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (next.get(v) ?? []).includes(v)) found.push(scc.sort());
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe("layers of src/", () => {
  it("every top-level folder of src/ has a layer", () => {
    const folders = readdirSync(new URL("../../src", import.meta.url), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    assert.deepEqual(
      folders.filter((f) => !rank.has(f)),
      [],
    );
  });

  it("every import points down the layer order, never sideways", async () => {
    const wrong = (await sourceEdges())
      .filter(([a, b]) => folderOf(a) !== folderOf(b))
      .filter(([a, b]) => (rank.get(folderOf(a)) ?? -1) <= (rank.get(folderOf(b)) ?? -1))
      .map(([a, b]) => `${a} -> ${b}`);
    assert.deepEqual(wrong, []);
  });

  it("no import cycles between modules", async () => {
    assert.deepEqual(cycles(await sourceEdges()), []);
  });

  it("MQTT.js is not in the ledge bundle: everything that connects uses ledge's own client", async () => {
    const inputs = Object.keys((await importGraph()).inputs);
    assert.ok(
      inputs.some((f) => f.startsWith("node_modules/")),
      "positive control: the bundle's packages are listed",
    );
    assert.deepEqual(
      inputs.filter((f) => /(^|\/)node_modules\/mqtt(-packet)?\//.test(f)),
      [],
    );
  });

  it("the cycle finder finds a cycle (positive control)", () => {
    assert.deepEqual(
      cycles([
        ["a", "b"],
        ["b", "c"],
        ["c", "a"],
        ["c", "d"],
      ]),
      [["a", "b", "c"]],
    );
    assert.deepEqual(cycles([["a", "a"]]), [["a"]]);
    assert.deepEqual(cycles([["a", "b"]]), []);
  });
});
