import { join } from "node:path";
import type { Component, Context } from "../../component/component.ts";
import { MapperComponent, mapperContext, type Translator } from "../common/wiring.ts";
import { parseInterval } from "./availability.ts";
import { failed, type UploadRequest } from "./command-status.ts";
import { CustomOperations } from "./custom-operations.ts";
import { JwtOverMqtt } from "./http/jwt.ts";
import { HttpSide, proxyUrls, tenantEndpoint } from "./http/side.ts";
import { C8yMapper, c8yFilters } from "./mapper.ts";
import type { OperationFile } from "./operation-files.ts";
import { RemoteAccess } from "./remote-access/tunnel.ts";

/**
 * `c8y-mapper`: te/ ↔ c8y/ on the local bus (the bridge moves c8y/ to and from Cumulocity) and,
 * when a Cumulocity host is set, the HTTP side: uploads, the local proxy, JWT over MQTT.
 */
export function createC8yMapperComponent(ctx: Context): Component {
  const base = mapperContext(ctx, "c8y-mapper");
  const host = ctx.config.get("http.bind.address");
  const endpoint = tenantEndpoint(ctx.config);
  let side: HttpSide | undefined;
  let sideError = "";
  const upload = (req: UploadRequest) => {
    if (side) return side.upload(req);
    component.emit([
      failed(req.ref, `cannot upload: the Cumulocity HTTP side is not running (${sideError})`),
      { topic: req.cmdTopic, payload: "", retain: true, qos: 1 },
    ]);
  };
  const mapper = new C8yMapper({
    ...base,
    fileTransferUrl: `http://${host.includes(":") ? `[${host}]` : host}:${ctx.config.get("http.bind.port")}`,
    announceAutoRegistration: ctx.config.get("c8y.announce_entities"),
    useOperationId: ctx.config.get("c8y.smartrest.use_operation_id"),
    availabilityS: ctx.config.get("c8y.availability.enable")
      ? parseInterval(ctx.config.get("c8y.availability.interval"))
      : undefined,
    proxy: endpoint ? proxyUrls(ctx.config) : undefined,
    upload: endpoint ? upload : undefined,
  });
  // Operation files (thin-edge's `operations/c8y/<name>`) run commands, and remote access opens
  // tunnels: the I/O half of those lives here, the matching in the pure mapper.
  const { config } = ctx;
  const jwt = config.get("c8y.remote_access.enable")
    ? new JwtOverMqtt({ bus: ctx.bus, now: ctx.clock })
    : undefined;
  const remote = jwt
    ? new RemoteAccess({
        endpoint:
          config.get("c8y.remote_access.endpoint") ||
          (endpoint ? `wss://${endpoint.host}${endpoint.port === 443 ? "" : `:${endpoint.port}`}` : ""),
        allow: config.get("c8y.remote_access.allow"),
        authorization: () => jwt.authorization(),
        refused: () => jwt.invalidate(),
        log: ctx.log,
      })
    : undefined;
  const custom = new CustomOperations({
    native: remote
      ? [{ file: REMOTE_ACCESS_FILE, handle: (line) => remote.connect(line).then(() => "") }]
      : [],
    dir: join(config.dir, "operations", "c8y"),
    bus: ctx.bus,
    log: ctx.log,
    statusTopic: "c8y/s/us",
    onChange: (files) => component.emit(mapper.setOperationFiles(files)),
  });
  const translator: Translator = {
    translate: (msg) => {
      const out = mapper.translate(msg);
      for (const r of mapper.takeRuns()) custom.run(r);
      return out;
    },
    start: () => mapper.start(),
    poll: (now) => mapper.poll(now),
    nextDeadline: () => mapper.nextDeadline(),
  };
  const component: MapperComponent = new MapperComponent(
    "c8y-mapper",
    ctx,
    c8yFilters(base.root),
    translator,
    {
      start: async () => {
        component.emit(mapper.setOperationFiles(custom.load()));
        custom.watch();
        await jwt?.start();
        if (!endpoint) return;
        // The mapping must not depend on it: without the HTTP side uploads fail with the reason.
        try {
          const s = new HttpSide(ctx, endpoint, (out) => component.emit(out));
          await s.start();
          side = s;
        } catch (e) {
          sideError = (e as Error).message;
          ctx.log.error(`the Cumulocity HTTP side cannot start: ${sideError}`);
        }
      },
      stop: async () => {
        remote?.closeAll();
        await custom.stop();
        await jwt?.stop();
        await side?.stop();
        side = undefined;
      },
    },
  );
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
