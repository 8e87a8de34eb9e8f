/** `c8y_DeviceProfile` ↔ te `device_profile` (TEDGE-FACTS §7), pure mapper tables. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { c8yMapper, msg, NOW, pairs } from "../helpers/mappers-fixtures.ts";

const OPS = "c8y/devicecontrol/notifications";
const CMD = "te/device/main///cmd/device_profile/c8y-mapper-77";

const operation = {
  id: "77",
  profileName: "prod",
  profileId: "9",
  c8y_DeviceProfile: {
    software: [
      { name: "nodered", version: "1.0::debian", url: " ", action: "install" },
      { name: "app", version: "2", url: "http://x/app", action: "install", softwareType: "apama" },
    ],
    configuration: [{ name: "mosquitto", type: "mosquitto.conf", url: "http://x/cfg" }],
    firmware: { name: "core", version: "3", url: "http://x/fw" },
  },
};

const steps = [
  {
    operation: "firmware_update",
    "@skip": false,
    payload: { name: "core", version: "3", remoteUrl: "http://x/fw" },
  },
  {
    operation: "software_update",
    "@skip": false,
    payload: {
      updateList: [
        { type: "debian", modules: [{ name: "nodered", version: "1.0", action: "install" }] },
        { type: "apama", modules: [{ name: "app", version: "2", action: "install", url: "http://x/app" }] },
      ],
    },
  },
  {
    operation: "config_update",
    "@skip": false,
    payload: {
      name: "mosquitto",
      type: "mosquitto.conf",
      remoteUrl: "http://x/cfg",
      serverUrl: "http://x/cfg",
    },
  },
];

describe("c8y_DeviceProfile → device_profile", () => {
  const announced = () => {
    const m = c8yMapper();
    m.translate(msg("te/device/main///cmd/device_profile", {}, true));
    return m;
  };
  it("firmware, then one software step, then configuration", () => {
    const out = pairs(announced().translate(msg(OPS, operation)));
    assert.equal(out.length, 1);
    assert.equal(out[0]![0], CMD);
    assert.deepEqual(JSON.parse(out[0]![1]), { status: "init", name: "prod", operations: steps });
  });
  it("without profileName the operation is refused", () => {
    const out = pairs(announced().translate(msg(OPS, { ...operation, profileName: undefined })));
    assert.deepEqual(out[0], ["c8y/s/us", "504,77"]);
    assert.match(out[1]![1], /^505,77,.*profileName/);
  });
  it("a custom te/ capability is announced under its own name (thin-edge announces custom operations)", () =>
    assert.deepEqual(pairs(c8yMapper().translate(msg("te/device/main///cmd/custom_op", {}, true))), [
      ["c8y/s/us", "114,custom_op"],
    ]));
  it("the capability announces c8y_DeviceProfile", () =>
    assert.deepEqual(pairs(c8yMapper().translate(msg("te/device/main///cmd/device_profile", {}, true))), [
      ["c8y/s/us", "114,c8y_DeviceProfile"],
    ]));
  it("executing → 504 and 121,false; successful → firmware twin, 120, 121,true, 506, cleared, software list refreshed", () => {
    const m = c8yMapper();
    m.translate(msg("te/device/main///cmd/software_list", { types: ["debian"] }, true));
    const base = { name: "prod", operations: steps };
    assert.deepEqual(pairs(m.translate(msg(CMD, { ...base, status: "executing" }))), [
      ["c8y/s/us", "504,77"],
      ["c8y/s/us", "121,false"],
    ]);
    const done = pairs(m.translate(msg(CMD, { ...base, status: "successful" })));
    assert.deepEqual(done.slice(0, 5), [
      ["te/device/main///twin/firmware", JSON.stringify(steps[0]!.payload)],
      ["c8y/s/us", "120,mosquitto.conf,http://x/cfg,mosquitto"],
      ["c8y/s/us", "121,true"],
      ["c8y/s/us", "506,77"],
      [CMD, ""],
    ]);
    assert.match(done[5]![0], /cmd\/software_list\/c8y-mapper-software-list/);
    assert.equal(done.length, 6);
    void NOW;
  });
  it("failed → 505 with the failing step named by the agent, software list refreshed", () => {
    const m = c8yMapper();
    m.translate(msg("te/device/main///cmd/software_list", { types: ["debian"] }, true));
    const reason =
      "Device profile application failed at step 2 (software_update): E: Unable to locate package";
    const out = pairs(m.translate(msg(CMD, { status: "failed", reason, operations: steps })));
    assert.deepEqual(out.slice(0, 2), [
      ["c8y/s/us", `505,77,${reason}`],
      [CMD, ""],
    ]);
    assert.match(out[2]![0], /cmd\/software_list\//);
  });
});
