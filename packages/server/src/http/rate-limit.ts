/**
 * An in-process token bucket per key (an address or a device). Each key holds up to
 * `burst` tokens, refilled at `perSecond`; a request spends one. The map is bounded: past
 * `maxKeys` the least recently used bucket is dropped, which can only ever forgive a client
 * (or, for callers that alert, raise one more alert).
 *
 * Bursts: a refusal says whether it is the first of its burst (`burstStart`). A burst starts
 * with the first refusal after an allowed request and lasts until the bucket has refilled
 * completely (the key stayed quiet for `burst / perSecond` seconds). Callers that raise an
 * alert on refusal (alerts/officer-throttle.ts) do so once per burst, not once per request.
 */

/** Bucket settings. */
export interface RateLimitSettings {
  readonly burst: number;
  readonly perSecond: number;
  readonly maxKeys: number;
}

/** What a `take` decided. */
export type RateDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      readonly retryAfterSeconds: number;
      /** True for the first refusal of a burst (see the file comment). */
      readonly burstStart: boolean;
    };

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** A refusal happened since the bucket was last full: later refusals belong to the same burst. */
  inBurst: boolean;
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
      b = { tokens: this.settings.burst, updatedAt: t, inBurst: false };
    } else {
      this.buckets.delete(key); // re-inserted below: Map order doubles as LRU order
      const refill = (Math.max(0, t - b.updatedAt) / 1000) * this.settings.perSecond;
      b.tokens = Math.min(this.settings.burst, b.tokens + refill);
      b.updatedAt = t;
      if (b.tokens >= this.settings.burst) b.inBurst = false; // quiet long enough: the burst is over
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
    const burstStart = !b.inBurst;
    b.inBurst = true;
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.settings.perSecond)),
      burstStart,
    };
  }

  /** Number of keys held (tests). */
  get size(): number {
    return this.buckets.size;
  }
}
