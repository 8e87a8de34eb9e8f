/**
 * Rate limit for te/errors: a flood of bad input must not become a flood of error messages.
 * Each source topic has a token bucket (a burst, then one message per `perTopicMs`), and all
 * topics together share one (`globalPerS`); what is held back is counted and the count is carried
 * by the next message that gets through for that topic ("N more suppressed"). Pure: the caller
 * passes the clock.
 */
export interface ErrorLimits {
  /** Messages a topic may send at once. */
  burst: number;
  /** One more message per topic every this many ms. */
  perTopicMs: number;
  /** Messages per second for all topics together (burst the same). */
  globalPerS: number;
  /** Topics remembered at most; beyond it only the global bucket applies. */
  maxTopics: number;
}

export const DEFAULT_ERROR_LIMITS: ErrorLimits = {
  burst: 10,
  perTopicMs: 1000,
  globalPerS: 50,
  maxTopics: 4096,
};

interface Bucket {
  tokens: number;
  at: number;
  suppressed: number;
}

export class ErrorLimiter {
  private readonly topics = new Map<string, Bucket>();
  private readonly global: Bucket;
  /** Held back for topics beyond `maxTopics`, reported with the next message that gets through. */
  private untracked = 0;

  constructor(
    private readonly limits: ErrorLimits = DEFAULT_ERROR_LIMITS,
    now = 0,
  ) {
    this.global = { tokens: limits.globalPerS, at: now, suppressed: 0 };
  }

  /** The text to publish (with a count of what was held back), or undefined when suppressed. */
  admit(source: string, text: string, now: number): string | undefined {
    const l = this.limits;
    refill(this.global, now, 1000 / l.globalPerS, l.globalPerS);
    let bucket = this.topics.get(source);
    if (bucket) refill(bucket, now, l.perTopicMs, l.burst);
    else {
      if (this.topics.size >= l.maxTopics) this.prune(now);
      if (this.topics.size < l.maxTopics) {
        bucket = { tokens: l.burst, at: now, suppressed: 0 };
        this.topics.set(source, bucket);
      }
    }
    if (this.global.tokens < 1 || (bucket && bucket.tokens < 1)) {
      if (bucket) bucket.suppressed++;
      else this.untracked++;
      return undefined;
    }
    this.global.tokens--;
    const notes: string[] = [];
    if (bucket) {
      bucket.tokens--;
      if (bucket.suppressed) notes.push(`${bucket.suppressed} more on this topic suppressed`);
      bucket.suppressed = 0;
    }
    if (this.untracked) notes.push(`${this.untracked} more on other topics suppressed`);
    this.untracked = 0;
    return notes.length ? `${text} (${notes.join("; ")})` : text;
  }

  /** Topics whose bucket is full again and nothing pending carry no information: forget them. */
  private prune(now: number): void {
    const l = this.limits;
    for (const [t, b] of this.topics) {
      refill(b, now, l.perTopicMs, l.burst);
      if (b.tokens >= l.burst && b.suppressed === 0) this.topics.delete(t);
    }
  }
}

function refill(b: Bucket, now: number, everyMs: number, max: number): void {
  if (now <= b.at) return;
  b.tokens = Math.min(max, b.tokens + (now - b.at) / everyMs);
  b.at = now;
}
