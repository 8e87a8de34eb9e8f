/**
 * Packet identifiers for one session: 1..65535 [MQTT-2.2.1-3], never one still in use by an
 * un-acknowledged QoS 1/2 PUBLISH, SUBSCRIBE or UNSUBSCRIBE [MQTT-2.3.1-2]. Handed out round-robin
 * so an id that was just freed is not reused at once (a late ack for it is then not mistaken for
 * the new packet's).
 */
export class PacketIds {
  private readonly used = new Set<number>();
  private last = 0;

  get inUse(): number {
    return this.used.size;
  }

  /** The next free id, or undefined when all 65,535 are taken. */
  take(): number | undefined {
    if (this.used.size >= 65_535) return undefined;
    let id = this.last;
    do id = id >= 65_535 ? 1 : id + 1;
    while (this.used.has(id));
    this.used.add(id);
    this.last = id;
    return id;
  }

  release(id: number): void {
    this.used.delete(id);
  }

  clear(): void {
    this.used.clear();
  }

  has(id: number): boolean {
    return this.used.has(id);
  }
}
