import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BatchRecord, toThinEdgeMessages } from "../../src/batch/index.ts";

const T = Date.parse("2026-11-25T09:00:00.000Z");
const rec = (entity: string, type: string, series: string, value: number, tsMs = T): BatchRecord => ({
  entity,
  type,
  series,
  value,
  tsMs,
});
const lines = (records: BatchRecord[], root?: string) =>
  toThinEdgeMessages(records, root).map((m) => `${m.topic} ${m.payload}`);

describe("records → Thin Edge JSON messages", () => {
  const cases: [string, BatchRecord[], string[]][] = [
    [
      "readings of one entity, type and time make one message, in order",
      [rec("device/main//", "env", "temperature", 21.5), rec("device/main//", "env", "humidity", 40)],
      ['te/device/main///m/env {"temperature":21.5,"humidity":40,"time":"2026-11-25T09:00:00.000Z"}'],
    ],
    [
      "group.name series become a group",
      [
        rec("device/c1//", "", "location.latitude", 32.54),
        rec("device/c1//", "", "location.longitude", -117.67),
      ],
      [
        'te/device/c1///m/ {"location":{"latitude":32.54,"longitude":-117.67},"time":"2026-11-25T09:00:00.000Z"}',
      ],
    ],
    [
      "another time, type or entity is another message; records interleave",
      [
        rec("device/main//", "env", "t", 1),
        rec("device/main//", "env", "t", 2, T + 1000),
        rec("device/main//", "env", "u", 3),
        rec("device/main//", "other", "t", 4),
        rec("device/c1//", "env", "t", 5),
      ],
      [
        'te/device/main///m/env {"t":1,"u":3,"time":"2026-11-25T09:00:00.000Z"}',
        'te/device/main///m/env {"t":2,"time":"2026-11-25T09:00:01.000Z"}',
        'te/device/main///m/other {"t":4,"time":"2026-11-25T09:00:00.000Z"}',
        'te/device/c1///m/env {"t":5,"time":"2026-11-25T09:00:00.000Z"}',
      ],
    ],
    [
      "a series repeated at the same time starts a new message (no overwrite), which later readings join",
      [rec("device/main//", "", "t", 1), rec("device/main//", "", "t", 2), rec("device/main//", "", "u", 3)],
      [
        'te/device/main///m/ {"t":1,"time":"2026-11-25T09:00:00.000Z"}',
        'te/device/main///m/ {"t":2,"u":3,"time":"2026-11-25T09:00:00.000Z"}',
      ],
    ],
    [
      "a number and a group of the same name do not merge",
      [rec("device/main//", "", "a", 1), rec("device/main//", "", "a.b", 2)],
      [
        'te/device/main///m/ {"a":1,"time":"2026-11-25T09:00:00.000Z"}',
        'te/device/main///m/ {"a":{"b":2},"time":"2026-11-25T09:00:00.000Z"}',
      ],
    ],
    [
      "NaN and ±Infinity are strings, -0 is 0, a leading or trailing dot is no group",
      [
        rec("device/main//", "", "n", Number.NaN),
        rec("device/main//", "", "i", Number.NEGATIVE_INFINITY),
        rec("device/main//", "", "z", -0),
        rec("device/main//", "", ".x", 1),
        rec("device/main//", "", "y.", 2),
      ],
      [
        'te/device/main///m/ {"n":"NaN","i":"-Infinity","z":0,".x":1,"y.":2,"time":"2026-11-25T09:00:00.000Z"}',
      ],
    ],
  ];
  for (const [name, records, expected] of cases) it(name, () => assert.deepEqual(lines(records), expected));

  it("the topic root is configurable", () => {
    assert.deepEqual(lines([rec("device/main//", "env", "t", 1)], "tedge"), [
      'tedge/device/main///m/env {"t":1,"time":"2026-11-25T09:00:00.000Z"}',
    ]);
  });
});
