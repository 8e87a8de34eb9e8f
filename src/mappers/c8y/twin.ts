/**
 * `te/<id>/twin/<fragment>` → `c8y/inventory/managedObjects/update/<external id>` `{"<fragment>":value}`.
 * thin-edge renames two fragments: `firmware` → `c8y_Firmware`, `agent` → `c8y_Agent`.
 */
import { inventoryUpdateTopic } from "../../api/clouds/c8y.ts";
import { parseJson } from "../../api/payloads.ts";
import type { Entity } from "../common/entities.ts";
import type { OutMessage, Result } from "../common/types.ts";

const RENAMED: Readonly<Record<string, string>> = { firmware: "c8y_Firmware", agent: "c8y_Agent" };

export function twinToC8y(payload: Buffer, entity: Entity, fragment: string): Result<OutMessage[]> {
  if (!fragment) return { ok: false, error: "a twin topic needs a fragment name (te/<id>/twin/<fragment>)" };
  let value: unknown = null; // empty payload clears the fragment
  if (payload.length > 0) {
    const j = parseJson(payload);
    if (!j.ok) return j;
    value = j.value;
  }
  return {
    ok: true,
    value: [
      {
        topic: inventoryUpdateTopic(entity.externalId),
        payload: JSON.stringify({ [RENAMED[fragment] ?? fragment]: value }),
        qos: 1,
      },
    ],
  };
}
