import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { UsageError } from "../context.ts";

async function readInput(file: string): Promise<Uint8Array> {
  if (file !== "-") {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** JSON for records: numbers JSON cannot carry are written as strings. */
function recordJson(r: object): string {
  return JSON.stringify(r, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}

export function registerBatch(program: Command): void {
  const batch = program.command("batch").description("telemetry batching: inspect CBOR batch frames");
  batch
    .command("decode")
    .description(
      "print the CBOR frames in FILE (or stdin) as Thin Edge JSON, one `<topic> <payload>` line per message",
    )
    .argument("[file]", "a frame, or several back to back (a CBOR sequence); - for stdin", "-")
    .option("--records", "print one JSON object per record (entity, type, series, value, tsMs) instead")
    .option("--root <root>", "topic root of the printed topics", "te")
    .action(async (file: string, opts: { records?: boolean; root: string }) => {
      const bytes = await readInput(file);
      if (bytes.length === 0) throw new UsageError(`${file === "-" ? "stdin" : file} is empty`);
      const { decodeFrames, toThinEdgeMessages } = await import("../../batch/index.ts");
      const frames = decodeFrames(bytes);
      const lines: string[] = [];
      for (const records of frames) {
        if (opts.records) for (const r of records) lines.push(recordJson(r));
        else for (const m of toThinEdgeMessages(records, opts.root)) lines.push(`${m.topic} ${m.payload}`);
      }
      process.stdout.write(lines.length ? `${lines.join("\n")}\n` : "");
    });
}
