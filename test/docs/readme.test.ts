import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { renderReadme } from "../../scripts/readme-config.ts";
import { COMPONENTS } from "../../src/app/components.ts";
import { schema } from "../../src/config/schema.ts";

const root = join(import.meta.dirname, "..", "..");
const readme = readFileSync(join(root, "README.md"), "utf8");

describe("README", () => {
  it("config reference is generated from the current schema", () => {
    assert.equal(renderReadme(readme), readme, "run: node --import tsx scripts/readme-config.ts");
  });
  it("documents every config key", () => {
    for (const key of Object.keys(schema)) assert.ok(readme.includes(`\`${key}\``), key);
  });
  it("documents every component", () => {
    for (const name of Object.keys(COMPONENTS)) assert.ok(readme.includes(`\`${name}\``), name);
  });
  it("the quick start gives exactly two commands, and they are the ones that run ledge and CI", () => {
    const quick = readme.slice(
      readme.indexOf("<!-- BEGIN quickstart -->"),
      readme.indexOf("<!-- END quickstart -->"),
    );
    const block = /```sh\n([^`]*)```/.exec(quick)?.[1] ?? "";
    const commands = block
      .split("\n")
      .map((l) => l.replace(/#.*/, "").trim())
      .filter(Boolean);
    assert.deepEqual(commands, ["npm start", "npm test"]);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    assert.equal(pkg.scripts.start, "sh scripts/start.sh");
    assert.equal(pkg.scripts.test, "sh scripts/test.sh");
    assert.match(
      readFileSync(join(root, ".ci", "run"), "utf8"),
      /^npm test\b/m,
      ".ci/run calls the README's test command",
    );
    assert.match(
      readFileSync(join(root, "scripts", "start.sh"), "utf8"),
      /\brun\b/,
      "npm start runs `ledge run`",
    );
  });
});
