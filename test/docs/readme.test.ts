import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { renderReadme } from "../../scripts/readme-config.ts";
import { COMPONENTS } from "../../src/app/components.ts";
import { schema } from "../../src/config/schema.ts";

const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");

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
  it("gives exactly the two fresh-machine commands", () => {
    assert.match(readme, /npm start {5}# runs ledge/);
    assert.match(readme, /npm test {6}# installs what the tests need/);
  });
});
