import { bool, int, list, str } from "../define.ts";

const typeList = (v: string[]) =>
  v.find((e) => !/^[^=\s]+=.+$/.test(e)) === undefined ? undefined : "entries must look like type=path";

export const agentKeys = {
  "console.enable": bool(
    "Serve the local web console at http://<http.bind.address>:<http.bind.port>/console/ (loaded only when on).",
    false,
  ),
  "console.token": str(
    "Login token for the console; required (16+ characters) when http.bind.address is not loopback.",
    "",
    { secret: true },
  ),
  "console.history_s": int(
    "Seconds of measurement history the console keeps per series (in memory).",
    600,
    10,
    86_400,
  ),
  "sudo.enable": bool(
    "Run software plugins and the restart command through `sudo -n` (for ledge running as an unprivileged user; the packages turn it on and ship the sudoers rule). thin-edge's default is true; ledge's is false, as `ledge init --service` runs as root.",
    false,
  ),
  "agent.restart.command": list("Command the `restart` operation runs (argv).", ["reboot"]),
  "agent.restart.boot_id_file": str(
    "File whose content is new at every boot (the kernel's boot id); `restart` succeeds only when it changed across the restart. Relative to the config dir.",
    "/proc/sys/kernel/random/boot_id",
  ),
  "agent.sm_plugins_dir": str(
    "Directory of software management plugins (thin-edge sm-plugin protocol); relative to the config dir.",
    "sm-plugins",
  ),
  "agent.config_types": {
    ...list(
      'Config types for config_snapshot/config_update, as "type=path" (also [[config]] in agent.toml).',
    ),
    check: typeList,
  },
  "agent.log_types": {
    ...list(
      'Log types for log_upload, as "type=path" (path may end in a * glob; also [[log]] in agent.toml).',
    ),
    check: typeList,
  },
  "agent.operation_timeout_s": int("Default time limit of one operation, in seconds.", 3600, 1, 604800),
  "agent.timeouts": {
    ...list('Per-operation time limits, as "operation=seconds" (e.g. "software_update=7200").'),
    check: (v: string[]) =>
      v.find((e) => !/^[a-z_]+=\d+$/.test(e)) === undefined ? undefined : "entries must look like op=seconds",
  },
  "agent.file_transfer.max_bytes": int(
    "Largest file accepted by PUT /te/v1/files.",
    256 * 1024 * 1024,
    1,
    Number.MAX_SAFE_INTEGER,
  ),
  "agent.self_update.target": str("Binary that firmware_update replaces; empty: the running executable.", ""),
  "agent.self_update.health_timeout_s": int(
    "Seconds the new binary has to come up healthy after a self-update before it is rolled back.",
    90,
    1,
    3600,
  ),
  "agent.self_update.restart": str(
    "How the new binary is started: `exec` (a watcher process starts it), `supervisor` (systemd/OpenRC restarts ledge), `auto` (supervisor under systemd).",
    "auto",
    { choices: ["auto", "exec", "supervisor"] },
  ),
  "agent.self_update.supervisor_restart": list(
    "Command the rollback watcher runs in supervisor mode to restart ledge on the restored binary; empty: `systemctl restart ledge` under systemd, `rc-service <svc> restart` under OpenRC.",
  ),
  "agent.monitor.interval_s": int(
    "Seconds between system measurements (te/device/main///m/system); 0 turns monitoring off.",
    60,
    0,
    86400,
  ),
  "agent.monitor.disks": list("Mount points whose usage the system monitor reports.", ["/"]),
} as const;
