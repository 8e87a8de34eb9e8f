/**
 * The flight recorders' log file (log type `modbus-recorder`): every port's snapshot, rewritten at
 * each communication alarm, every `flushMs` when frames changed, and at stop. Rewritten whole (the
 * rings are bounded), through a temp file and a rename so log_upload never reads half a file.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import type { Context } from "../../component/component.ts";
import type { Logger } from "../../foundation/logger.ts";
import { type FlightRecorder, snapshotLines } from "./recorder.ts";

export class RecorderLog {
  private timer?: NodeJS.Timeout;
  private written = "";
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly recorders: () => FlightRecorder[],
    private readonly flushMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.flushMs > 0) {
      this.timer = setInterval(() => void this.write(), this.flushMs);
      this.timer.unref?.();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.write();
  }

  /** Writes the snapshots when any recorder changed since the last write. */
  write(): Promise<void> {
    this.writing = this.writing.then(() => this.writeNow());
    return this.writing;
  }

  private async writeNow(): Promise<void> {
    const recs = this.recorders().filter((r) => r.capacity > 0);
    const version = recs.map((r) => `${r.port}@${r.version}`).join(",");
    if (recs.length === 0 || version === this.written) return;
    const text = `${recs.flatMap((r) => snapshotLines(r.snapshot())).join("\n")}\n`;
    try {
      await mkdir(dirname(this.file), { recursive: true });
      await writeFile(`${this.file}.tmp`, text);
      await rename(`${this.file}.tmp`, this.file);
      this.written = version;
    } catch (e) {
      this.log.warn(`cannot write the flight recorder log ${this.file}: ${(e as Error).message}`);
    }
  }
}

/** The flight recorder log: `modbus.recorder.file`, relative paths in the data dir. */
export function recorderFile(ctx: Pick<Context, "config">): string {
  const f = ctx.config.get("modbus.recorder.file");
  return isAbsolute(f) ? f : join(ctx.config.dataDir, f);
}
