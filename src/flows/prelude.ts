/**
 * Code evaluated in every QuickJS context before a step's module: the globals thin-edge's step
 * runtime offers (`console.log`, `TextEncoder`/`TextDecoder` for UTF-8, `crypto.randomUUID`,
 * `crypto.getRandomValues`), the `context` key-value stores backed by the host, and `__ledge`, the
 * glue that builds the message and checks what the step returns (TEDGE-FACTS §10.3).
 */
export const PRELUDE = `
(() => {
  const log = (level) => (...a) => __host_log(level, a.map((x) => typeof x === "string" ? x : (() => { try { return JSON.stringify(x); } catch { return String(x); } })()).join(" "));
  globalThis.console = { log: log("info"), info: log("info"), warn: log("warn"), error: log("error"), debug: log("debug") };
  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(s = "") {
      s = String(s); const out = [];
      for (let i = 0; i < s.length; i++) {
        let c = s.charCodeAt(i);
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
        }
        if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
        if (c < 0x80) out.push(c);
        else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      }
      return new Uint8Array(out);
    }
  }
  class TextDecoder {
    constructor(label = "utf-8") { if (!/^utf-?8$/i.test(label)) throw new RangeError("only utf-8 is supported"); }
    get encoding() { return "utf-8"; }
    decode(b) {
      if (b === undefined) return "";
      const u = b instanceof Uint8Array ? b : ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
      let s = "", i = 0;
      while (i < u.length) {
        const a = u[i++];
        let c = 0xfffd, need = 0;
        if (a < 0x80) c = a;
        else if (a >= 0xc2 && a < 0xe0) { need = 1; c = a & 31; }
        else if (a >= 0xe0 && a < 0xf0) { need = 2; c = a & 15; }
        else if (a >= 0xf0 && a < 0xf5) { need = 3; c = a & 7; }
        let ok = true;
        for (let k = 0; k < need; k++) {
          const n = u[i];
          if (n === undefined || (n & 0xc0) !== 0x80) { ok = false; break; }
          c = (c << 6) | (n & 63); i++;
        }
        if (!ok || c > 0x10ffff || (need === 2 && c < 0x800) || (need === 3 && c < 0x10000)) c = 0xfffd;
        s += String.fromCodePoint(c);
      }
      return s;
    }
  }
  globalThis.TextEncoder = TextEncoder;
  globalThis.TextDecoder = TextDecoder;
  globalThis.crypto = {
    randomUUID: () => __host_uuid(),
    getRandomValues(a) {
      if (!(a instanceof Int8Array || a instanceof Uint8Array || a instanceof Int16Array || a instanceof Uint16Array || a instanceof Int32Array || a instanceof Uint32Array))
        throw new TypeError("getRandomValues takes an integer typed array");
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(new Uint8Array(__host_random(a.byteLength)));
      return a;
    },
  };
  const kv = (scope) => ({
    keys: () => JSON.parse(__host_kv(scope, "keys")),
    get: (k) => { const s = __host_kv(scope, "get", String(k)); return s === undefined ? null : JSON.parse(s); },
    set: (k, v) => { __host_kv(scope, "set", String(k), v === null || v === undefined ? undefined : JSON.stringify(v)); },
    remove: (k) => { __host_kv(scope, "remove", String(k)); },
  });
  const norm = (r) => {
    if (r === null || r === undefined) return "[]";
    const list = Array.isArray(r) ? r : [r];
    const meta = [];
    __ledge.bins = [];
    for (const m of list) {
      if (m === null || typeof m !== "object" || Array.isArray(m))
        throw new TypeError("a step must return null, a message or an array of messages; got " + (m === null ? "null" : typeof m) + " in the result");
      if (typeof m.topic !== "string") throw new TypeError("a message needs a string topic");
      const o = { t: m.topic };
      const p = m.payload;
      if (typeof p === "string") o.s = p;
      else if (p instanceof Uint8Array || p instanceof ArrayBuffer) { o.b = __ledge.bins.length; __ledge.bins.push(p instanceof ArrayBuffer ? p.slice(0) : p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength)); }
      else throw new TypeError("payload of a message to '" + m.topic + "' must be a string or a Uint8Array");
      if (m.mqtt !== undefined && m.mqtt !== null) {
        if (typeof m.mqtt !== "object") throw new TypeError("mqtt must be an object");
        if (m.mqtt.qos !== undefined) o.q = m.mqtt.qos;
        if (m.mqtt.retain !== undefined) o.r = m.mqtt.retain;
      }
      meta.push(o);
    }
    return JSON.stringify(meta);
  };
  globalThis.__ledge = {
    ctx: undefined,
    bins: [],
    settled: undefined,
    init(config) { this.ctx = { config: JSON.parse(config), mapper: kv("mapper"), flow: kv("flow"), script: kv("script") }; },
    call(fn, kind, topic, payload, timeMs, qos, retain) {
      const arg = kind === "message"
        ? { topic, payload: new Uint8Array(payload), time: new Date(timeMs), mqtt: { qos, retain } }
        : new Date(timeMs);
      const r = fn(arg, this.ctx);
      if (r !== null && typeof r === "object" && typeof r.then === "function") {
        this.settled = undefined;
        r.then((v) => { this.settled = { v }; }, (e) => { this.settled = { e }; });
        return "P";
      }
      return norm(r);
    },
    settle() {
      const s = this.settled;
      this.settled = undefined;
      if (!s) throw new Error("the step returned a promise that did not settle");
      if ("e" in s) throw s.e;
      return norm(s.v);
    },
  };
})();
`;
