import { describe, expect, it } from 'vitest';
import { isIdShaped, newId, randomIdString, type DeviceId } from './ids.js';

describe('ids', () => {
  it('never start with a dash (a command line would read one as an option), and keep their shape', () => {
    // One base64url draw in 64 starts with '-': 20,000 draws meet about 300 of them.
    for (let i = 0; i < 20_000; i++) {
      const id = newId<DeviceId>();
      expect(isIdShaped(id)).toBe(true);
      expect(id.startsWith('-')).toBe(false);
    }
    for (let i = 0; i < 5_000; i++) expect(randomIdString(12).startsWith('-')).toBe(false);
    expect(randomIdString(12)).toHaveLength(16);
  });
});
