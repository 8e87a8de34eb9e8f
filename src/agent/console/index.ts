/**
 * The local web console (`console.enable`), loaded only when enabled: the model fed from the bus,
 * and the HTTP service mounted at /console/ on the agent's HTTP server.
 */
import type { Bus, Subscription } from "../../bus/bus.ts";
import type { Config } from "../../config/store.ts";
import { type HttpReply, type HttpRequest, jsonError } from "../../foundation/http/exchange.ts";
import type { Logger } from "../../foundation/logger.ts";
import { authPolicy } from "./auth.ts";
import { ConsoleModel, DEFAULT_LIMITS } from "./model.ts";
import { type ConsoleFile, ConsoleService } from "./service.ts";

export type { ConsoleFile } from "./service.ts";

export interface RunningConsole {
  handle(req: HttpRequest, path: string): Promise<HttpReply>;
  stop(): Promise<void>;
}

export async function startConsole(o: {
  config: Config;
  bus: Bus;
  log: Logger;
  clock: () => number;
  files: () => ConsoleFile[];
  transfer: { dir: string; url: () => string };
}): Promise<RunningConsole> {
  const bind = o.config.get("http.bind.address");
  const policy = authPolicy(bind, o.config.get("console.token"));
  if (typeof policy === "string") {
    // the agent's other services stay up; the console says why it is off
    o.log.error("console not started", { reason: policy });
    return {
      handle: async () => jsonError(503, `console not started: ${policy}`),
      async stop() {},
    };
  }
  const root = o.config.get("mqtt.topic_root");
  const model = new ConsoleModel(root, { ...DEFAULT_LIMITS, historyS: o.config.get("console.history_s") });
  const sub: Subscription = await o.bus.subscribe(`${root}/#`, (msg) =>
    model.apply(msg.topic, msg.payload.toString("utf8"), o.clock()),
  );
  const service = new ConsoleService({ ...o, root, model, policy });
  o.log.info("console at /console/", { bind, login: policy.token ? "token" : "none (loopback)" });
  return {
    handle: (req, path) => service.handle(req, path),
    async stop() {
      service.stop();
      await sub.unsubscribe();
    },
  };
}
