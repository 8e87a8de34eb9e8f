import { lazy } from "../../foundation/builtin.ts";
import type { Connect } from "../mqtt/packets.ts";
import { Reason } from "../mqtt/reason-codes.ts";
import { matches } from "../topic-filter.ts";
import type { Link, Policy } from "./link.ts";

/**
 * mosquitto's password file format, so `mosquitto_passwd` can write it: `user:$7$<iterations>$<salt>$<hash>`
 * (PBKDF2-HMAC-SHA512, 64 bytes) or `user:$6$<salt>$<hash>` (SHA-512 of password and salt), base64.
 */
export function parsePasswords(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const i = line.indexOf(":");
    if (i > 0) users.set(line.slice(0, i), line.slice(i + 1));
  }
  return users;
}

export function checkPassword(stored: string, password: Uint8Array): boolean {
  const parts = stored.split("$");
  let want: Buffer;
  let got: Buffer;
  if (parts[1] === "7" && parts.length === 5) {
    want = Buffer.from(parts[4] as string, "base64");
    got = lazy
      .crypto()
      .pbkdf2Sync(
        password,
        Buffer.from(parts[3] as string, "base64"),
        Number(parts[2]),
        want.length || 64,
        "sha512",
      );
  } else if (parts[1] === "6" && parts.length === 4) {
    want = Buffer.from(parts[3] as string, "base64");
    got = lazy
      .crypto()
      .createHash("sha512")
      .update(password)
      .update(Buffer.from(parts[2] as string, "base64"))
      .digest();
  } else return false;
  return want.length === got.length && want.length > 0 && lazy.crypto().timingSafeEqual(want, got);
}

interface Rule {
  /** undefined: every user (a `pattern` line, or a `topic` line before any `user` line). */
  user?: string;
  read: boolean;
  write: boolean;
  filter: string;
  pattern: boolean;
}

/**
 * A mosquitto-style ACL: `user <name>` starts a user's section; `topic [read|write|readwrite] <filter>`
 * grants that user (everyone, before any `user` line); `pattern [access] <filter>` grants every
 * user with `%u` replaced by the user name. Nothing granted = denied.
 */
export function parseAcl(text: string): Rule[] {
  const rules: Rule[] = [];
  let user: string | undefined;
  for (const [n, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const [word, ...rest] = line.split(/\s+/);
    if (word === "user") {
      user = rest.join(" ");
      continue;
    }
    if (word !== "topic" && word !== "pattern") throw new Error(`ACL line ${n + 1}: unknown '${word}'`);
    let access = "readwrite";
    if (rest[0] === "read" || rest[0] === "write" || rest[0] === "readwrite") access = rest.shift() as string;
    const filter = rest.join(" ");
    if (!filter) throw new Error(`ACL line ${n + 1}: no topic`);
    rules.push({
      ...(word === "topic" && user !== undefined && { user }),
      read: access === "read" || access === "readwrite",
      write: access === "write" || access === "readwrite",
      filter,
      pattern: word === "pattern",
    });
  }
  return rules;
}

export interface LanAuth {
  passwords?: Map<string, string>;
  acl?: Rule[];
  /** A client certificate (verified by TLS against the CA) may stand in for a password. */
  certificates: boolean;
}

/**
 * The LAN listener's policy: a verified client certificate (user = its CN) or a user name and
 * password from the password file; with neither configured, anonymous clients. Then the ACL.
 */
export function lanPolicy(auth: LanAuth): Policy {
  const allowed = (user: string | undefined, what: "read" | "write", topic: string, sub: boolean) => {
    if (!auth.acl) return true;
    return auth.acl.some((r) => {
      if (!r[what] || (r.user !== undefined && r.user !== user)) return false;
      const f = r.pattern ? r.filter.replaceAll("%u", user ?? "") : r.filter;
      return sub ? f === topic || matches(f, topic) : matches(f, topic);
    });
  };
  return {
    authenticate(c: Connect, link: Link) {
      const cn = link.peerCertificate?.subject.CN;
      if (auth.certificates && cn) return { reason: 0, user: cn };
      if (auth.passwords) {
        const stored = c.username === undefined ? undefined : auth.passwords.get(c.username);
        if (stored === undefined || !c.password || !checkPassword(stored, c.password))
          return { reason: Reason.BadUserNameOrPassword };
        return { reason: 0, user: c.username };
      }
      if (auth.certificates) return { reason: Reason.NotAuthorized };
      return { reason: 0 };
    },
    canPublish: (user, topic) => allowed(user, "write", topic, false),
    canSubscribe: (user, filter) => allowed(user, "read", filter, true),
  };
}
