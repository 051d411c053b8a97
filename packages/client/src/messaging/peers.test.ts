/** Address texts of users (`org.user`) and back. */
import { describe, expect, it } from 'vitest';
import { userAddress, userOfAddress } from './peers.js';

describe('user addresses', () => {
  it('reads back the user an address names', () => {
    const u = { orgId: 'O'.repeat(21) + '-', userId: 'u_' + 'U'.repeat(20) };
    expect(userAddress(u)).toBe(`${u.orgId}.${u.userId}`);
    expect(userOfAddress(userAddress(u))).toEqual(u);
  });
});
