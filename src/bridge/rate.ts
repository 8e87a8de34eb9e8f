/**
 * Token bucket for the backlog drain rate. The burst is a tenth of a second's worth, so a backlog
 * leaves at a steady pace instead of in one-second lumps. Live traffic is never held back: each
 * message arriving while the link is up credits one token (`credit`), so the link sends what
 * arrives plus `perSecond` of backlog, and a backlog shrinks while publishing goes on.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly burst: number;

  constructor(
    private readonly perSecond: number,
    private readonly clock: () => number,
    /** Most credited tokens kept (arrivals not yet sent): bounds a burst after credits pile up. */
    private readonly creditCap = 10_000,
  ) {
    this.burst = Math.max(1, perSecond / 10);
    this.tokens = this.burst;
    this.last = clock();
  }

  /** Takes one token; returns 0 when granted, else the milliseconds until one is available. */
  take(): number {
    if (this.perSecond <= 0) return 0;
    const now = this.clock();
    // Refill up to the burst; credits above it are kept.
    if (this.tokens < this.burst)
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.perSecond));
  }

  /** Gives back a token taken for nothing (the queue was empty). */
  refund(): void {
    if (this.perSecond > 0) this.tokens = Math.min(this.burst + this.creditCap, this.tokens + 1);
  }

  /** One live arrival: it may go out at once, on top of the drain rate. */
  credit(): void {
    if (this.perSecond > 0) this.tokens = Math.min(this.burst + this.creditCap, this.tokens + 1);
  }
}
