/**
 * Rotating the key-manager key (POST /v1/orgs/:orgId/key-manager/rotations), through the app
 * on every backend: the chain is kept (old bucket documents still listed and registered ones
 * unaffected), new buckets must be signed by the new key, the wraps are served to officers,
 * and forged, replayed, backdated or incomplete rotations change nothing.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { decodeLogEntry, sealKeyManagerDelegation } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketDocument, TEST_WINDOW } from '../archive/archive-test-support.js';
import type { OrgId } from '../ids.js';
import type { Role } from '../store/records.js';
import {
  call,
  createTestApp,
  enrolAndLogin,
  enrolNewUser,
  orgCreateBody,
  type TestApp,
  type TestDevice,
  bindOfficer,
  testOfficers,
} from '../testing/test-app.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import { KEY_MANAGER_ROTATED_EVENT_KIND, ROTATION_START_SKEW_MS } from './key-manager-rotation.js';

const raw = (k: KeyObject): Buffer => Buffer.from(k.export({ format: 'jwk' }).x ?? '', 'base64url');
const b64u = (u: Uint8Array): string => Buffer.from(u).toString('base64url');
const NOW = 1_800_000_000_000;
type Pair = { readonly publicKey: KeyObject; readonly privateKey: KeyObject };
const ALL_WRAPS = ['root', '0', '1', '2'].map((recipient) => ({
  recipient,
  blob: b64u(Buffer.from(recipient)),
}));

for (const backend of TEST_BACKENDS) {
  const title = `key-manager rotation: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: TestApp;
    let orgId: OrgId;
    let officer: TestDevice;
    let member: TestDevice;
    const orgKey = generateKeyPairSync('ed25519');
    const km = generateKeyPairSync('ed25519');
    const km2 = generateKeyPairSync('ed25519');
    const delegation = (
      key: Pair,
      window: { notBefore: number; notAfter: number },
      signer = orgKey.privateKey,
    ) => sealKeyManagerDelegation({ key: raw(key.publicKey), ...window }, signer);
    const rotate = (d: Uint8Array, wraps = ALL_WRAPS, who: TestDevice = officer) =>
      call(
        t.app,
        'POST',
        `/v1/orgs/${orgId}/key-manager/rotations`,
        { delegation: b64u(d), wraps },
        who.headers(),
      );
    const code = (r: { json: <T>() => T }): string => r.json<{ error: { code: string } }>().error.code;
    const register = async (key: Pair, id: string, window = { notBefore: NOW, notAfter: NOW + 1000 }) => {
      const { document } = await bucketDocument(orgId, key.privateKey, id, window);
      return call(
        t.app,
        'POST',
        `/v1/orgs/${orgId}/buckets`,
        { document: b64u(document) },
        officer.headers(),
      );
    };

    beforeAll(async () => {
      tb = await backend.open();
      t = await createTestApp(tb.stores);
      t.clock.now = NOW - 10_000;
      const officers = testOfficers();
      const body = {
        ...orgCreateBody(t.bootstrapToken, officers),
        signingPublicKey: b64u(raw(orgKey.publicKey)),
        keyManager: { delegation: b64u(delegation(km, TEST_WINDOW)), ...TEST_WINDOW },
      };
      const r = await call(t.app, 'POST', '/v1/orgs', body);
      ({ orgId } = r.json<{ orgId: OrgId }>());
      const admin = await enrolAndLogin(t.app, orgId, r.json<{ enrolmentCode: string }>().enrolmentCode);
      const enrol = (role: Role) => enrolNewUser(t.app, admin, role);
      officer = await enrol('officer');
      await bindOfficer(t.app, officer, officers[0]!, 0, t.clock.now);
      member = await enrol('member');
      expect((await register(km, 'old-1')).statusCode).toBe(201);
      t.clock.now = NOW;
    });
    afterAll(async () => {
      await t?.app.close();
      await tb?.dispose();
    });

    it('refuses forged, stale, reused-key and incomplete rotations, changing nothing', async () => {
      const before = (await tb.stores.orgs.get(orgId))!.keyManager;
      const other = generateKeyPairSync('ed25519');
      const window = { notBefore: NOW, notAfter: TEST_WINDOW.notAfter };
      const invalid = [
        delegation(km2, window, other.privateKey), // not signed by the org key
        delegation(km2, { ...window, notBefore: NOW - ROTATION_START_SKEW_MS - 1 }), // backdated
        delegation(km2, { ...window, notBefore: NOW + ROTATION_START_SKEW_MS + 1 }), // in the future
        delegation(km, { ...window, notAfter: window.notAfter + 1 }), // the same key
      ];
      for (const d of invalid) {
        const r = await rotate(d);
        expect(r.statusCode, r.body).toBe(409);
        expect(code(r)).toBe('KEY_MANAGER_INVALID');
      }
      const partial = await rotate(delegation(km2, window), ALL_WRAPS.slice(0, 3));
      expect(partial.statusCode, partial.body).toBe(400);
      expect(partial.body).toContain('missing: 2');
      expect((await rotate(delegation(km2, window), undefined, member)).statusCode).toBe(403);
      expect((await tb.stores.orgs.get(orgId))!.keyManager).toEqual(before);
      expect(await tb.stores.orgs.keyManagerRotations(orgId)).toEqual([]);
    });

    it('installs a new key, keeps the chain and logs the rotation', async () => {
      const d = delegation(km2, { notBefore: NOW - 1000, notAfter: TEST_WINDOW.notAfter });
      const r = await rotate(d);
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ changed: true, notBefore: NOW - 1000 });
      expect((await rotate(d)).json()).toMatchObject({ changed: false });
      const chain = await call(t.app, 'GET', `/v1/orgs/${orgId}/key-manager`, undefined, member.headers());
      expect(chain.json()).toEqual({ delegation: b64u(d), previous: [b64u(delegation(km, TEST_WINDOW))] });
      const wraps = await call(
        t.app,
        'GET',
        `/v1/orgs/${orgId}/key-manager/wraps`,
        undefined,
        officer.headers(),
      );
      expect(wraps.json<{ items: { recipient: string }[] }>().items.map((i) => i.recipient)).toEqual([
        '0',
        '1',
        '2',
        'root',
      ]);
      expect(
        (await call(t.app, 'GET', `/v1/orgs/${orgId}/key-manager/wraps`, undefined, member.headers()))
          .statusCode,
      ).toBe(403);
      const { nextIndex } = await tb.stores.log.backlog(orgId);
      const last = decodeLogEntry((await tb.stores.log.entries(orgId, nextIndex - 1, nextIndex))[0]!);
      expect(last).toMatchObject({
        type: 'key-event',
        kind: KEY_MANAGER_ROTATED_EVENT_KIND,
        subject: 'key-manager',
      });
    });

    it('registers new buckets only under the new key, and still lists the old ones', async () => {
      const old = await register(km, 'old-2');
      expect(old.statusCode, old.body).toBe(400);
      expect(code(old)).toBe('INVALID_KEY');
      expect((await register(km2, 'new-1')).statusCode).toBe(201);
      const list = await call(t.app, 'GET', `/v1/orgs/${orgId}/buckets`, undefined, member.headers());
      expect(list.json<{ buckets: { bucketId: string }[] }>().buckets.map((b) => b.bucketId)).toEqual([
        'new-1',
        'old-1',
      ]);
    });

    it('refuses to rotate back to a superseded key', async () => {
      t.clock.now = NOW + 5000;
      const back = await rotate(delegation(km, { notBefore: NOW + 5000, notAfter: TEST_WINDOW.notAfter }));
      expect(code(back)).toBe('KEY_MANAGER_INVALID');
      expect(back.body).toContain('has used');
    });
  });
}
