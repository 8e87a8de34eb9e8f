/**
 * Cumulocity's JWT over MQTT, as thin-edge gets it for certificate-authenticated devices: an empty
 * message on `c8y/s/uat` asks, the tenant answers `71,<token>` on `c8y/s/dat` (both moved by the
 * bridge). A token is kept until the tenant refuses it (401) or its `exp` has passed.
 */
import { JWT_REQUEST, JWT_RESPONSE } from "../../../api/clouds/c8y.ts";
import type { Bus, Subscription } from "../../../bus/bus.ts";

export interface JwtOptions {
  bus: Bus;
  now: () => number;
  /** How long to wait for each answer (thin-edge: 20 s) and how often to ask (3). */
  timeoutMs?: number;
  attempts?: number;
}

/** The `exp` claim of a JWT in ms, if it has one. */
export function jwtExpiry(token: string): number | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as { exp?: unknown };
    return typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The token of a `71,<token>` record; undefined for other records. */
export function parseJwtRecord(payload: string): string | undefined {
  const m = /^71,(.+)$/.exec(payload.trim());
  return m?.[1];
}

export class JwtOverMqtt {
  private sub?: Subscription;
  private token?: string;
  private waiting: ((token: string) => void)[] = [];
  private inflight?: Promise<string>;

  constructor(private readonly o: JwtOptions) {}

  async start(): Promise<void> {
    this.sub = await this.o.bus.subscribe(JWT_RESPONSE, (msg) => {
      const token = parseJwtRecord(msg.payload.toString("utf8"));
      if (!token) return;
      this.token = token;
      for (const w of this.waiting.splice(0)) w(token);
    });
  }

  async stop(): Promise<void> {
    await this.sub?.unsubscribe();
    this.sub = undefined;
  }

  /** Forgets the token: the tenant refused it. */
  invalidate(): void {
    this.token = undefined;
  }

  async authorization(): Promise<string> {
    return `Bearer ${await this.get()}`;
  }

  /** A valid token, asking the tenant for one when there is none. */
  get(): Promise<string> {
    const exp = this.token ? jwtExpiry(this.token) : undefined;
    if (this.token && (exp === undefined || exp > this.o.now() + 10_000)) return Promise.resolve(this.token);
    this.inflight ??= this.request().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async request(): Promise<string> {
    const attempts = this.o.attempts ?? 3;
    const timeoutMs = this.o.timeoutMs ?? 20_000;
    for (let i = 0; i < attempts; i++) {
      let timer: NodeJS.Timeout | undefined;
      let resolveIt!: (t: string) => void;
      const answer = new Promise<string | undefined>((resolve) => {
        resolveIt = resolve;
        this.waiting.push(resolveIt);
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      });
      await this.o.bus.publish(JWT_REQUEST, "", { qos: 0 });
      const token = await answer;
      clearTimeout(timer);
      this.waiting = this.waiting.filter((w) => w !== resolveIt);
      if (token) return token;
    }
    throw new Error(
      `no JWT from Cumulocity on ${JWT_RESPONSE} after ${attempts} requests on ${JWT_REQUEST} (is the bridge connected?)`,
    );
  }
}
