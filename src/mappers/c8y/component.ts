import { join } from "node:path";
import type { Component, Context } from "../../component/component.ts";
import { MapperComponent, mapperContext } from "../common/wiring.ts";
import { CustomOperations } from "./custom-operations.ts";
import { C8yMapper, c8yFilters } from "./mapper.ts";
import type { OperationFile } from "./operation-files.ts";
import { requestJwt } from "./remote-access/jwt.ts";
import { RemoteAccess } from "./remote-access/tunnel.ts";

/** `c8y-mapper`: te/ ↔ c8y/ on the local bus; the bridge moves c8y/ to and from Cumulocity. */
export function createC8yMapperComponent(ctx: Context): Component {
  const base = mapperContext(ctx, "c8y-mapper");
  const host = ctx.config.get("http.bind.address");
  const mapper = new C8yMapper({
    ...base,
    fileTransferUrl: `http://${host.includes(":") ? `[${host}]` : host}:${ctx.config.get("http.bind.port")}`,
    announceAutoRegistration: ctx.config.get("c8y.announce_entities"),
  });
  // Operation files (thin-edge's `operations/c8y/<name>`) run commands: the I/O half lives here.
  let component: MapperComponent | undefined;
  const { config } = ctx;
  const remote = config.get("c8y.remote_access.enable")
    ? new RemoteAccess({
        endpoint: config.get("c8y.remote_access.endpoint") || `wss://${config.get("c8y.url")}`,
        allow: config.get("c8y.remote_access.allow"),
        authorization: async () => `Bearer ${await requestJwt(ctx.bus)}`,
        log: ctx.log,
      })
    : undefined;
  const custom = new CustomOperations({
    native: remote
      ? [{ file: REMOTE_ACCESS_FILE, handle: (line) => remote.connect(line).then(() => "") }]
      : [],
    dir: join(ctx.config.dir, "operations", "c8y"),
    bus: ctx.bus,
    log: ctx.log,
    statusTopic: "c8y/s/us",
    onChange: (files) => component?.emit(mapper.setOperationFiles(files)),
  });
  const translator = {
    translate: (msg: Parameters<C8yMapper["translate"]>[0]) => {
      const out = mapper.translate(msg);
      for (const r of mapper.takeRuns()) custom.run(r);
      return out;
    },
  };
  component = new MapperComponent("c8y-mapper", ctx, c8yFilters(base.root), translator, {
    start: () => {
      component?.emit(mapper.setOperationFiles(custom.load()));
      custom.watch();
    },
    stop: () => {
      remote?.closeAll();
      void custom.stop();
    },
  });
  return component;
}

/** thin-edge's plugin installs this operation file; ledge answers 530 itself. */
const REMOTE_ACCESS_FILE: OperationFile = {
  name: "c8y_RemoteAccessConnect",
  builtin: false,
  topic: "c8y/s/ds",
  onMessage: "530",
  resultFormat: "text",
  timeoutS: 60,
  forcefulS: 60,
  skipStatusUpdate: false,
  native: "remote-access",
};
