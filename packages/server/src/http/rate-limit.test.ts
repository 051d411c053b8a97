import { describe, expect, it } from 'vitest';
import { LRU_REFRESH_MS, RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows a burst, refuses the next, refills with time', () => {
    let t = 0;
    const rl = new RateLimiter({ burst: 3, perSecond: 1, maxKeys: 10 }, () => t);
    expect([1, 2, 3].map(() => rl.take('a').allowed)).toEqual([true, true, true]);
    expect(rl.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1, burstStart: true });
    expect(rl.take('b').allowed).toBe(true);
    t = 1000;
    expect(rl.take('a').allowed).toBe(true);
    expect(rl.take('a').allowed).toBe(false);
    t = 1_000_000;
    expect([1, 2, 3, 4].map(() => rl.take('a').allowed)).toEqual([true, true, true, false]);
  });

  it('holds at most maxKeys buckets', () => {
    const rl = new RateLimiter({ burst: 1, perSecond: 1, maxKeys: 2 }, () => 0);
    rl.take('a');
    rl.take('b');
    rl.take('c');
    expect(rl.size).toBe(2);
  });

  it('drops the least recently used bucket, its use known to within LRU_REFRESH_MS', () => {
    let t = 0;
    // One token that never refills: a key's bucket still held refuses it, a new one allows it.
    const rl = new RateLimiter({ burst: 1, perSecond: 1e-9, maxKeys: 2 }, () => t);
    expect([rl.take('a'), rl.take('b')].map((d) => d.allowed)).toEqual([true, true]);
    // Used again within LRU_REFRESH_MS of its insertion: 'a' keeps its place, and goes first.
    t = LRU_REFRESH_MS - 1;
    expect(rl.take('a').allowed).toBe(false);
    expect(rl.take('c').allowed).toBe(true); // drops 'a'
    expect(rl.take('b').allowed).toBe(false);
    expect(rl.take('a').allowed).toBe(true); // a new bucket; drops 'b'
    // Used again later than that: 'c' moves to the end, so 'a' goes first.
    t += LRU_REFRESH_MS;
    expect(rl.take('c').allowed).toBe(false);
    expect(rl.take('d').allowed).toBe(true); // drops 'a'
    expect(rl.take('c').allowed).toBe(false);
    expect(rl.take('a').allowed).toBe(true);
  });

  it('marks only the first refusal of a burst; a burst ends when the bucket is full again', () => {
    let t = 0;
    const rl = new RateLimiter({ burst: 2, perSecond: 1, maxKeys: 10 }, () => t);
    const starts = (n: number): boolean[] =>
      Array.from({ length: n }, () => {
        const d = rl.take('a');
        return !d.allowed && d.burstStart;
      });
    // 2 allowed, then 498 refusals: exactly one starts the burst.
    expect(starts(500).filter(Boolean)).toHaveLength(1);
    // One second refills one token (not full): still the same burst.
    t = 1000;
    expect(rl.take('a').allowed).toBe(true);
    expect(starts(10).filter(Boolean)).toHaveLength(0);
    // Quiet for burst / perSecond seconds: full again, so the next refusal starts a new burst.
    t = 3000;
    expect(starts(3)).toEqual([false, false, true]);
    // Keys are independent.
    expect([rl.take('b'), rl.take('b'), rl.take('b')].map((d) => !d.allowed && d.burstStart)).toEqual([
      false,
      false,
      true,
    ]);
  });
});
