/** The fan-out rule: exactly the recipient's current devices, never the sender itself. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeviceId } from '../ids.js';
import { addressesExactly, checkAddressing, isExact } from './addressing.js';

const d = (id: string, revokedAt: number | null = null) => ({ deviceId: id as DeviceId, revokedAt });

describe('checkAddressing', () => {
  it('accepts exactly the current devices', () => {
    const m = checkAddressing([d('a'), d('b'), d('c', 5)], ['b', 'a'] as DeviceId[], null);
    expect(m).toEqual({ missing: [], stale: [] });
    expect(isExact(m)).toBe(true);
  });

  it('lists missing current devices and stale (revoked, unknown) ones', () => {
    const m = checkAddressing([d('a'), d('b'), d('c', 5)], ['a', 'c', 'x'] as DeviceId[], null);
    expect(m).toEqual({ missing: ['b'], stale: ['c', 'x'] });
  });

  it('for sync copies, requires the other devices and refuses the sending device', () => {
    expect(checkAddressing([d('me'), d('tab')], ['me'] as DeviceId[], 'me' as DeviceId)).toEqual({
      missing: ['tab'],
      stale: ['me'],
    });
    expect(isExact(checkAddressing([d('me'), d('tab')], ['tab'] as DeviceId[], 'me' as DeviceId))).toBe(true);
  });

  it('property: exact iff the addressed set equals the current set', () => {
    const ids = fc.constantFrom('a', 'b', 'c', 'd', 'e');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: ids, revoked: fc.boolean() }), { selector: (x) => x.id }),
        fc.uniqueArray(ids),
        (devices, addressed) => {
          const m = checkAddressing(
            devices.map((x) => d(x.id, x.revoked ? 1 : null)),
            addressed as DeviceId[],
            null,
          );
          const current = devices
            .filter((x) => !x.revoked)
            .map((x) => x.id)
            .sort();
          expect(isExact(m)).toBe(JSON.stringify(current) === JSON.stringify([...addressed].sort()));
          for (const s of m.stale) expect(current).not.toContain(s);
          for (const x of m.missing) expect(addressed).not.toContain(x);
        },
      ),
    );
  });

  it('property: addressesExactly agrees with checkAddressing, sender or not', () => {
    const ids = fc.constantFrom('a', 'b', 'c', 'd', 'e');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: ids, revoked: fc.boolean() }), { selector: (x) => x.id }),
        fc.uniqueArray(ids),
        fc.option(ids),
        (devices, addressed, sender) => {
          const states = devices.map((x) => d(x.id, x.revoked ? 1 : null));
          const given = addressed as DeviceId[];
          const self = sender as DeviceId | null;
          expect(
            addressesExactly(
              states,
              given.map((deviceId) => ({ deviceId })),
              self,
            ),
          ).toBe(isExact(checkAddressing(states, given, self)));
        },
      ),
      { numRuns: 500 },
    );
  });
});
