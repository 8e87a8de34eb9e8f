import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTenant, tenantBase } from "../../src/mappers/c8y/http/client.ts";
import { jwtExpiry, parseJwtRecord } from "../../src/mappers/c8y/http/jwt.ts";
import { tenantPath } from "../../src/mappers/c8y/http/proxy.ts";
import { isTenantUrl, proxyUrl } from "../../src/mappers/c8y/http/proxy-url.ts";
import { multipartFrame, partContentType } from "../../src/mappers/c8y/http/upload.ts";
import { parseMultipart } from "../helpers/c8y-standin.ts";

const PROXY = {
  base: "http://127.0.0.1:8001",
  tenantHosts: ["t1.cumulocity.com", "mqtt.t1.cumulocity.com:8883"],
};

describe("tenant URLs → the local proxy (thin-edge's proxy_url.rs)", () => {
  const rows: [string, string, string | undefined][] = [
    [
      "the tenant's host",
      "https://t1.cumulocity.com/inventory/binaries/88395",
      "http://127.0.0.1:8001/c8y/inventory/binaries/88395",
    ],
    ["another host of the same domain", "https://t2.cumulocity.com/x", "http://127.0.0.1:8001/c8y/x"],
    [
      "ports are ignored; the query is kept",
      "http://t1.cumulocity.com:443/a?b=1",
      "http://127.0.0.1:8001/c8y/a?b=1",
    ],
    ["another domain is left alone", "https://example.com/fw.bin", undefined],
    ["not http(s) is left alone", "ftp://t1.cumulocity.com/x", undefined],
    ["not a URL is left alone", "/local/path", undefined],
  ];
  for (const [name, url, want] of rows) it(name, () => assert.equal(proxyUrl(url, PROXY), want));
  it("no proxy (no HTTP side): nothing is rewritten", () =>
    assert.equal(proxyUrl("https://t1.cumulocity.com/x", undefined), undefined));
  it("isTenantUrl agrees", () => assert.equal(isTenantUrl("https://t9.cumulocity.com/", PROXY), true));
});

describe("proxy paths (thin-edge's c8y_auth_proxy)", () => {
  const rows: [string, string, number | string][] = [
    ["a REST path", "/c8y/inventory/managedObjects?pageSize=1", "/inventory/managedObjects?pageSize=1"],
    ["outside /c8y/ → 404", "/inventory/managedObjects", 404],
    ["a .js file → 403 (would revoke the device token)", "/c8y/apps/app.js", 403],
    ["the UI under apps/ → 403", "/c8y/apps/cockpit/", 403],
    ["a .js path with a query → 403", "/c8y/x.js?v=1", 403],
  ];
  for (const [name, url, want] of rows)
    it(name, () => {
      const t = tenantPath(url);
      assert.deepEqual("error" in t ? t.status : t.path, want);
    });
});

describe("JWT over MQTT", () => {
  it("71,<token> carries the token; other records do not", () => {
    assert.equal(parseJwtRecord("71,abc.def.ghi\n"), "abc.def.ghi");
    assert.equal(parseJwtRecord("70,x"), undefined);
    assert.equal(parseJwtRecord("71,"), undefined);
  });
  it("the exp claim in ms; none for a token without one", () => {
    const tok = (claims: object) => `x.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.y`;
    assert.equal(jwtExpiry(tok({ exp: 1700000000 })), 1700000000000);
    assert.equal(jwtExpiry(tok({ sub: "d" })), undefined);
    assert.equal(jwtExpiry("not-a-jwt"), undefined);
  });
});

describe("tenant endpoints", () => {
  const rows: [string, string, number, string][] = [
    ["t1.cumulocity.com", "t1.cumulocity.com", 443, "https://t1.cumulocity.com"],
    ["https://t1.cumulocity.com/", "t1.cumulocity.com", 443, "https://t1.cumulocity.com"],
    ["127.0.0.1:8443", "127.0.0.1", 8443, "https://127.0.0.1:8443"],
    ["[::1]:8443", "::1", 8443, "https://[::1]:8443"],
  ];
  for (const [text, host, port, base] of rows)
    it(text, () => {
      const e = parseTenant(text);
      assert.deepEqual(e, { host, port });
      assert.equal(tenantBase(e), base);
    });
});

describe("the binary part of an upload", () => {
  it("logs are text/plain; a config's type comes from its extension, else application/octet-stream", () => {
    assert.equal(partContentType("log_upload", "syslog-c8y-mapper-1"), "text/plain");
    assert.equal(partContentType("config_snapshot", "app.json-c8y-mapper-1"), "application/json");
    assert.equal(partContentType("config_snapshot", "tedge.toml-c8y-mapper-1"), "application/toml");
    assert.equal(partContentType("config_snapshot", "mosquitto-c8y-mapper-1"), "application/octet-stream");
  });
  it("the multipart frame is RFC 7578 form-data with one part named file", () => {
    const { head, tail } = multipartFrame("B0UND", 'dev_a"b.log', "text/plain");
    const parsed = parseMultipart(Buffer.concat([head, Buffer.from("line\r\n"), tail]), "B0UND");
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.value.map((p) => [p.name, p.fileName, p.contentType, p.content.toString()]),
      [["file", "dev_a_b.log", "text/plain", "line\r\n"]],
    );
  });
});
