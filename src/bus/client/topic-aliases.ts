/**
 * Outbound MQTT 5 topic aliases for one connection, pure: the first PUBLISH on a topic carries the
 * topic and an alias, later ones the alias and an empty topic (§3.3.2.3.4), so a link that repeats a
 * few long topics (a bridge on a metered line) stops sending them. Up to the server's Topic Alias
 * Maximum from CONNACK; past it, the least recently used alias is given to the new topic (sent in
 * full once more). Mappings live for one network connection only: `reset` at every CONNACK.
 */

/** An alias costs 3 bytes (property id + u16) on every PUBLISH: shorter topics are sent as they are. */
const MIN_TOPIC_LENGTH = 4;

export interface Aliased {
  /** The topic to put in the PUBLISH: "" when the alias is already known to the server. */
  topic: string;
  alias?: number;
}

export class TopicAliases {
  /** topic → alias, least recently used first (a Map keeps insertion order). */
  private readonly byTopic = new Map<string, number>();
  private max = 0;

  /**
   * A new connection with the server's Topic Alias Maximum (absent: 0). Nothing of the previous
   * connection is carried forward [MQTT-3.3.2-7].
   */
  reset(max: number): void {
    this.byTopic.clear();
    this.max = max;
  }

  /** What to send for a PUBLISH on `topic`, in the order the packets are written. */
  apply(topic: string): Aliased {
    // [MQTT-3.2.2-17] no Topic Alias Maximum from the server: no aliases at all
    if (this.max === 0 || topic.length < MIN_TOPIC_LENGTH) return { topic };
    const known = this.byTopic.get(topic);
    if (known !== undefined) {
      this.byTopic.delete(topic);
      this.byTopic.set(topic, known);
      return { topic: "", alias: known };
    }
    let alias = this.byTopic.size + 1;
    if (alias > this.max) {
      // [MQTT-3.3.2-9] never above the server's maximum: the least recently used one is remapped
      const [oldest, reused] = this.byTopic.entries().next().value as [string, number];
      this.byTopic.delete(oldest);
      alias = reused;
    }
    this.byTopic.set(topic, alias);
    return { topic, alias };
  }
}
