import { type AddressInfo, createServer, type Server } from "node:net";
import { Readable } from "node:stream";
import { Aedes } from "aedes";
import memoryPersistence from "aedes-persistence";
import type { Logger } from "../foundation/logger.ts";
import { matches } from "./topic-filter.ts";

export interface BrokerOptions {
  host: string;
  port: number;
  log: Logger;
  /** Largest accepted packet (bytes); bigger ones drop the client's connection. */
  maxPacketBytes?: number;
}

/** ledge's embedded MQTT broker (aedes) on a loopback TCP port by default. */
export class EmbeddedBroker {
  readonly aedes: Aedes;
  private server?: Server;

  private constructor(
    aedes: Aedes,
    private readonly opts: BrokerOptions,
  ) {
    this.aedes = aedes;
  }

  /** A broker that serves in-process clients only, until `listen()`. */
  static async create(opts: BrokerOptions): Promise<EmbeddedBroker> {
    const aedes = await Aedes.createBroker({
      heartbeatInterval: 3_600_000,
      persistence: retainedMatchingEmptyLevels(),
    });
    stampAtEmit(aedes);
    return new EmbeddedBroker(aedes, opts);
  }

  static async start(opts: BrokerOptions): Promise<EmbeddedBroker> {
    const broker = await EmbeddedBroker.create(opts);
    await broker.listen();
    return broker;
  }

  /** Accepts MQTT connections on the configured address and port. */
  async listen(): Promise<void> {
    const { host, port, log } = this.opts;
    const server = createServer((socket) => {
      socket.on("error", (e) => log.debug("client socket error", { error: e.message }));
      this.aedes.handle(socket);
    });
    this.aedes.on("clientError", (client, err) =>
      log.debug("client error", { client: client?.id, error: err.message }),
    );
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (e) => log.error("broker listener error", { error: e.message }));
    this.server = server;
    log.info("broker listening", { host, port: this.port });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.opts.port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

interface RetainedPacket {
  topic: string;
}
interface RetainedStore {
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

/**
 * aedes-persistence 11 matches retained messages without qlobber's `match_empty_levels`, so
 * `te/+/+/+/+` misses the retained `te/device/main//` that live delivery matches [MQTT-4.7.1-3].
 * te/ topics are full of empty levels: filter the retained set with ledge's own matcher instead.
 */
function retainedMatchingEmptyLevels(): unknown {
  const store = (memoryPersistence as unknown as () => RetainedStore)();
  const all = store.createRetainedStream.bind(store);
  const select = (patterns: string[]) =>
    Readable.from(
      (async function* () {
        for await (const packet of all("#") as AsyncIterable<RetainedPacket>) {
          if (patterns.some((p) => matches(p, packet.topic))) yield packet;
        }
      })(),
    );
  store.createRetainedStream = (pattern) => select([pattern]);
  store.createRetainedStreamCombi = (patterns) => select(patterns);
  return store;
}

interface Counted {
  brokerId?: string;
  brokerCounter?: number;
}

/**
 * aedes numbers a message when it is created, but emits a retained one only after storing it; a
 * client that already saw a later number drops the retained message as a duplicate. Numbering at
 * emit time keeps the per-client duplicate check (overlapping subscriptions) and loses nothing.
 */
function stampAtEmit(aedes: Aedes): void {
  const inner = aedes as unknown as {
    id: string;
    counter: number;
    mq: { emit(p: Counted, cb?: () => void): void };
  };
  const emit = inner.mq.emit.bind(inner.mq);
  inner.mq.emit = (packet, cb) => {
    if (packet.brokerId === inner.id) packet.brokerCounter = ++inner.counter;
    emit(packet, cb);
  };
}
