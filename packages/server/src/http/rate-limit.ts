/**
 * An in-process token bucket per key (an address or a device). Each key holds up to
 * `burst` tokens, refilled at `perSecond`; a request spends one. The map is bounded: past
 * `maxKeys` the least recently used bucket is dropped, which can only ever forgive a client.
 */

/** Bucket settings. */
export interface RateLimitSettings {
  readonly burst: number;
  readonly perSecond: number;
  readonly maxKeys: number;
}

/** What a `take` decided. */
export type RateDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Token buckets keyed by string. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly now: () => number,
  ) {}

  /** Spends one token for `key` if one is available. */
  take(key: string): RateDecision {
    const t = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.settings.burst, updatedAt: t };
    } else {
      this.buckets.delete(key); // re-inserted below: Map order doubles as LRU order
      const refill = (Math.max(0, t - b.updatedAt) / 1000) * this.settings.perSecond;
      b.tokens = Math.min(this.settings.burst, b.tokens + refill);
      b.updatedAt = t;
    }
    this.buckets.set(key, b);
    if (this.buckets.size > this.settings.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true };
    }
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.settings.perSecond)),
    };
  }

  /** Number of keys held (tests). */
  get size(): number {
    return this.buckets.size;
  }
}
