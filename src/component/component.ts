import type { Bus } from "../bus/bus.ts";
import type { Config } from "../config/store.ts";
import type { Logger } from "../foundation/logger.ts";

/** What every component receives: no module-level singletons. */
export interface Context {
  config: Config;
  log: Logger;
  bus: Bus;
  /** Milliseconds since the epoch; injected so cores are testable without a clock. */
  clock: () => number;
}

/**
 * A unit of ledge that `ledge run` composes. `stop()` must remove every subscription, timer and
 * listener that `start()` added, so components can be started and stopped in any order.
 */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type ComponentFactory = (ctx: Context) => Component | Promise<Component>;
