import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Properties, QoS } from "../mqtt/packets.ts";
import type { Delivery, Message } from "./message.ts";
import { Session, type Subscription } from "./session.ts";
import type { BrokerStore } from "./store.ts";

export type FsyncPolicy = "always" | "interval" | "never";

export interface JournalOptions {
  dir: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  onError?: (e: unknown) => void;
}

enum Kind {
  Retain = 1,
  Session = 2,
  End = 3,
  Enqueue = 4,
  Done = 5,
}

/** Header of a record: JSON, binary property values as base64. */
interface Head {
  t?: string;
  q?: QoS;
  r?: boolean;
  e?: number;
  p?: Properties;
  c?: string;
  s?: number;
  dq?: QoS;
  i?: number[];
  x?: number;
  subs?: Subscription[];
}

const FILE = "journal";

/**
 * The broker's persistence: an append-only journal of changes (retained set/cleared, session
 * created/changed/ended, QoS 1/2 delivery owned/done) under `dir`. Each change is written to the OS
 * before the core acknowledges anything (so a kill -9 loses nothing) and reaches the disk per the
 * fsync policy, like the bridge queue. Replayed at start, then rewritten compacted; rewritten again
 * whenever it grows past twice its compacted size.
 *
 * Record: u32 length (of what follows), u8 kind, u16 header length, JSON header, payload.
 */
export class Journal implements BrokerStore {
  private fd = -1;
  private size = 0;
  private compactedSize = 0;
  private seq = 0;
  private dirty = false;
  /** Bumped when the journal file is replaced or closed: a sync still running on the old one is moot. */
  private generation = 0;
  private syncing = false;
  private timer?: ReturnType<typeof setInterval>;
  private snapshot?: () => { retained: Iterable<Message>; sessions: Iterable<Session> };

  constructor(private readonly opts: JournalOptions) {}

  /** Reads the journal; returns the state to restore. Then call `start` with a way to snapshot it. */
  load(now: number): { retained: Message[]; sessions: Session[] } {
    mkdirSync(this.opts.dir, { recursive: true });
    const path = join(this.opts.dir, FILE);
    const retained = new Map<string, Message>();
    const sessions = new Map<string, Session>();
    const owned = new Map<number, { c: string; d: Delivery }>();
    if (existsSync(path)) {
      const buf = readFileSync(path);
      let off = 0;
      // a record cut by a crash ends the replay: everything before it is whole
      while (off + 4 <= buf.length) {
        const len = buf.readUInt32BE(off);
        if (len < 3 || off + 4 + len > buf.length) break;
        const kind = buf[off + 4] as Kind;
        const hlen = buf.readUInt16BE(off + 5);
        if (3 + hlen > len) break;
        let h: Head;
        try {
          h = JSON.parse(buf.toString("utf8", off + 7, off + 7 + hlen), revive) as Head;
        } catch {
          break;
        }
        const payload = new Uint8Array(buf.subarray(off + 7 + hlen, off + 4 + len));
        off += 4 + len;
        if (h.s !== undefined && h.s > this.seq) this.seq = h.s;
        switch (kind) {
          case Kind.Retain:
            if (payload.length === 0) retained.delete(h.t as string);
            else retained.set(h.t as string, message(h, payload));
            break;
          case Kind.Session: {
            const s = sessions.get(h.c as string) ?? new Session(h.c as string);
            s.subs.clear();
            for (const sub of h.subs ?? []) s.subs.set(sub.filter, sub);
            s.expiry = h.x ?? 0;
            s.persistent = s.expiry > 0;
            sessions.set(s.clientId, s);
            break;
          }
          case Kind.End:
            sessions.delete(h.c as string);
            for (const [k, v] of owned) if (v.c === h.c) owned.delete(k);
            break;
          case Kind.Enqueue: {
            const d: Delivery = {
              msg: message(h, payload),
              qos: h.dq ?? 1,
              retain: h.r ?? false,
              seq: h.s as number,
            };
            if (h.i) d.subscriptionIds = h.i;
            owned.set(h.s as number, { c: h.c as string, d });
            break;
          }
          case Kind.Done:
            owned.delete(h.s as number);
            break;
        }
      }
    }
    for (const { c, d } of [...owned.values()].sort((a, b) => (a.d.seq as number) - (b.d.seq as number))) {
      const s = sessions.get(c);
      if (s) s.enqueue(d);
    }
    for (const s of sessions.values()) if (s.expiry !== 0xffffffff) s.expiresAt = now + s.expiry * 1000;
    return {
      retained: [...retained.values()].filter((m) => m.expiresAt === undefined || m.expiresAt > now),
      sessions: [...sessions.values()],
    };
  }

