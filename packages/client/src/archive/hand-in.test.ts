/**
 * What a revoked or retiring device counts as not uploaded (hand-in.ts): the queued records
 * after the last acknowledged one, sealed or still pending, and nothing once the server has
 * them all; and what a DEVICE_REVOKED refusal says about the hand-in window.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClientError } from '../errors.js';
import { TempStores, testBody as body } from './archive-test-support.js';
import { chainDevice } from './chain-server-test-support.js';
import { notUploadedRun, revocationOf } from './hand-in.js';

const stores = new TempStores();
afterEach(() => stores.removeAll());

describe('archive hand-in', () => {
  it('counts the queued records the server has not acknowledged, sealed or pending', async () => {
    const { store, capture, uploader, close, state } = await chainDevice(stores);
    expect(notUploadedRun(store)).toBeUndefined();
    for (let i = 0; i < 3; i++) await capture.capture(body(i));
    expect(notUploadedRun(store)).toEqual({ count: 3, firstSeq: 0, lastSeq: 2 });
    expect(await uploader.uploadAll()).toBe(3);
    // Acknowledged but not proven yet: still queued, but not stranded by a revocation.
    expect(notUploadedRun(store)).toBeUndefined();
    for (let i = 3; i < 5; i++) await capture.capture(body(i));
    expect(notUploadedRun(store)).toEqual({ count: 2, firstSeq: 3, lastSeq: 4 });
    expect(state.violations).toEqual([]);
    close();
  });

  it("reads the revocation and hand-in window from a DEVICE_REVOKED refusal's details", () => {
    const refusal = (details: unknown) =>
      new ClientError('SERVER_REFUSED', 'this device was revoked at …', {
        server: { status: 401, code: 'DEVICE_REVOKED', details },
      });
    expect(revocationOf(refusal({ revokedAt: 10, handInUntil: 20 }))).toEqual({
      revokedAt: 10,
      handInUntil: 20,
    });
    // No window granted: null, as the server sends it; an earlier server's "until the revocation
    // itself" meant none as well. A refusal without the times says nothing: undefined, not none.
    expect(revocationOf(refusal({ revokedAt: 10, handInUntil: null }))).toEqual({
      revokedAt: 10,
      handInUntil: null,
    });
    expect(revocationOf(refusal(undefined))).toEqual({ revokedAt: 0, handInUntil: undefined });
    expect(revocationOf(refusal({ revokedAt: 10 }))).toEqual({ revokedAt: 10, handInUntil: undefined });
    expect(revocationOf(refusal({ revokedAt: 10, handInUntil: 10 }))).toEqual({
      revokedAt: 10,
      handInUntil: null,
    });
    expect(
      revocationOf(
        new ClientError('SERVER_REFUSED', 'x', { server: { status: 403, code: 'ROLE_FORBIDDEN' } }),
      ),
    ).toBeUndefined();
    expect(revocationOf(new Error('other'))).toBeUndefined();
  });
});
