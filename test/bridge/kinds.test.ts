import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Batcher } from "../../src/batch/index.ts";
import { isMeasurement } from "../../src/bridge/kinds.ts";

const frame = (() => {
  const b = new Batcher({ maxBytes: 4096, maxCount: 10, maxAgeMs: 1000 });
  b.append("device/main//", "env", "temp", 21.5, Date.UTC(2024, 0, 1), 0);
  return Buffer.from(b.flush()!);
})();

/** Which queued cloud messages a full queue drops first (issue 11, point 3: events, alarms and operation results are kept). */
const rows: [string, string, string | Uint8Array, boolean][] = [
  [
    "Cumulocity JSON measurement",
    "measurement/measurements/create",
    '{"type":"T","temp":{"t":{"value":1}}}',
    true,
  ],
  [
    "Cumulocity JSON measurement of a child (externalSource)",
    "measurement/measurements/create",
    '{"externalSource":{}}',
    true,
  ],
  ["Cumulocity event", "event/events/create", '{"type":"e","text":"x"}', false],
  ["Cumulocity alarm", "alarm/alarms/create", '{"type":"a","severity":"MAJOR"}', false],
  ["SmartREST 200 custom measurement", "s/us", "200,temp,T,21.5,C", true],
  [
    "SmartREST 201, 210, 211, 212 measurement templates",
    "s/us/child1",
    "201,S,2024-01-01T00:00:00Z\n211,21\n",
    true,
  ],
  ["SmartREST 400 event", "s/us", "400,e,text", false],
  ["SmartREST 301 alarm", "s/us", "301,a,text", false],
  ["SmartREST 506 operation successful", "s/us", "506,1234", false],
  ["SmartREST 504/505 operation executing/failed", "s/us", "504,12\n505,12,reason", false],
  ["a measurement line and a status line together are kept", "s/us", "200,t,T,1\n506,12", false],
  ["Thin Edge JSON measurement on te/", "te/device/main///m/env", '{"temp":21.5}', true],
  ["Thin Edge JSON measurement on aws td/", "td/device/main///m/", '{"temp":1}', true],
  ["Thin Edge JSON event", "fault/x/e/door", '{"text":"open"}', false],
  ["Thin Edge JSON alarm", "te/device/main///a/high", '{"severity":"major"}', false],
  ["command status", "te/device/main///cmd/restart/c8y-1", '{"status":"successful"}', false],
  ["a non-JSON payload on an /m/ topic", "fault/m", "1,xxx", false],
  [
    "Azure's shared event topic (measurement or event: cannot tell)",
    "devices/d/messages/events/",
    '{"temp":1}',
    false,
  ],
  ["CBOR batch frame from the batch encoder", "ledge/d/batch", frame, true],
  ["another CBOR array on the batch topic", "ledge/d/batch", new Uint8Array([0x8a, 0x02]), false],
  ["inventory update", "inventory/managedObjects/update/d", '{"c8y_Firmware":{}}', false],
];

describe("queued message kinds: measurements go first when the queue is full", () => {
  for (const [name, topic, payload, want] of rows)
    it(`${name} → ${want ? "measurement" : "kept"}`, () => {
      const p = typeof payload === "string" ? Buffer.from(payload) : payload;
      assert.equal(isMeasurement({ topic, payload: p, qos: 1, retain: false }), want);
    });
});
