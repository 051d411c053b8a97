import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows a burst, refuses the next, refills with time', () => {
    let t = 0;
    const rl = new RateLimiter({ burst: 3, perSecond: 1, maxKeys: 10 }, () => t);
    expect([1, 2, 3].map(() => rl.take('a').allowed)).toEqual([true, true, true]);
    expect(rl.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
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
});
