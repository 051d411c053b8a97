/** The hub: wake-ups reach each listener of a queue once, also while listeners come and go. */
import { describe, expect, it } from 'vitest';
import type { DeviceId, OrgId } from '../ids.js';
import { queueKey, RelayHub } from './relay-hub.js';
import type { DeliveredEnvelope } from './wire.js';

const org = 'org1' as OrgId;
const dev = 'dev1' as DeviceId;

describe('RelayHub', () => {
  it('delivers to every listener of the queue, and to no other queue', () => {
    const hub = new RelayHub();
    const got: string[] = [];
    hub.subscribe(org, dev, (e, c) => got.push(`a:${e}:${c?.length ?? '-'}`));
    hub.subscribe(org, dev, (e) => got.push(`b:${e}`));
    hub.subscribe(org, 'dev2' as DeviceId, (e) => got.push(`other:${e}`));
    hub.deliver(org, dev, [{} as DeliveredEnvelope]);
    hub.wakeKey(queueKey(org, dev), 'prekeys-low');
    expect(got).toEqual(['a:queue:1', 'b:queue', 'a:prekeys-low:-', 'b:prekeys-low']);
  });

  it('a listener leaving during a wake-up does not make another miss it; leaving twice is harmless', () => {
    const hub = new RelayHub();
    const got: string[] = [];
    let leaveA = (): void => undefined;
    // a closes its socket on the wake-up (as on a revocation) and unsubscribes while the hub iterates.
    leaveA = hub.subscribe(org, dev, (e) => {
      got.push(`a:${e}`);
      leaveA();
    });
    const leaveB = hub.subscribe(org, dev, (e) => got.push(`b:${e}`));
    hub.wake(org, dev, 'revoked');
    expect(got).toEqual(['a:revoked', 'b:revoked']);
    expect(hub.hasListeners(org, dev)).toBe(true);
    leaveA();
    leaveB();
    leaveB();
    expect(hub.hasListeners(org, dev)).toBe(false);
    expect(hub.size).toBe(0);
    hub.wake(org, dev);
    expect(got).toHaveLength(2);
  });

  it('keeps a listener subscribed twice once: woken once, gone after one leave', () => {
    const hub = new RelayHub();
    let calls = 0;
    const listener = (): void => void calls++;
    const leave = hub.subscribe(org, dev, listener);
    hub.subscribe(org, dev, listener);
    hub.wake(org, dev);
    expect(calls).toBe(1);
    leave();
    expect(hub.hasListeners(org, dev)).toBe(false);
  });
});
