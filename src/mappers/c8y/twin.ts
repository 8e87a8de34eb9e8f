/** `te/<id>/twin/<fragment>` → `c8y/inventory/managedObjects/update/<external id>` `{"<fragment>":value}`. */
import { parseJson } from "../../api/payloads.ts";
import type { Entity } from "../common/entities.ts";
import type { OutMessage, Result } from "../common/types.ts";

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
        topic: `c8y/inventory/managedObjects/update/${entity.externalId}`,
        payload: JSON.stringify({ [fragment]: value }),
        qos: 1,
      },
    ],
  };
}