  /** Rewrites the journal from the live state and keeps appending to it. */
  start(snapshot: () => { retained: Iterable<Message>; sessions: Iterable<Session> }): void {
    this.snapshot = snapshot;
    const path = join(this.opts.dir, FILE);
    // Nothing to compact on a first start: no rewrite, no fsync in the way of start-up.
    if (existsSync(path) && statSync(path).size > 0) this.compact();
    else this.fd = openSync(path, "a");
    if (this.opts.fsync === "interval") {
      this.timer = setInterval(() => this.flush(), this.opts.fsyncIntervalMs);
      this.timer.unref?.();
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.generation++;
    if (this.fd >= 0) {
      if (this.opts.fsync !== "never") fdatasyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  retain(msg: Message): void {
    this.append(Kind.Retain, head(msg), msg.payload);
  }

  session(s: Session): void {
    this.append(Kind.Session, { c: s.clientId, x: s.expiry, subs: [...s.subs.values()] });
  }

  endSession(clientId: string): void {
    this.append(Kind.End, { c: clientId });
  }

  enqueue(s: Session, d: Delivery): void {
    d.seq = ++this.seq;
    this.append(Kind.Enqueue, delivery(s.clientId, d), d.msg.payload);
  }

  done(_s: Session, d: Delivery): void {
    if (d.seq === undefined) return;
    this.append(Kind.Done, { s: d.seq });
    d.seq = undefined;
  }

  /**
   * Off the event loop (libuv's thread pool): an fdatasync can take 100 ms on a busy disk, which
   * would stall every client (health checks included), and nothing waits on this one: what it
   * covers is already written to the OS. Writes made meanwhile are covered by the next interval.
   */
  private flush(): void {
    if (!this.dirty || this.fd < 0 || this.syncing) return;
    this.dirty = false;
    this.syncing = true;
    const generation = this.generation;
    fdatasync(this.fd, (e) => {
      this.syncing = false;
      if (e && generation === this.generation) this.opts.onError?.(e);
    });
  }

  private append(kind: Kind, h: Head, payload?: Uint8Array): void {
    if (this.fd < 0) return;
    try {
      // Compacting first: the snapshot may or may not hold this change yet, and replaying a
      // change twice is harmless (records are idempotent), while one written to the old file
      // just before it is replaced would be lost.
      if (this.size > Math.max(1 << 20, this.compactedSize * 2)) this.compact();
      this.size += writeRecord(this.fd, kind, h, payload);
      if (this.opts.fsync === "always") fdatasyncSync(this.fd);
      else this.dirty = true;
    } catch (e) {
      this.opts.onError?.(e);
    }
  }

  /** Writes the live state to a new file and renames it over the journal (atomic). */
  private compact(): void {
    if (!this.snapshot) return;
    const path = join(this.opts.dir, FILE);
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, "w");
    let size = 0;
    const { retained, sessions } = this.snapshot();
    for (const m of retained) size += writeRecord(fd, Kind.Retain, head(m), m.payload);
    for (const s of sessions) {
      if (!s.persistent) continue;
      size += writeRecord(fd, Kind.Session, { c: s.clientId, x: s.expiry, subs: [...s.subs.values()] });
      const owned = [...[...s.inflight.values()].map((f) => f.d), ...s.queue].filter((d) => d.qos > 0);
      for (const d of owned) {
        d.seq ??= ++this.seq;
        size += writeRecord(fd, Kind.Enqueue, delivery(s.clientId, d), d.msg.payload);
      }
    }
    if (this.opts.fsync !== "never") fdatasyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    this.generation++;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = openSync(path, "a");
    this.size = fstatSync(this.fd).size;
    this.compactedSize = size;
  }
}

function head(m: Message): Head {
  const h: Head = { t: m.topic, q: m.qos };
  if (m.expiresAt !== undefined) h.e = m.expiresAt;
  if (m.properties) h.p = m.properties;
  if (m.from !== undefined) h.c = m.from;
  return h;
}

function delivery(clientId: string, d: Delivery): Head {
  const h = head(d.msg);
  h.c = clientId;
  h.s = d.seq;
  h.dq = d.qos;
  h.r = d.retain;
  if (d.subscriptionIds) h.i = d.subscriptionIds;
  return h;
}

function message(h: Head, payload: Uint8Array): Message {
  const m: Message = { topic: h.t as string, payload, qos: h.q ?? 0, retain: true };
  if (h.e !== undefined) m.expiresAt = h.e;
  if (h.p) m.properties = h.p;
  return m;
}

const B64 = "\u0000b64:";
function replace(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? B64 + Buffer.from(v).toString("base64") : v;
}
function revive(_k: string, v: unknown): unknown {
  return typeof v === "string" && v.startsWith(B64)
    ? new Uint8Array(Buffer.from(v.slice(B64.length), "base64"))
    : v;
}

function writeRecord(fd: number, kind: Kind, h: Head, payload?: Uint8Array): number {
  const json = Buffer.from(JSON.stringify(h, replace));
  const len = 3 + json.length + (payload?.length ?? 0);
  const buf = Buffer.allocUnsafe(4 + len);
  buf.writeUInt32BE(len, 0);
  buf[4] = kind;
  buf.writeUInt16BE(json.length, 5);
  json.copy(buf, 7);
  if (payload) buf.set(payload, 7 + json.length);
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off);
  return buf.length;
}
