import { type Entity, EntityTree } from "../../api/entity-tree.ts";
import type { Registration } from "../../api/payloads.ts";
import type { Bus, Subscription } from "../../bus/bus.ts";

/**
 * The entity registrations as the bus carries them (retained `te/<topic id>` messages, which the
 * api component's EntityStore publishes and persists). Reading them from the bus keeps the HTTP
 * API correct whether the api component runs in this process or another one.
 */
export class EntityView {
  private readonly tree = new EntityTree();
  private sub?: Subscription;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly bus: Bus,
    private readonly root: string,
  ) {}

  async start(): Promise<void> {
    // `+` matches an empty level ([MQTT-4.7.1-3]), so this covers `te/device/main//` too.
    this.sub = await this.bus.subscribe(`${this.root}/+/+/+/+`, (msg) => {
      const topicId = msg.topic.slice(this.root.length + 1);
      if (msg.payload.length === 0) this.tree.delete(topicId);
      else {
        try {
          const reg = JSON.parse(msg.payload.toString("utf8")) as Registration;
          if (reg && typeof reg === "object" && typeof reg["@type"] === "string")
            this.tree.apply(topicId, reg);
        } catch {
          return; // the api component reports bad registrations on te/errors
        }
      }
      for (const w of this.waiters) w();
    });
  }

  async stop(): Promise<void> {
    await this.sub?.unsubscribe();
  }

  list(): Entity[] {
    return this.tree.list();
  }

  get(topicId: string): Entity | undefined {
    return this.tree.get(topicId);
  }

  /** The entity and all its descendants, parents first. */
  subtree(topicId: string): string[] {
    return this.tree.subtree(topicId);
  }

  /** Resolves true once `cond` holds (re-checked on every registration message), false after `ms`. */
  waitFor(cond: () => boolean, ms: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!cond()) return;
        done(true);
      };
      const timer = setTimeout(() => done(false), ms);
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(v);
      };
      this.waiters.add(check);
    });
  }
}
