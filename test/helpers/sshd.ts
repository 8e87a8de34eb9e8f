import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { canConnect, freePort, waitFor } from "./ports.ts";

/** Debian's OpenSSH server on a free loopback port, with its own host key and one authorized key. */
export interface Sshd {
  port: number;
  /** The client's private key. */
  key: string;
  /** `ssh` argv (without destination) that trusts nothing from the user's own ssh config. */
  sshArgs(port: number): string[];
  /** Connections sshd is serving now (its per-connection children). */
  connections(): number;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), "ledge-sshd-"));
  const key = join(dir, "id_ed25519");
  const hostKey = join(dir, "host_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(`${key}.pub`));
  const port = await freePort();
  const cfg = join(dir, "sshd_config");
  writeFileSync(
    cfg,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "",
    ].join("\n"),
  );
  // sshd insists on its privilege separation directory.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const proc: ChildProcess = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", cfg], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  proc.stderr?.on("data", (d) => {
    err += d;
  });
  await waitFor(
    `sshd on ${port} (${err})`,
    () => (proc.exitCode === null ? canConnect(port) : Promise.reject(new Error(err))),
    10_000,
  );
  return {
    port,
    key,
    sshArgs: (p) => [
      "-F",
      "/dev/null",
      "-i",
      key,
      "-p",
      String(p),
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      process.env.SSH_DEBUG ? "LogLevel=DEBUG" : "LogLevel=ERROR",
      `${userInfo().username}@127.0.0.1`,
    ],
    connections: () => {
      try {
        const c = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim();
        return c ? c.split(/\s+/).length : 0;
      } catch {
        return 0;
      }
    },
    stop: async () => {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        await new Promise((r) => proc.once("exit", r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
