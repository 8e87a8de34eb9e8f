/**
 * Which credentials the HTTP side uses, as thin-edge decides (`c8y.auth_method`): `certificate`
 * (a JWT got over MQTT), `basic` (username and password from `c8y.credentials_path`, a TOML file
 * with `[c8y] username = "<tenant>/<user>"`, `password = "..."`), or `auto` (basic when that file
 * exists).
 */
import { existsSync, readFileSync } from "node:fs";
import { parse } from "smol-toml";
import type { Config } from "../../../config/store.ts";
import { isObj } from "../../../foundation/json.ts";
import type { Credentials } from "./client.ts";

export interface BasicCredentials {
  username: string;
  password: string;
}

/** The `[c8y]` username and password of a credentials file; a clear error for anything else. */
export function readBasicCredentials(path: string): BasicCredentials {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(
      `cannot read the Cumulocity credentials ${path} (c8y.credentials_path): ${(e as Error).message}`,
    );
  }
  const c8y = isObj(doc) ? doc.c8y : undefined;
  if (!isObj(c8y) || typeof c8y.username !== "string" || !c8y.username || typeof c8y.password !== "string")
    throw new Error(
      `${path} (c8y.credentials_path) needs [c8y] username = "<tenant>/<user>" and password = "..."`,
    );
  return { username: c8y.username, password: c8y.password };
}

export function basicAuth(c: BasicCredentials): Credentials {
  const header = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
  return { authorization: async () => header, invalidate: () => {} };
}

/** Basic credentials when the configuration asks for them; undefined: JWT over MQTT. */
export function basicFromConfig(config: Config): BasicCredentials | undefined {
  const method = config.get("c8y.auth_method");
  const path = config.path("c8y.credentials_path");
  if (method === "certificate" || (method === "auto" && !existsSync(path))) return undefined;
  return readBasicCredentials(path);
}
