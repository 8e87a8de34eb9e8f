import { launcherFor, startupMs } from "./footprint-measure.ts";
const bin = process.argv[2] as string;
const runs = Number(process.argv[3] ?? 7);
console.log(bin, Math.round(await startupMs(launcherFor(bin), runs)), "ms");
process.exit(0);
