/**
 * An in-process token bucket per key (an address or a device). Each key holds up to
 * `burst` tokens, refilled at `perSecond`; a request spends one. The map is bounded: past
 * `maxKeys` the least recently used bucket is dropped, which can only ever forgive a client
 * (or, for callers that alert, raise one more alert). "Recently" is to within
 * LRU_REFRESH_MS: a bucket is moved to the map's end at most that often, since moving it on
 * every request (delete and set) makes the map rebuild its table every few requests, garbage
 * the relay made on every frame of every socket.
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

/** A bucket's place in the map's (LRU) order is refreshed at most this often. */
export const LRU_REFRESH_MS = 1000;

/** The decision for every allowed request (one object, not one per request). */
const ALLOWED: RateDecision = Object.freeze({ allowed: true });

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** When the bucket last moved to the map's end. */
  movedAt: number;
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
      b = { tokens: this.settings.burst, updatedAt: t, movedAt: t, inBurst: false };
      this.buckets.set(key, b);
      if (this.buckets.size > this.settings.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (oldest.done !== true) this.buckets.delete(oldest.value);
      }
    } else {
      if (t - b.movedAt >= LRU_REFRESH_MS) {
        // Map order doubles as LRU order.
        this.buckets.delete(key);
        this.buckets.set(key, b);
        b.movedAt = t;
      }
      const refill = (Math.max(0, t - b.updatedAt) / 1000) * this.settings.perSecond;
      b.tokens = Math.min(this.settings.burst, b.tokens + refill);
      b.updatedAt = t;
      if (b.tokens >= this.settings.burst) b.inBurst = false; // quiet long enough: the burst is over
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return ALLOWED;
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
