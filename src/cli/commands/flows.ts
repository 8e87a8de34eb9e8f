/**
 * `ledge flows`: thin-edge's `tedge flows` (TEDGE-FACTS §10.6): list the flows, test a flow or a
 * step over messages without MQTT, print the flows dir; plus `plugin`, the sm-plugin verbs the
 * `flow` software plugin hands over, and `install-plugin`, which writes that plugin.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { Config } from "../../config/store.ts";
import { configOf, UsageError } from "../context.ts";

interface DirOptions {
  mapper: string;
  profile?: string;
  flowsDir?: string;
}

const mapperOption = (c: Command) =>
  c
    .option("--mapper <name>", "the mapper whose flows (local, c8y, az, aws, ...)", "local")
    .option("--profile <name>", "cloud profile: the flows of mapper <name>.<profile>")
    .option("--flows-dir <dir>", "a flows dir instead of the mapper's");

const mapperName = (o: DirOptions) => (o.profile ? `${o.mapper}.${o.profile}` : o.mapper);

async function flowsDir(config: Config, o: DirOptions): Promise<string> {
  if (o.flowsDir) return o.flowsDir;
  const { flowsDirOf } = await import("../../flows/discover.ts");
  return flowsDirOf(config.dir, mapperName(o));
}

const limitsOf = (config: Config) => ({
  timeoutMs: config.get("flows.step_timeout_ms"),
  memoryBytes: config.get("flows.memory_limit_mb") * 1024 * 1024,
});

interface TestCliOptions extends DirOptions {
  flow?: string;
  context?: string;
  finalOnInterval?: boolean;
  processingTime?: string;
  base64Input?: boolean;
  base64Output?: boolean;
}

function contextOf(arg: string | undefined): Record<string, unknown> | undefined {
  if (arg === undefined) return undefined;
  let textArg = arg;
  if (!arg.trimStart().startsWith("{")) {
    try {
      textArg = readFileSync(arg, "utf8");
    } catch (e) {
      throw new UsageError(`--context: neither JSON nor a readable file: ${(e as Error).message}`);
    }
  }
  try {
    const v: unknown = JSON.parse(textArg);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  throw new UsageError("--context must be a JSON object (or a file holding one)");
}

export function registerFlows(program: Command): void {
  const flows = program
    .command("flows")
    .description("local processing: list and test flows (thin-edge flows)");

  mapperOption(flows.command("list").description("list the flows of a mapper, with their inputs and steps"))
    .option("--topic <topic>", "only the flows that read this topic")
    .action(async (o: DirOptions & { topic?: string }, cmd: Command) => {
      const config = configOf(cmd);
      const dir = await flowsDir(config, o);
      const [{ findFlowFiles }, { loadFlow }, { loadMapperToml }, { matches }] = await Promise.all([
        import("../../flows/discover.ts"),
        import("../../flows/config.ts"),
        import("../../flows/params.ts"),
        import("../../bus/topic-filter.ts"),
      ]);
      const { dirname } = await import("node:path");
      let bad = 0;
      for (const file of findFlowFiles(dir)) {
        try {
          const f = loadFlow(dir, file, loadMapperToml(dirname(dir)));
          const topics = f.inputs.flatMap((i) => (i.kind === "mqtt" ? i.topics : [`${i.kind}:${i.topic}`]));
          if (o.topic && !topics.some((t) => matches(t, o.topic as string))) continue;
          const steps = f.steps.map((s) => ("builtin" in s.source ? s.source.builtin : s.source.script));
          process.stdout.write(
            `${f.name}\t${file}\n\tinput: ${topics.join(", ")}\n\tsteps: ${steps.join(" -> ")}\n`,
          );
        } catch (e) {
          bad++;
          process.stderr.write(`${(e as Error).message}\n`);
        }
      }
      if (bad) process.exitCode = 1;
    });

  mapperOption(
    flows
      .command("test")
      .description(
        "run flows (or one flow or step) over a message, or over '[topic] payload' lines from stdin; print what would be published",
      )
      .argument("[topic]", "the message topic (without it, lines are read from stdin)")
      .argument("[payload]", "the message payload", ""),
  )
    .option("--flow <file>", "a flow file (.toml) or a step script (.js, .mjs, .ts) to run alone")
    .option("--context <json|file>", "initial context.mapper entries, as a JSON object")
    .option("--final-on-interval", "after the input, call onInterval of every step once")
    .option("--processing-time <time>", "the time of the messages and intervals (RFC 3339; default now)")
    .option("--base64-input", "payloads given are base64")
    .option("--base64-output", "payloads printed are base64")
    .action(async (topic: string | undefined, payload: string, o: TestCliOptions, cmd: Command) => {
      const config = configOf(cmd);
      const time = o.processingTime === undefined ? new Date() : new Date(o.processingTime);
      if (Number.isNaN(time.getTime()))
        throw new UsageError(`--processing-time: '${o.processingTime}' is not a time`);
      const [{ FlowTester }, { isC8yMapper }] = await Promise.all([
        import("../../flows/tester.ts"),
        import("../../flows/flow-set.ts"),
      ]);
      const mainId = config.get("device.id");
      const c8y = isC8yMapper(mapperName(o));
      if (c8y && !mainId)
        process.stderr.write("device.id is not set: no registration data in context.mapper\n");
      let tester: Awaited<ReturnType<typeof FlowTester.open>>;
      try {
        tester = await FlowTester.open({
          flowsDir: await flowsDir(config, o),
          flow: o.flow,
          context: contextOf(o.context),
          c8y: c8y && mainId ? { mainId, root: config.get("mqtt.topic_root") } : undefined,
          finalOnInterval: !!o.finalOnInterval,
          time,
          base64Input: !!o.base64Input,
          base64Output: !!o.base64Output,
          limits: limitsOf(config),
          log: (line) => process.stderr.write(`${line}\n`),
        });
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const print = (lines: string[]) => {
        for (const l of lines) process.stdout.write(`${l}\n`);
      };
      try {
        print(tester.startup());
        const run = (line: string) => {
          try {
            print(tester.message(line));
          } catch (e) {
            throw new UsageError((e as Error).message);
          }
        };
        if (topic !== undefined) run(`[${topic}] ${payload}`);
        else {
          const { createInterface } = await import("node:readline");
          for await (const line of createInterface({ input: process.stdin })) if (line.trim()) run(line);
        }
        if (o.finalOnInterval) print(tester.final());
      } finally {
        tester.close();
      }
    });

  flows
    .command("config-dir")
    .description("print the flows dir of a mapper")
    .option("--mapper <name>", "the mapper", "local")
    .option("--profile <name>", "cloud profile")
    .action(async (o: DirOptions, cmd: Command) => {
      process.stdout.write(`${await flowsDir(configOf(cmd), o)}\n`);
    });

  flows
    .command("plugin")
    .description("the sm-plugin protocol for software type 'flow' (what <sm_plugins_dir>/flow runs)")
    .argument("<verb>", "list | prepare | install | remove | finalize")
    .argument("[name]", "module name <mapper>/<flow>")
    .option("--module-version <v>", "module version (unused: the archive is the version)")
    .option("--file <file>", "the downloaded .tar.gz")
    .action(async (verb: string, name: string | undefined, o: { file?: string }, cmd: Command) => {
      const config = configOf(cmd);
      const p = await import("../../flows/plugin.ts");
      try {
        if (verb === "list") process.stdout.write(p.listModules(config.dir));
        else if (verb === "prepare" || verb === "finalize") return;
        else if (verb === "install" || verb === "remove") {
          if (!name) throw new Error(`${verb} needs a module name`);
          if (verb === "install") p.installModule(config.dir, name, o.file);
          else p.removeModule(config.dir, name);
        } else throw new Error(`unknown verb '${verb}'`);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    });

  flows
    .command("install-plugin")
    .description("write the 'flow' software plugin into agent.sm_plugins_dir (ledge init does this too)")
    .action(async (_o: unknown, cmd: Command) => {
      process.stdout.write(`plugin: ${await installFlowPlugin(configOf(cmd))}\n`);
    });
}

/** Writes `<agent.sm_plugins_dir>/flow`, which runs this ledge's `flows plugin`. */
export async function installFlowPlugin(config: Config, command?: string[]): Promise<string> {
  const [{ mkdir, writeFile, chmod }, { join }, { flowPluginScript, FLOW_PLUGIN_NAME }, { ledgeCommand }] =
    await Promise.all([
      import("node:fs/promises"),
      import("node:path"),
      import("../../flows/plugin.ts"),
      import("../../agent/self-update/binary.ts"),
    ]);
  const dir = config.path("agent.sm_plugins_dir");
  await mkdir(dir, { recursive: true });
  const path = join(dir, FLOW_PLUGIN_NAME);
  await writeFile(path, flowPluginScript(command ?? ledgeCommand(), config.dir), { mode: 0o755 });
  await chmod(path, 0o755);
  return path;
}
