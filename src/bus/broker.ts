import type { Logger } from "../foundation/logger.ts";
import { BrokerCore, type Conn as CoreConn } from "./broker/core.ts";
import { Journal, type JournalOptions } from "./broker/journal.ts";
import { type BrokerLimits, DEFAULT_LIMITS } from "./broker/limits.ts";
import type { Link, Policy } from "./broker/link.ts";
import { brokerMeasurement } from "./broker/metrics.ts";
import { Decoder } from "./mqtt/decode.ts";
import type { Conn, Listener, Net, ServerTls } from "./net/net.ts";
import { selectNet } from "./net/select.ts";

export interface ListenerOptions {
  host: string;
  port: number;
  tls?: ServerTls;
  policy?: Policy;
}

export interface BrokerOptions extends ListenerOptions {
  log: Logger;
  limits?: Partial<BrokerLimits>;
  /** Persistence of retained messages and persistent sessions (none: memory only). */
  persistence?: Omit<JournalOptions, "onError">;
  /** More listeners (the LAN listener for child devices). */
  extra?: ListenerOptions[];
  clock?: () => number;
}

/** A closing connection that does not take its pending bytes within this time is dropped. */
const CLOSE_GRACE_MS = 2000;

/** Writes to one client gathered while its input is handled are sent once they reach this. */
const BATCH_BYTES = 64 * 1024;

/**
 * ledge's MQTT broker: the pure `BrokerCore` behind thin socket listeners (`selectNet`: Bun's
 * sockets in the binaries, node:net under Node). The loopback listener by default; more (the LAN
 * listener) with their own TLS and access policy.
 */
export class EmbeddedBroker {
  readonly core: BrokerCore;
  private readonly listeners: Listener[] = [];
  private readonly sockets = new Set<Conn>();
  private timer?: ReturnType<typeof setInterval>;
  private readonly clock: () => number;

  private readonly journal?: Journal;
  /** While a chunk of input is handled: how to send what each client's link gathered meanwhile. */
  private corked: (() => void)[] | undefined;

  private constructor(private readonly opts: BrokerOptions) {
    this.clock = opts.clock ?? Date.now;
    if (opts.persistence)
      this.journal = new Journal({
        ...opts.persistence,
        onError: (e) => opts.log.error("broker persistence failed", { error: e }),
      });
    this.core = new BrokerCore({ ...DEFAULT_LIMITS, ...opts.limits }, this.journal, (e, topic) =>
      opts.log.error("message handler failed", { topic, error: e }),
    );
    if (this.journal) {
      const { retained, sessions } = this.journal.load(this.clock());
      this.core.restore(retained, sessions);
      this.journal.start(() => ({
        retained: this.core.retained.all(),
        sessions: this.core.sessions.values(),
      }));
      if (retained.length || sessions.length)
        opts.log.info("broker state restored", { retained: retained.length, sessions: sessions.length });
    }
  }

  /** A broker that serves in-process clients only, until `listen()`. */
  static async create(opts: BrokerOptions): Promise<EmbeddedBroker> {
    return new EmbeddedBroker(opts);
  }

  static async start(opts: BrokerOptions): Promise<EmbeddedBroker> {
    const broker = await EmbeddedBroker.create(opts);
    await broker.listen();
    return broker;
  }

  /** Accepts MQTT connections on the configured listeners. */
  async listen(net?: Net): Promise<void> {
    const n = net ?? (await selectNet());
    for (const l of [this.opts, ...(this.opts.extra ?? [])]) {
      const listener = await n.listen({ host: l.host, port: l.port, ...(l.tls && { tls: l.tls }) }, (conn) =>
        this.accept(conn, l.policy),
      );
      this.listeners.push(listener);
      this.opts.log.info("broker listening", { host: l.host, port: listener.port, tls: !!l.tls });
    }
    this.timer = setInterval(() => this.core.tick(this.clock()), 1000);
    this.timer.unref?.();
  }

  /** The broker's counters as a thin-edge measurement payload. */
  measurement(): Record<string, unknown> {
    const c = this.core;
    return brokerMeasurement(
      c.metrics,
      { clients: c.clients, sessions: c.sessions.size, retained: c.retained.size },
      this.clock(),
    );
  }

  get port(): number {
    return this.listeners[0]?.port ?? this.opts.port;
  }

  /** Ports of all listeners, loopback first. */
  get ports(): number[] {
    return this.listeners.map((l) => l.port);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.listeners.map((l) => l.close()));
    this.listeners.length = 0;
    for (const s of this.sockets) s.destroy();
    this.journal?.close();
  }

  private accept(sock: Conn, policy?: Policy) {
    const { core, clock } = this;
    // Sockets past the connection limit (plus room for CONNACKs that refuse) are dropped unread.
    if (this.sockets.size >= core.limits.maxConnections + 64) {
      sock.destroy();
      return { onData() {}, onDrain() {}, onClose() {} };
    }
    this.sockets.add(sock);
    let closing: ReturnType<typeof setTimeout> | undefined;
    // What the core writes to this client while it handles one chunk of any client's input (a
    // PUBACK per publish of a flood, the publishes of a flood to each subscriber) goes out in one
    // socket write once the chunk is handled, not one system call per packet.
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    const flush = (): boolean => {
      if (batch.length === 0) return true;
      const bytes = batch.length === 1 ? (batch[0] as Uint8Array) : Buffer.concat(batch);
      batch = [];
      batchBytes = 0;
      return sock.write(bytes);
    };
    const release = () => {
      if (!flush()) conn.blocked = true;
    };
    const link: Link = {
      write: (bytes) => {
        const corked = this.corked;
        if (!corked) return sock.write(bytes);
        if (batch.length === 0) corked.push(release);
        batch.push(bytes);
        batchBytes += bytes.length;
        return batchBytes < BATCH_BYTES || flush();
      },
      close: () => {
        flush();
        sock.end();
        closing ??= setTimeout(() => sock.destroy(), CLOSE_GRACE_MS);
        closing.unref?.();
      },
      remoteAddress: sock.remoteAddress,
      ...(sock.peerCertificate && { peerCertificate: sock.peerCertificate }),
      ...(policy && { policy }),
    };
    const conn: CoreConn = core.open(link, clock());
    const decoder = new Decoder({ maxPacketSize: core.limits.maxPacketSize });
    return {
      onData: (chunk: Uint8Array) => {
        core.metrics.bytesIn += chunk.length;
        const now = clock();
        const { packets, error } = decoder.push(chunk);
        const outer = this.corked === undefined;
        if (outer) this.corked = [];
        try {
          for (const p of packets) core.receive(conn, p, now);
          if (error) core.fail(conn, error, now);
        } finally {
          if (outer) {
            const gathered = this.corked ?? [];
            this.corked = undefined;
            for (const r of gathered) r();
          }
        }
      },
      onDrain: () => core.drained(conn, clock()),
      onClose: () => {
        if (closing) clearTimeout(closing);
        this.sockets.delete(sock);
        core.closed(conn, clock());
      },
    };
  }
}
