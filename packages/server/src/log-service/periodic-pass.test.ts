/**
 * The pass timer under fake timers: passes never overlap, the next pass follows the interval
 * measured from the previous start, a pass that reports a backlog is followed after the
 * catch-up pause, a failing pass is reported and the timer goes on, stop() waits for a running pass.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeriodicPass } from './periodic-pass.js';

/** A pass whose completion the test controls. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('PeriodicPass', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs the first pass at start, then every interval from the previous start', async () => {
    const starts: number[] = [];
    const p = new PeriodicPass({
      pass: async () => {
        starts.push(Date.now());
        await new Promise((r) => setTimeout(r, 30));
        return 0;
      },
      intervalMs: 100,
      clock: Date.now,
      onError: () => expect.unreachable(),
    });
    const t0 = Date.now();
    p.start();
    p.start(); // a second start is a no-op
    await vi.advanceTimersByTimeAsync(350);
    await p.stop();
    expect(starts.map((s) => s - t0)).toEqual([0, 100, 200, 300]);
  });

  it('follows a pass that is behind after the catch-up pause', async () => {
    const starts: number[] = [];
    let backlog = 3;
    const p = new PeriodicPass({
      pass: async () => {
        starts.push(Date.now());
        return backlog-- > 0;
      },
      intervalMs: 1000,
      clock: Date.now,
      onError: () => expect.unreachable(),
      catchUp: { delayMs: 5, behind: (b) => b },
    });
    const t0 = Date.now();
    p.start();
    await vi.advanceTimersByTimeAsync(2100);
    await p.stop();
    expect(starts.map((s) => s - t0)).toEqual([0, 5, 10, 15, 1015, 2015]);
  });

  it('never overlaps passes; run() waits for the timer pass', async () => {
    const g = gate();
    const order: string[] = [];
    let n = 0;
    const p = new PeriodicPass({
      pass: async () => {
        const i = n++;
        order.push(`start ${i}`);
        if (i === 0) await g.promise;
        order.push(`end ${i}`);
        return i;
      },
      intervalMs: 100,
      clock: Date.now,
      onError: () => expect.unreachable(),
    });
    p.start();
    await vi.advanceTimersByTimeAsync(0);
    const second = p.run();
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(['start 0']);
    g.open();
    expect(await second).toBe(1);
    expect(order).toEqual(['start 0', 'end 0', 'start 1', 'end 1']);
    await p.stop();
  });

  it('reports a failing timer pass and keeps going; run() rejects to its caller', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const p = new PeriodicPass({
      pass: async () => {
        calls++;
        throw new Error(`pass ${calls}`);
      },
      intervalMs: 100,
      clock: Date.now,
      onError: (e) => errors.push(e),
    });
    p.start();
    await vi.advanceTimersByTimeAsync(150);
    expect(errors.map((e) => (e as Error).message)).toEqual(['pass 1', 'pass 2']);
    await expect(p.run()).rejects.toThrow('pass 3');
    await p.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(3);
  });

  it('stop() waits for the running pass and no pass follows', async () => {
    const g = gate();
    let ended = false;
    let calls = 0;
    const p = new PeriodicPass({
      pass: async () => {
        calls++;
        await g.promise;
        ended = true;
      },
      intervalMs: 10,
      clock: Date.now,
      onError: () => expect.unreachable(),
    });
    p.start();
    await vi.advanceTimersByTimeAsync(0);
    const stopped = p.stop();
    let done = false;
    void stopped.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(false);
    g.open();
    await stopped;
    expect(ended).toBe(true);
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(1);
  });
});
