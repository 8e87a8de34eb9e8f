import { closeSync, fdatasyncSync, ftruncateSync, openSync, writevSync } from "node:fs";
import { syncDir } from "../../foundation/files.ts";
import { type Segment, segmentPath } from "./segment.ts";

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

/**
 * The append side of the disk queue: which segment the next record goes to (a new one once the
 * last is full), its append descriptor, and when what it wrote is flushed.
 */
export class SegmentWriter {
  private fd = -1;
  /** Written and not flushed yet (`interval`, `never`). */
  private dirty = false;

  constructor(
    private readonly dir: string,
    private readonly fsync: FsyncPolicy,
    readonly segmentBytes: number,
  ) {}

  /** The segment a record of `size` bytes goes to: the last while it has room, else a new one at `nextSeq`. */
  segmentFor(segments: Segment[], size: number, nextSeq: number): Segment {
    const last = segments.at(-1)!;
    if (this.isOpen && last.size + size <= this.segmentBytes) return last;
    if (!this.isOpen && last.size < this.segmentBytes) {
      this.open(last);
      return last;
    }
    if (last.size === 0) return last;
    return this.startSegment(segments, nextSeq);
  }

  /** Closes the current segment and starts a new one at `base`, after the last of `segments`. */
  startSegment(segments: Segment[], base: number): Segment {
    this.close();
    const seg: Segment = { base, path: segmentPath(this.dir, base), size: 0, end: base, holes: [] };
    this.open(seg);
    if (this.fsync === "always") syncDir(this.dir);
    segments.push(seg);
    return seg;
  }

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
