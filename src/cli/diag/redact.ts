import { formatValue } from "../../config/parse-value.ts";
import { type ConfigKey, keyDef, schema } from "../../config/schema.ts";
import type { Config } from "../../config/store.ts";

export const REDACTED = "<redacted>";

/** Every key's effective value and where it came from, with credentials (`secret` keys) redacted. */
export function effectiveConfig(config: Config): string {
  return (Object.keys(schema) as ConfigKey[])
    .map((key) => {
      const value = config.get(key);
      const shown = keyDef(key).secret && value !== "" ? REDACTED : formatValue(value);
      return `${key}=${shown}  (${config.source(key)})\n`;
    })
    .join("");
}

/**
 * Whether a file of the config dir may go into a support archive as it is: not ledge.toml (its
 * redacted view goes instead), nothing that looks like a credential by name or holds a private key.
 */
export function shareable(name: string, content: Buffer): boolean {
  if (name === "ledge.toml" || /\.tmp-\d+$/.test(name)) return false;
  if (/key|secret|passw|token|shadow|credential/i.test(name)) return false;
  return !content.includes("PRIVATE KEY");
}
