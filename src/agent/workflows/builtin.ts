// biome-ignore-all lint/suspicious/noTemplateCurlyInString: thin-edge templates are `${…}` inside plain strings
/**
 * The workflows ledge serves when the user has no file for an operation: each built-in operation
 * (restart, software, config, log, firmware) runs its implementation as `builtin:<op>`, so a user
 * file `<op>.toml` can wrap or replace it; `device_profile` is thin-edge's shipped workflow.
 */
import type { Handlers, StateDef, Target, Workflow } from "./definition.ts";

const h = (x: Partial<Handlers> = {}): Handlers => ({ onExit: [], onStdout: [], ...x });
const to = (status: string, reason?: string): Target => (reason ? { status, reason } : { status });

function workflow(operation: string, states: StateDef[]): Workflow {
  const all: Record<string, StateDef> = {};
  for (const s of states) all[s.name] = s;
  for (const s of ["successful", "failed"])
    all[s] ??= { name: s, action: { kind: "cleanup" }, handlers: h() };
  return { operation, version: "builtin", source: "builtin", states: all };
}

/**
 * `init` → `executing` (the implementation runs) → `successful` | `failed`: the states ledge
 * always published, thin-edge's builtin workflow without its `scheduled` step.
 */
export function builtinWorkflow(op: string): Workflow {
  return workflow(op, [
    {
      name: "init",
      action: { kind: "operation", operation: `builtin:${op}`, inline: false },
      handlers: h({ onExec: to("executing") }),
    },
    {
      name: "executing",
      action: { kind: "await-operation" },
      handlers: h({ onSuccess: to("successful"), onError: to("failed") }),
    },
  ]);
}

/** The operations ledge implements itself, each overridable by a workflow file. */
export const BUILTIN_OPERATIONS = [
  "restart",
  "software_list",
  "software_update",
  "config_snapshot",
  "config_update",
  "log_upload",
  "firmware_update",
] as const;

/** Every workflow ledge serves without files. */
export function builtinWorkflows(): Workflow[] {
  return [...BUILTIN_OPERATIONS.map(builtinWorkflow), deviceProfileWorkflow()];
}

/**
 * `device_profile`: firmware, then software, then configuration steps as sub-commands (the
 * mapper orders them), the profile published as twin data on success, the failing step named
 * on failure.
 */
export function deviceProfileWorkflow(): Workflow {
  return workflow("device_profile", [
    { name: "init", action: { kind: "proceed" }, handlers: h({ onSuccess: to("scheduled") }) },
    { name: "scheduled", action: { kind: "proceed" }, handlers: h({ onSuccess: to("executing") }) },
    { name: "executing", action: { kind: "proceed" }, handlers: h({ onSuccess: to("next_operation") }) },
    {
      name: "next_operation",
      action: { kind: "iterate", over: "${.payload.operations}" },
      handlers: h({ onNext: to("apply_operation"), onSuccess: to("twin_update"), onError: to("rollback") }),
    },
    {
      name: "apply_operation",
      action: {
        kind: "operation",
        operation: "${.payload.@next.item.operation}",
        input: "${.payload.@next.item.payload}",
        inline: false,
      },
      handlers: h({ onExec: to("awaiting_operation") }),
    },
    {
      name: "awaiting_operation",
      action: { kind: "await-operation" },
      handlers: h({ onSuccess: to("next_operation"), onError: to("rollback") }),
    },
    {
      name: "twin_update",
      action: {
        kind: "publish",
        topic: "${.topic.root_prefix}/${.topic.target}/twin/device_profile",
        payload: { name: "${.payload.name}", version: "${.payload.version}" },
      },
      handlers: h({ onSuccess: to("successful") }),
    },
    {
      name: "rollback",
      action: { kind: "proceed" },
      handlers: h({
        onSuccess: to(
          "failed",
          "Device profile application failed at step ${.payload.@next.index} (${.payload.@next.item.operation}): ${.payload.reason}",
        ),
      }),
    },
  ]);
}
