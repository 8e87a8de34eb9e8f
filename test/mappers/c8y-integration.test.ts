import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createAwsMapperComponent } from "../../src/mappers/aws/component.ts";
import { createAzMapperComponent } from "../../src/mappers/az/component.ts";
import { createC8yMapperComponent } from "../../src/mappers/c8y/component.ts";
import { createMqttMapperComponent } from "../../src/mappers/mqtt/component.ts";
import { type BrokerKind, type Harness, startHarness } from "../helpers/mappers-bus.ts";
import { waitFor } from "../helpers/ports.ts";

const XID = "test-device:device:child1";

for (const kind of ["embedded", "mosquitto"] as BrokerKind[]) {
  describe(`mappers on the ${kind} broker (${kind === "embedded" ? "LocalBus" : "MqttBus"})`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(
        kind,
        [
          createC8yMapperComponent,
          createAzMapperComponent,
          createAwsMapperComponent,
          createMqttMapperComponent,
        ],
        {
          "mqtt.max_payload_bytes": 2048,
          // No api component here: the mappers report te/ faults themselves.
          "run.components": [],
          "az.mapper.timestamp_format": "rfc3339",
          "aws.mapper.timestamp_format": "rfc3339",
        },
      );
    });
    after(() => h.stop());

    it("a child measurement: 101 registration, then the exact c8y measurement", async () => {
      await h.publish(
        "te/device/child1//",
        { "@type": "child-device", type: "RaspberryPi", name: "Child1" },
        { retain: true },
      );
      await h.expect("c8y/s/us", `101,${XID},Child1,RaspberryPi,false`);
      await h.publish("te/device/child1///m/", '{"temp":1,"time":"2021-11-16T17:45:40.571760714+01:00"}');
      await h.expect(
        "c8y/measurement/measurements/create",
        `{"externalSource":{"externalId":"${XID}","type":"c8y_Serial"},"temp":{"temp":{"value":1.0}},"time":"2021-11-16T17:45:40.571760714+01:00","type":"ThinEdgeMeasurement"}`,
      );
      await h.expect("az/messages/events/", '{"temp":1,"time":"2021-11-16T17:45:40.571760714+01:00"}');
      await h.expect("aws/td/device:child1/m/", '{"temp":1,"time":"2021-11-16T17:45:40.571760714+01:00"}');
      await h.expect(
        "ledge/test-device/device/child1///m/",
        '{"temp":1,"time":"2021-11-16T17:45:40.571760714+01:00"}',
      );
    });

    it("events and alarms → SmartREST 400 / 302 / 306", async () => {
      await h.publish("te/device/main///e/", { text: "Someone clicked", time: "2020-02-02T01:02:03+05:30" });
      await h.expect("c8y/s/us", '400,ThinEdgeEvent,"Someone clicked",2020-02-02T01:02:03+05:30');
      await h.publish(
        "te/device/main///a/temperature_alarm",
        { severity: "major", text: "Temperature high", time: "2024-01-01T00:00:00Z" },
        { retain: true },
      );
      await h.expect("c8y/s/us", "302,temperature_alarm,Temperature high,2024-01-01T00:00:00Z");
      await h.publish("te/device/main///a/temperature_alarm", "", { retain: true });
      await h.expect("c8y/s/us", "306,temperature_alarm");
    });

    it("an operation becomes a te/ command; the agent's status comes back as 504/506 and the command is cleared", async () => {
      await h.publish("te/device/main///cmd/software_update", { types: ["debian"] }, { retain: true });
      await h.expect("c8y/s/us", "114,c8y_SoftwareUpdate");
      const cmd = "te/device/main///cmd/software_update/c8y-mapper-123456";
      await h.publish("c8y/devicecontrol/notifications", {
        id: "123456",
        c8y_SoftwareUpdate: [{ name: "nodered", action: "install", version: "1.0.0::debian", url: "" }],
      });
      const init = await h.expect(cmd);
      assert.equal(
        init.payload,
        '{"status":"init","updateList":[{"type":"debian","modules":[{"name":"nodered","version":"1.0.0","action":"install"}]}]}',
      );
      // Play the agent.
      await h.publish(cmd, { ...JSON.parse(init.payload), status: "executing" }, { retain: true });
      await h.expect("c8y/s/us", "504,123456");
      const mark = h.seen.length;
      await h.publish(cmd, { ...JSON.parse(init.payload), status: "successful" }, { retain: true });
      await h.expect("c8y/s/us", "506,123456", mark);
      await h.expect(cmd, "", mark);
    });

    it("a failed child operation → 505 with the reason on the child's topic", async () => {
      await h.publish("te/device/child1///cmd/restart", {}, { retain: true });
      await h.expect(`c8y/s/us/${XID}`, "114,c8y_Restart");
      await h.publish("c8y/devicecontrol/notifications", {
        id: "77",
        externalSource: { externalId: XID },
        c8y_Restart: {},
      });
      const cmd = "te/device/child1///cmd/restart/c8y-mapper-77";
      await h.expect(cmd, '{"status":"init"}');
      await h.publish(cmd, { status: "failed", reason: "not allowed, sorry" }, { retain: true });
      await h.expect(`c8y/s/us/${XID}`, '505,77,"not allowed, sorry"');
    });

    it("software_list capability → a te/ command; the agent's list arrives as 140 on c8y/s/us", async () => {
      const mark = h.seen.length;
      await h.publish("te/device/main///cmd/software_list", { types: ["apt"] }, { retain: true });
      const cmd = await waitFor("the mapper's software_list command", () =>
        h.seen
          .slice(mark)
          .find((s) => s.topic.startsWith("te/device/main///cmd/software_list/c8y-mapper-") && s.payload),
      );
      assert.equal(cmd.payload, '{"status":"init"}');
      // Play the agent.
      await h.publish(cmd.topic, { status: "executing" }, { retain: true });
      await h.publish(
        cmd.topic,
        {
          status: "successful",
          currentSoftwareList: [
            {
              type: "apt",
              modules: [
                { name: "jq", version: "1.6" },
                { name: "curl", version: "7.88.1" },
              ],
            },
          ],
        },
        { retain: true },
      );
      await h.expect("c8y/s/us", "140,jq,1.6,apt,,curl,7.88.1,apt,", mark);
      await h.expect(cmd.topic, "", mark);
    });

    it("c8y_Firmware → firmware_update command; 504, then 506, twin/firmware and from it the inventory fragment", async () => {
      await h.publish("te/device/main///cmd/firmware_update", {}, { retain: true });
      await h.expect("c8y/s/us", "114,c8y_Firmware,c8y_SoftwareUpdate");
      const cmd = "te/device/main///cmd/firmware_update/c8y-mapper-3141";
      await h.publish("c8y/devicecontrol/notifications", {
        id: "3141",
        c8y_Firmware: { name: "ledge", version: "1.2.0", url: "http://fw.example/ledge" },
      });
      const init = await h.expect(cmd);
      assert.equal(
        init.payload,
        '{"status":"init","tedgeUrl":"http://fw.example/ledge","remoteUrl":"http://fw.example/ledge","name":"ledge","version":"1.2.0"}',
      );
      await h.publish(cmd, { ...JSON.parse(init.payload), status: "executing" }, { retain: true });
      await h.expect("c8y/s/us", "504,3141");
      const mark = h.seen.length;
      await h.publish(cmd, { ...JSON.parse(init.payload), status: "successful" }, { retain: true });
      await h.expect("c8y/s/us", "506,3141", mark);
      await h.expect(
        "c8y/inventory/managedObjects/update/test-device",
        '{"c8y_Firmware":{"name":"ledge","version":"1.2.0","url":"http://fw.example/ledge"}}',
        mark,
      );
      await h.expect(cmd, "", mark);
    });

    const bad: [string, string, string, RegExp][] = [
      ["malformed JSON", "te/device/main///m/bad", "{nope", /^te\/device\/main\/\/\/m\/bad: invalid JSON/],
      ["too-deep nesting", "te/device/main///m/deep", '{"a":{"b":{"c":1}}}', /nest at most one level/],
      ["wrong types", "te/device/main///a/x", '{"text":42}', /'text' must be a string/],
      [
        "a huge payload",
        "te/device/main///m/huge",
        JSON.stringify({ a: 1, pad: "z".repeat(100_000) }),
        /exceeds mqtt.max_payload_bytes/,
      ],
      [
        "an entity outside the default scheme",
        "te/plant/line/press/1/m/",
        '{"a":1}',
        /Try explicit registration instead/,
      ],
    ];
    for (const [name, topic, payload, re] of bad) {
      it(`${name} → te/errors, and the mapper keeps working`, async () => {
        const mark = h.seen.length;
        await h.publish(topic, payload);
        await h.expect("te/errors", undefined, mark);
        const errs = h.seen
          .slice(mark)
          .filter((s) => s.topic === "te/errors" && s.payload.startsWith(`${topic}: `));
        assert.ok(errs.length >= 1 && errs.every((e) => re.test(e.payload)), JSON.stringify(errs));
        await h.publish("te/device/main///m/ok", { v: 2.5, time: "2024-01-01T00:00:00Z" });
        await h.expect(
          "c8y/measurement/measurements/create",
          '{"v":{"v":{"value":2.5}},"time":"2024-01-01T00:00:00Z","type":"ok"}',
          mark,
        );
      });
    }
  });
}
