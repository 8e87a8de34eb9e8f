import { closeSync, fdatasyncSync, ftruncateSync, openSync, writevSync } from "node:fs";
import type { Segment } from "./segment.ts";

/**
 * When data reaches the disk:
 * - `always`: every append is fdatasync'ed before `append` returns, and every commit is fsync'ed.
 *   Survives power loss; costs one disk flush per message.
 * - `interval` (default): appends are written to the OS at once (so they survive `kill -9` and any
 *   crash of ledge) and flushed to the disk every `fsyncIntervalMs`; a power loss can lose at most
 *   that window.
 * - `never`: written to the OS at once, flushed when the OS decides (and on clean shutdown).
 */
export type FsyncPolicy = "always" | "interval" | "never";

/** The append descriptor of the segment being written, and when what it wrote is flushed. */
export class SegmentWriter {
  private fd = -1;
  /** Written and not flushed yet (`interval`, `never`). */
  private dirty = false;

  constructor(private readonly fsync: FsyncPolicy) {}

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  open(seg: Segment): void {
    this.close();
    this.fd = openSync(seg.path, "a");
  }

  /**
   * Appends one record (head then payload, no copy) at the end of `seg`, flushed at once with
   * `always`. A failed write leaves no half record behind: later appends would sit after garbage.
   */
  write(seg: Segment, head: Buffer, payload: Uint8Array, size: number): void {
    try {
      let done = writevSync(this.fd, [head, payload]);
      while (done < size) {
        const rest =
          done < head.byteLength
            ? Buffer.concat([head.subarray(done), payload])
            : payload.subarray(done - head.byteLength);
        done += writevSync(this.fd, [rest]);
      }
    } catch (e) {
      try {
        ftruncateSync(this.fd, seg.size);
      } catch {}
      throw e;
    }
    if (this.fsync === "always") fdatasyncSync(this.fd);
    else this.dirty = true;
  }

  /** Flushes what was written, whatever the policy (shutdown). */
  flush(): void {
    if (this.fd >= 0) fdatasyncSync(this.fd);
    this.dirty = false;
  }

  /** The periodic flush of the `interval` policy. */
  tick(): void {
    if (this.dirty && this.fsync === "interval" && this.fd >= 0) this.flush();
  }

  /** Closes the descriptor, flushed first unless the policy is `never` (or `sync` says not). */
  close(sync = this.fsync !== "never"): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      if (sync) fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
