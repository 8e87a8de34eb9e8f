/**
 * Who may use the console. On loopback no login is needed (whoever reaches 127.0.0.1 already runs
 * code on the gateway); bound beyond loopback, `console.token` is required, given once on the login
 * page and kept in an HttpOnly, SameSite=Strict cookie (or sent as `Authorization: Bearer`). Every
 * write also needs the page's CSRF value in `X-Ledge-CSRF` (a cross-site form cannot set a header)
 * and, when the browser sends one, an `Origin` naming this host.
 */

import { lazy } from "../../foundation/builtin.ts";
import { isIP } from "../../foundation/ip.ts";

export const COOKIE = "ledge_console";
export const CSRF_HEADER = "x-ledge-csrf";

export interface AuthPolicy {
  /** Empty: no login (loopback only). */
  token: string;
  /** Per process: embedded in the page, required on writes. */
  csrf: string;
}

export function isLoopback(address: string): boolean {
  if (address === "localhost" || address === "::1") return true;
  return isIP(address) === 4 && address.startsWith("127.");
}

/** The policy for a bind address, or the reason the console must not start. */
export function authPolicy(bind: string, token: string): AuthPolicy | string {
  if (!isLoopback(bind) && token.length < 16)
    return `console.token must be set (16 characters at least) when http.bind.address (${bind}) is not loopback`;
  return { token, csrf: lazy.crypto().randomBytes(18).toString("base64url") };
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && lazy.crypto().timingSafeEqual(x, y);
};

export function cookieToken(cookie: string | undefined): string | undefined {
  for (const part of (cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === COOKIE) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

export interface RequestFacts {
  method: string;
  cookie?: string;
  authorization?: string;
  csrf?: string;
  origin?: string;
  host?: string;
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined; // "null" (sandboxed frames, file:) is never this host
  }
}

/** undefined when allowed; else the HTTP status and reason. */
export function refusal(p: AuthPolicy, r: RequestFacts): { status: 401 | 403; error: string } | undefined {
  if (p.token) {
    const given = cookieToken(r.cookie) ?? r.authorization?.replace(/^Bearer /, "");
    if (!given || !same(given, p.token)) return { status: 401, error: "login required" };
  }
  if (r.method === "GET" || r.method === "HEAD") return undefined;
  if (!r.csrf || !same(r.csrf, p.csrf)) return { status: 403, error: "missing or wrong X-Ledge-CSRF header" };
  if (r.origin && r.host && originHost(r.origin) !== r.host)
    return { status: 403, error: `cross-origin write from ${r.origin} refused` };
  return undefined;
}
