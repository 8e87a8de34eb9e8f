import { linuxArm64 } from "./linux-arm64.ts";
import { linuxArmv7 } from "./linux-armv7.ts";
import { linuxX64 } from "./linux-x64.ts";
import { linuxX64Baseline } from "./linux-x64-baseline.ts";
import type { Target } from "./types.ts";

export type { BunTarget, Emulation, NodeSeaTarget, NpmRuntime, Target } from "./types.ts";

/** Every target, in build order; `npm run build` alone builds those not marked optional. */
export const TARGETS: readonly Target[] = [linuxX64, linuxArm64, linuxArmv7, linuxX64Baseline];

/** What a plain `npm run build` produces. */
export const DEFAULT_TARGETS: readonly Target[] = TARGETS.filter((t) => !t.optional);

export function targetByName(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}

/** The executable `npm run build` writes for a target, relative to the repository root. */
export function outputPath(target: Target): string {
  return `dist/ledge-${target.name}`;
}
