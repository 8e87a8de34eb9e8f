import { findExecutable } from "../foundation/which.ts";

/**
 * thin-edge's `sudo.enable`: when ledge runs as an unprivileged user (the packages' `ledge` user),
 * the commands that need root — software plugins and the restart command — go through
 * `sudo -n` (never prompting: a missing sudoers rule fails the command with sudo's message). Without
 * sudo on the PATH, or with the key off, commands run as ledge's own user.
 */
export function sudoWrapper(
  enable: boolean,
  env: NodeJS.ProcessEnv = process.env,
): (argv: string[]) => string[] {
  const sudo = enable ? findExecutable("sudo", env) : undefined;
  return sudo ? (argv) => [sudo, "-n", "--", ...argv] : (argv) => argv;
}
