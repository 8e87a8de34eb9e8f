import type { QoS } from "../mqtt/packets.ts";
import type { LocalSub } from "./conn.ts";
import type { Delivery, Message } from "./message.ts";
import type { Session, Subscription } from "./session.ts";
import { SubIndex } from "./sub-index.ts";

interface Member {
  session: Session;
  sub: Subscription;
}
interface Group {
  name: string;
  members: Member[];
  next: number;
}
type Entry =
  | { kind: "session"; session: Session; sub: Subscription }
  | { kind: "local"; local: LocalSub }
  | { kind: "group"; group: Group };

/**
 * Which sessions and in-process subscribers a message goes to: the subscription trie, shared
 * subscription groups ([MQTT-4.8.2], one member per message, round robin) and no-local.
 */
/** Topics whose matching entries are remembered (topics repeat: one per series of readings). */
const MATCH_CACHE = 1024;

export class Router {
  private readonly index = new SubIndex<Entry>();
  private readonly groups = new Map<string, Group>();
  private readonly entries = new WeakMap<object, Entry>();
  /**
   * The trie's answer per topic, in visiting order; emptied by every change of subscriptions, and
   * when full, so junk topics cannot grow it. Groups still pick their member per message.
   */
  private readonly matched = new Map<string, Entry[]>();

  addLocal(local: LocalSub): void {
    this.matched.clear();
    const entry: Entry = { kind: "local", local };
    for (const f of local.filters) this.index.add(f, entry);
    this.entries.set(local, entry);
  }

  removeLocal(local: LocalSub): void {
    this.matched.clear();
    const entry = this.entries.get(local);
    if (entry) for (const f of local.filters) this.index.remove(f, entry);
  }

  add(s: Session, sub: Subscription): void {
    this.matched.clear();
    if (sub.group === undefined) {
      const entry: Entry = { kind: "session", session: s, sub };
      this.entries.set(sub, entry);
      this.index.add(sub.topicFilter, entry);
      return;
    }
    const key = `${sub.group}\u0000${sub.topicFilter}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { name: sub.group, members: [], next: 0 };
      this.groups.set(key, group);
      this.index.add(sub.topicFilter, { kind: "group", group });
      this.entries.set(group, { kind: "group", group });
    }
    group.members.push({ session: s, sub });
  }

  remove(s: Session, sub: Subscription): void {
    this.matched.clear();
    if (sub.group === undefined) {
      const entry = this.entries.get(sub);
      if (entry) this.index.remove(sub.topicFilter, entry);
      return;
    }
    const key = `${sub.group}\u0000${sub.topicFilter}`;
    const group = this.groups.get(key);
    if (!group) return;
    group.members = group.members.filter((m) => m.session !== s);
    if (group.members.length === 0) {
      this.groups.delete(key);
      const entry = this.entries.get(group);
      if (entry) this.index.remove(sub.topicFilter, entry);
    }
  }

  /** Fan-out: one delivery per session (highest QoS, all subscription ids [MQTT-3.3.4-2..5]), and the in-process subscribers. */
  match(msg: Message): { targets: Map<Session, Delivery>; locals: LocalSub[] } {
    const targets = new Map<Session, Delivery>();
    const locals: LocalSub[] = [];
    for (const e of this.entriesFor(msg.topic)) {
      if (e.kind === "session") add(targets, msg, e.session, e.sub);
      else if (e.kind === "local") {
        if (!locals.includes(e.local)) locals.push(e.local);
      } else {
        const m = pickMember(e.group);
        if (m) add(targets, msg, m.session, m.sub);
      }
    }
    return { targets, locals };
  }

  private entriesFor(topic: string): Entry[] {
    let found = this.matched.get(topic);
    if (found === undefined) {
      const list: Entry[] = [];
      this.index.match(topic, (e) => list.push(e));
      if (this.matched.size >= MATCH_CACHE) this.matched.clear();
      this.matched.set(topic, list);
      found = list;
    }
    return found;
  }
}

/** One matching subscription of `s`: a new delivery, or the session's delivery raised to it. */
function add(targets: Map<Session, Delivery>, msg: Message, s: Session, sub: Subscription): void {
  if (sub.noLocal && msg.from === s.clientId) return; // [MQTT-3.8.3-3]
  const qos = Math.min(msg.qos, sub.qos) as QoS;
  const retain = msg.retain && sub.retainAsPublished; // [MQTT-3.3.1-12] [MQTT-3.3.1-13]
  const d = targets.get(s);
  if (!d) {
    const nd: Delivery = { msg, qos, retain };
    if (sub.id !== undefined) nd.subscriptionIds = [sub.id];
    targets.set(s, nd);
    return;
  }
  if (qos > d.qos) d.qos = qos;
  if (retain) d.retain = true;
  if (sub.id !== undefined) {
    d.subscriptionIds ??= [];
    d.subscriptionIds.push(sub.id);
  }
}

/** Round robin over a shared group, preferring members that are connected [MQTT-4.8.2-4]. */
function pickMember(g: Group): Member | undefined {
  const n = g.members.length;
  for (let i = 0; i < n; i++) {
    const m = g.members[(g.next + i) % n] as Member;
    if (m.session.conn) {
      g.next = (g.next + i + 1) % n;
      return m;
    }
  }
  const m = g.members[g.next % n];
  g.next = (g.next + 1) % n;
  return m;
}
