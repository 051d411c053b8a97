/**
 * The relay's directory cache: an org's entries hold only at the version they were read at,
 * entries read for a set dropped meanwhile are not kept, and the bounds hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import { createTestMember, createTestOrgRow } from '../testing/test-org-row.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';
import { DirectoryCache } from './directory-cache.js';

const state = (id: string) => ({ deviceId: id as DeviceId, revokedAt: null });

describe('DirectoryCache', () => {
  let tb: TestBackend;
  let orgs: OrgId[];
  beforeAll(async () => {
    tb = await openTestSqlite();
    orgs = [];
    for (const name of ['A', 'B', 'C']) orgs.push(await createTestOrgRow(tb.stores, name));
  });
  afterAll(async () => tb?.dispose());

  it("drops an org's entries when its version moves, and keeps none read for a set dropped meanwhile", async () => {
    const cache = new DirectoryCache(10, 10);
    const [a] = orgs as [OrgId];
    const dir = await cache.validate(tb.stores, a);
    cache.rememberSender(dir, 'd1' as DeviceId, state('d1'));
    cache.rememberUser(dir, 'u1' as UserId, [state('d1')]);
    cache.rememberUser(dir, 'u1' as UserId, [state('d1')]);
    expect(cache.size).toBe(2);
    expect(await cache.validate(tb.stores, a)).toBe(dir);
    await createTestMember(tb.stores, a);
    const moved = await cache.validate(tb.stores, a);
    expect(moved).not.toBe(dir);
    expect(moved.version).not.toBe(dir.version);
    expect(moved.size).toBe(0);
    expect(cache.size).toBe(0);
    // A batch that validated before the move reads on: what it read stays out of the cache.
    cache.rememberSender(dir, 'd2' as DeviceId, undefined);
    expect(cache.size).toBe(0);
    expect(moved.senders.has('d2' as DeviceId)).toBe(false);
  });

  it('holds at most its entries, taking room from the org validated longest ago, and its orgs (the one validated longest ago goes)', async () => {
    const cache = new DirectoryCache(3, 2);
    const [a, b, c] = orgs as [OrgId, OrgId, OrgId];
    const dirA = await cache.validate(tb.stores, a);
    for (const id of ['d1', 'd2', 'd3', 'd4']) cache.rememberSender(dirA, id as DeviceId, state(id));
    expect([...dirA.senders.keys()]).toEqual(['d2', 'd3', 'd4']);
    expect(cache.size).toBe(3);
    // An org validated with nothing to keep, or only users without devices, holds no set.
    const dirB = await cache.validate(tb.stores, b);
    cache.rememberUser(dirB, 'u0' as UserId, []);
    await cache.validate(tb.stores, c);
    expect(cache.orgCount).toBe(1);
    expect(cache.size).toBe(3);
    // B's entries take the room of the oldest entries of the org validated longest ago (A);
    // once A is validated again, B is the one, and gives up its own.
    cache.rememberUser(dirB, 'u1' as UserId, [state('d9')]);
    cache.rememberSender(dirB, 'd8' as DeviceId, state('d8'));
    expect([...dirA.senders.keys()]).toEqual(['d4']);
    expect(await cache.validate(tb.stores, a)).toBe(dirA);
    cache.rememberSender(dirA, 'd5' as DeviceId, state('d5'));
    expect([...dirB.senders.keys()]).toEqual([]);
    expect([...dirB.users.keys()]).toEqual(['u1']);
    expect(cache.size).toBe(3);
    // A third org with an entry drops the whole set of the org validated longest ago (B).
    const dirC = await cache.validate(tb.stores, c);
    cache.rememberSender(dirC, 'c1' as DeviceId, state('c1'));
    expect(cache.orgCount).toBe(2);
    expect(await cache.validate(tb.stores, b)).not.toBe(dirB);
    // An org whose last entry is taken holds no set any more.
    cache.rememberSender(dirC, 'c2' as DeviceId, state('c2'));
    cache.rememberSender(dirC, 'c3' as DeviceId, state('c3'));
    expect(cache.orgCount).toBe(1);
    expect([...dirC.senders.keys()]).toEqual(['c1', 'c2', 'c3']);
    expect(cache.size).toBe(3);
  });
});
