import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { c8yMapper, msg, run } from "../helpers/mappers-fixtures.ts";

const cap = (op: string, payload: string | object = {}, entity = "device/main//") =>
  msg(`te/${entity}/cmd/${op}`, payload, true);

describe("c8y capabilities → 114/118/119", () => {
  it("restart → 114,c8y_Restart (thin-edge docs)", () => {
    assert.deepEqual(run(c8yMapper(), [], cap("restart")), [["c8y/s/us", "114,c8y_Restart"]]);
  });

  it("114 always lists every supported operation of the entity", () => {
    assert.deepEqual(run(c8yMapper(), [cap("restart")], cap("software_update", { types: ["apt"] })), [
      ["c8y/s/us", "114,c8y_Restart,c8y_SoftwareUpdate"],
    ]);
  });

  it("the same capability again sends nothing", () => {
    assert.deepEqual(run(c8yMapper(), [cap("restart")], cap("restart")), []);
  });

  it("log_upload types → 118 (supported logs); 114 is sorted, as thin-edge sorts it", () => {
    assert.deepEqual(
      run(c8yMapper(), [cap("restart")], cap("log_upload", { types: ["syslog", "mosquitto"] })),
      [
        ["c8y/s/us", "114,c8y_LogfileRequest,c8y_Restart"],
        ["c8y/s/us", "118,syslog,mosquitto"],
      ],
    );
  });

  it("new log types alone → only 118", () => {
    assert.deepEqual(
      run(c8yMapper(), [cap("log_upload", { types: ["a"] })], cap("log_upload", { types: ["a", "b"] })),
      [["c8y/s/us", "118,a,b"]],
    );
  });

  it("config_snapshot and config_update types → 119 with the latest announced list (thin-edge)", () => {
    const m = c8yMapper();
    assert.deepEqual(run(m, [], cap("config_snapshot", { types: ["tedge.toml", "mosquitto"] })), [
      ["c8y/s/us", "114,c8y_UploadConfigFile"],
      ["c8y/s/us", "119,tedge.toml,mosquitto"],
    ]);
    assert.deepEqual(run(m, [], cap("config_update", { types: ["mosquitto", "app.conf"] })), [
      ["c8y/s/us", "114,c8y_DownloadConfigFile,c8y_UploadConfigFile"],
      ["c8y/s/us", "119,mosquitto,app.conf"],
    ]);
  });

  it("the software_list capability's types → c8y_SupportedSoftwareTypes (thin-edge)", () => {
    const out = run(c8yMapper(), [], cap("software_list", { types: ["apt", "docker"] }));
    assert.deepEqual(out[0], [
      "c8y/inventory/managedObjects/update/test-device",
      '{"c8y_SupportedSoftwareTypes":["apt","docker"]}',
    ]);
    assert.match(out[1]![0], /^te\/device\/main\/\/\/cmd\/software_list\/c8y-mapper-/);
  });

  it("a child's capabilities go on its own SmartREST topic", () => {
    const out = run(
      c8yMapper(),
      [msg("te/device/child1//", { "@type": "child-device", name: "c" })],
      cap("restart", {}, "device/child1//"),
    );
    assert.deepEqual(out, [["c8y/s/us/test-device:device:child1", "114,c8y_Restart"]]);
  });

  it("a withdrawn capability (empty payload) shrinks the list", () => {
    assert.deepEqual(run(c8yMapper(), [cap("restart"), cap("software_update")], cap("restart", "")), [
      ["c8y/s/us", "114,c8y_SoftwareUpdate"],
    ]);
  });

  it("operations without a Cumulocity counterpart are not advertised", () => {
    // software_list is not advertised either, but makes the mapper ask for the list (c8y-software-firmware).
    assert.deepEqual(run(c8yMapper(), [], cap("health")), []);
  });

  it("types that are not strings → te/errors", () => {
    const out = run(c8yMapper(), [], cap("log_upload", { types: [1] }));
    assert.deepEqual(out, [
      ["te/errors", "te/device/main///cmd/log_upload: 'types' must be an array of strings"],
    ]);
  });
});
