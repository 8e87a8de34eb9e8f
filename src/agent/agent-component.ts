import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MAIN_DEVICE, topicFor } from "../api/topics.ts";
import type { Component, Context } from "../component/component.ts";
import { CONFIG_FILE, parseConfigText } from "../config/store.ts";
import { CommandEngine } from "./commands/engine.ts";
import { timeoutMs } from "./commands/state.ts";
import { CommandStore } from "./commands/store.ts";
import type { ConsoleFile, RunningConsole } from "./console/index.ts";
import { type DeclaredType, type DeclaredTypes, loadDeclaredTypes } from "./declared-types.ts";
import { EntityView } from "./http/entity-view.ts";
import { AgentHttpServer } from "./http/server.ts";
import { SystemMonitor } from "./monitor/system-monitor.ts";
import { type ConfigValidator, configSnapshotOperation, configUpdateOperation } from "./operations/config.ts";
import { firmwareUpdateOperation, type SelfUpdateOptions } from "./operations/firmware-update.ts";
import { logUploadOperation } from "./operations/log-upload.ts";
import type { Operation } from "./operations/operation.ts";
import { bootIdFile, restartOperation } from "./operations/restart.ts";
import { softwareListOperation, softwareUpdateOperation } from "./operations/software.ts";
import { ledgeArgs } from "./self-update/binary.ts";
import { sudoWrapper } from "./sudo.ts";
import { builtinWorkflows } from "./workflows/builtin.ts";
import { WorkflowRegistry } from "./workflows/registry.ts";

/**
 * Files other components own, given by the composition root (the agent imports no component):
 * config types declared by default and validated before config_update replaces them, and log types.
 */
export interface AgentFileHooks {
  /** `check`: every problem of a file's new text (`file:line: reason` lines), or undefined. */
  config: (DeclaredType & { check?: (text: string, file: string) => string | undefined })[];
  log: DeclaredType[];
}

export interface AgentOverrides {
  /** More checks of config files that config_update installs, by absolute path (tests). */
  validators?: Record<string, ConfigValidator>;
  /** Replaces parts of the self-update wiring (tests: a script as target, no real exit). */
  selfUpdate?: Partial<SelfUpdateOptions>;
  env?: NodeJS.ProcessEnv;
  /** The workflows' `restart-agent` action (tests: stop and start the component). */
  restartAgent?: () => void;
}

/**
 * The device management agent: the command engine with its operations for the main device,
 * the file transfer / entity HTTP service, and the system monitor (sd_notify belongs to `ledge run`: src/app/sd-notify.ts).
 */
export class AgentComponent implements Component {
  readonly name = "agent";
  readonly engine: CommandEngine;
  readonly http: AgentHttpServer;
  private readonly view: EntityView;
  private readonly monitor: SystemMonitor;
  private console?: RunningConsole;
  /** Device files the console edits: the config types other components registered, with their validators. */
  private readonly consoleFiles: () => ConsoleFile[];

