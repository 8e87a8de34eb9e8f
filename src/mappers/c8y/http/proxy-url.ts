/**
 * thin-edge's rewrite of tenant-hosted URLs to the local Cumulocity proxy (`c8y_api/src/proxy_url.rs`):
 * a consumer (the agent, a plugin) downloads from the proxy without credentials and the proxy adds
 * them. A URL is the tenant's when its domain after the first label matches the HTTP or MQTT host
 * of the tenant (ports ignored, http/https only); anything else is left as it is.
 */
import { PROXY_PATH_PREFIX } from "../../../api/clouds/c8y.ts";

export interface ProxyUrls {
  /** `http://127.0.0.1:8001`: the proxy as local clients reach it. */
  base: string;
  /** `c8y.http` and `c8y.url` hosts (with or without port). */
  tenantHosts: string[];
}

const domain = (host: string) => {
  const h = host.replace(/:\d+$/, "").toLowerCase();
  const dot = h.indexOf(".");
  return dot < 0 ? h : h.slice(dot + 1);
};

export function isTenantUrl(url: string, proxy: ProxyUrls): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return false;
  const d = domain(u.hostname);
  return proxy.tenantHosts.some((h) => h && domain(h) === d);
}

/** The proxy URL for a tenant URL, or undefined when `url` is not the tenant's. */
export function proxyUrl(url: string, proxy: ProxyUrls | undefined): string | undefined {
  if (!proxy || !isTenantUrl(url, proxy)) return undefined;
  const u = new URL(url);
  return `${proxy.base}${PROXY_PATH_PREFIX}${u.pathname}${u.search}`;
}
