/**
 * Headless Chromium (Debian's `chromium`) driven by playwright-core, for the console's page tests.
 * The flags keep Chromium off the network (this machine has none; it would retry for ever).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = process.env.LEDGE_TEST_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(import.meta.dirname, "..", "..", "dist", "screenshots");

export function browserMissing(): string | false {
  return existsSync(CHROMIUM)
    ? false
    : `${CHROMIUM} not installed (scripts/test-deps.sh installs Debian's chromium)`;
}

export async function launch(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