  constructor(
    private readonly ctx: Context,
    overrides: AgentOverrides = {},
    files: AgentFileHooks = { config: [], log: [] },
  ) {
    const { config, bus, clock } = ctx;
    const log = ctx.log;
    const root = config.get("mqtt.topic_root");
    this.consoleFiles = () => files.config;
    const env = overrides.env ?? process.env;
    const stateDir = join(config.dataDir, "agent");
    let declared: DeclaredTypes | undefined;
    const types = (): DeclaredTypes => {
      const d = loadDeclaredTypes(
        config.dir,
        config.get("agent.config_types"),
        config.get("agent.log_types"),
      );
      if (d.errors.length && JSON.stringify(d.errors) !== JSON.stringify(declared?.errors))
        for (const e of d.errors) log.warn(e);
      // a type declared in ledge.toml or agent.toml wins over a component's default
      for (const kind of ["config", "log"] as const)
        for (const h of files[kind])
          if (!d[kind].some((x) => x.type === h.type)) d[kind].push({ type: h.type, path: h.path });
      declared = d;
      return d;
    };
    const pluginsDir = config.path("agent.sm_plugins_dir");
    const privileged = sudoWrapper(config.get("sudo.enable"), env);
    const software = { pluginsDir, downloadDir: join(stateDir, "downloads"), privileged };
    const modeKey = config.get("agent.self_update.restart");
    const supervised = Boolean(env.INVOCATION_ID || env.RC_SVCNAME);
    const mode =
      modeKey === "auto" ? (supervised ? "supervisor" : "exec") : (modeKey as "exec" | "supervisor");
    const selfUpdate: SelfUpdateOptions = {
      target: config.get("agent.self_update.target") || process.execPath,
      stateDir,
      healthTimeoutS: config.get("agent.self_update.health_timeout_s"),
      mode,
      rest:
        mode === "exec"
          ? ledgeArgs()
          : supervisorRestart(config.get("agent.self_update.supervisor_restart"), env),
      requestExit: () => process.kill(process.pid, "SIGTERM"),
      useSystemdRun: Boolean(env.INVOCATION_ID),
      ...overrides.selfUpdate,
    };
    const operations: Operation[] = [
      restartOperation(
        privileged(config.get("agent.restart.command")),
        bootIdFile(config.path("agent.restart.boot_id_file")),
      ),
      softwareListOperation(software),
      softwareUpdateOperation(software),
      configSnapshotOperation(() => types().config),
      configUpdateOperation(() => types().config, {
        // parsed and validated as `ledge run` reads it: a bad one would keep ledge from starting
        [join(config.dir, CONFIG_FILE)]: async (f) =>
          void parseConfigText(await readFile(f, "utf8"), CONFIG_FILE),
        // the drivers' files, checked by their own parsers (every problem with its line)
        ...Object.fromEntries(files.config.flatMap((h) => (h.check ? [[h.path, fileValidator(h)]] : []))),
        ...overrides.validators,
      }),
      logUploadOperation(() => types().log, clock),
      firmwareUpdateOperation(selfUpdate),
    ];
    const workflows = new WorkflowRegistry({
      dir: join(config.dir, "operations"),
      inUseDir: join(stateDir, "workflows-in-use"),
      builtins: builtinWorkflows(),
      log,
      onChange: (ops) => void this.engine.workflowsChanged(ops),
      onError: (e, serving) => this.engine.workflowError(e, serving),
    });
    const defaultTimeout = config.get("agent.operation_timeout_s");
    const overridesList = config.get("agent.timeouts");
    this.engine = new CommandEngine({
      bus,
      root,
      entity: MAIN_DEVICE,
      store: new CommandStore(config.dataDir),
      operations,
      workflows,
      clock,
      log,
      timeoutMs: (op) => timeoutMs(op, defaultTimeout, overridesList),
      stateDir,
      restartAgent: overrides.restartAgent ?? (() => process.kill(process.pid, "SIGTERM")),
    });
    this.view = new EntityView(bus, root);
    this.http = new AgentHttpServer({
      host: config.get("http.bind.address"),
      port: config.get("http.bind.port"),
      files: {
        root: join(config.dataDir, "file-transfer"),
        maxBytes: config.get("agent.file_transfer.max_bytes"),
        log,
      },
      entities: { view: this.view, bus, root },
      log,
    });
    this.monitor = new SystemMonitor({
      bus,
      topic: topicFor(root, MAIN_DEVICE, "m", "system"),
      intervalS: config.get("agent.monitor.interval_s"),
      disks: config.get("agent.monitor.disks"),
      clock,
      log,
    });
  }

  async start(): Promise<void> {
    await this.view.start();
    await this.http.start();
    if (this.ctx.config.get("console.enable")) {
      const { startConsole } = await import("./console/index.ts");
      const { config, bus, clock } = this.ctx;
      const host = config.get("http.bind.address");
      const local = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
      this.console = await startConsole({
        config,
        bus,
        clock,
        log: this.ctx.log.child("console"),
        files: this.consoleFiles,
        transfer: {
          dir: join(config.dataDir, "file-transfer"),
          url: () => `http://${local.includes(":") ? `[${local}]` : local}:${this.http.port}/te/v1/files`,
        },
      });
      this.http.mount("/console/", this.console.handle);
    }
    await this.engine.start();
    await this.monitor.start();
  }

  async stop(): Promise<void> {
    await this.monitor.stop();
    await this.engine.stop();
    await this.console?.stop();
    await this.http.stop();
    await this.view.stop();
  }
}

/** The restart command for supervisor mode: configured, else the running supervisor's own. */
export function supervisorRestart(configured: string[], env: NodeJS.ProcessEnv): string[] {
  if (configured.length) return configured;
  if (env.RC_SVCNAME) return ["rc-service", env.RC_SVCNAME, "restart"];
  if (env.INVOCATION_ID) return ["systemctl", "restart", "ledge"];
  return [];
}

export function createAgentComponent(ctx: Context, files?: AgentFileHooks): Component {
  return new AgentComponent(ctx, {}, files);
}

/** A driver's text validator as config_update's file check: its problems become the failure reason. */
function fileValidator(h: AgentFileHooks["config"][number]): ConfigValidator {
  return async (f) => {
    const problems = h.check?.(await readFile(f, "utf8"), h.path);
    if (problems !== undefined)
      throw new Error(`the new ${h.path} is invalid and was not applied:\n${problems}`);
  };
}
