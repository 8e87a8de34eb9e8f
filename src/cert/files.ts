import { chmodSync, existsSync, unlinkSync } from "node:fs";
import { writeFileAtomic } from "../foundation/files.ts";

/** Key files are private to the owner; certificates are public. */
export const KEY_MODE = 0o600;
export const CERT_MODE = 0o644;

export function writeKeyFile(path: string, pem: string): void {
  writeFileAtomic(path, pem, KEY_MODE);
  chmodSync(path, KEY_MODE); // umask or an older file must not widen it
}

export function writeCertFile(path: string, pem: string): void {
  writeFileAtomic(path, pem, CERT_MODE);
  chmodSync(path, CERT_MODE);
}

/** Removes the files that exist; returns those removed. */
export function removeFiles(paths: string[]): string[] {
  const gone: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) continue;
    unlinkSync(p);
    gone.push(p);
  }
  return gone;
}
